package sender

import (
	"encoding/json"
	"net/url"
	"strings"
)

// MinTokenLength is the shortest token the importer accepts: a shorter one
// would be masked inside ordinary words, and a server echoing a piece of it
// could not be told from text.
const MinTokenLength = 8

// maskRun is the shortest piece of the token that is masked where it
// appears: a server may echo the token truncated.
const maskRun = MinTokenLength

// masker hides every form of the token a server might echo in a reply
// that is quoted in a message: the token itself in any letter case,
// JSON-escaped (with or without HTML escaping), URL-escaped, and any run of
// at least maskRun of its characters from any of those forms.
type masker struct {
	forms []string // ASCII-lowered forms of the token
}

func newMasker(token string) *masker {
	m := &masker{}
	add := func(f string) {
		f = lowerASCII(f)
		for _, have := range m.forms {
			if have == f {
				return
			}
		}
		m.forms = append(m.forms, f)
	}
	add(token)
	if b, err := json.Marshal(token); err == nil { // HTML-escaped: \u003c …
		add(string(b[1 : len(b)-1]))
	}
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if enc.Encode(token) == nil {
		s := strings.TrimSpace(sb.String())
		add(s[1 : len(s)-1])
	}
	add(url.QueryEscape(token))
	add(url.PathEscape(token))
	return m
}

// mask replaces each stretch of s that matches maskRun or more characters of
// a form of the token with "***". It is for error texts, not a hot path.
func (m *masker) mask(s string) string {
	if m == nil || len(s) < maskRun {
		return s
	}
	low := lowerASCII(s)
	hit := make([]bool, len(s))
	found := false
	for _, f := range m.forms {
		for j := 0; j+maskRun <= len(f); j++ {
			piece := f[j : j+maskRun]
			for from := 0; ; {
				i := strings.Index(low[from:], piece)
				if i < 0 {
					break
				}
				i += from
				for k := i; k < i+maskRun; k++ {
					hit[k] = true
				}
				found = true
				from = i + 1
			}
		}
	}
	if !found {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if !hit[i] {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteString("***")
		for i < len(s) && hit[i] {
			i++
		}
	}
	return b.String()
}

// lowerASCII lowers ASCII letters only, so byte offsets stay those of s.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
