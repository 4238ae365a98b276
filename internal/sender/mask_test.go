package sender

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestMasker: every form of the token a server may echo in an error text
// is masked; text that merely shares short pieces with it is not.
func TestMasker(t *testing.T) {
	const tok = `judge-secret-tok<en>&"x\y`
	esc, _ := json.Marshal(tok)
	tests := []struct {
		name, in, want string
	}{
		{"Exact", "invalid token " + tok + " given", "invalid token *** given"},
		{"UpperCased", "INVALID TOKEN " + strings.ToUpper(tok), "INVALID TOKEN ***"},
		{"Truncated", "token judge-secr… rejected", "token ***… rejected"},
		{"Tail", "…cret-tok<en> rejected", "…*** rejected"},
		{"JSONEscaped", `{"token":` + string(esc) + `}`, `{"token":"***"}`},
		{"JSONNoHTMLEscape", `"judge-secret-tok<en>&\"x\\y"`, `"***"`},
		{"URLEscaped", "GET /?t=" + url.QueryEscape(tok), "GET /?t=***"},
		{"ShortPiecesStay", "judge the secret: x", "judge the secret: x"},
		{"SevenCharsStay", "judge-s is fine", "judge-s is fine"},
		{"Unrelated", "HTTP 500 Internal Server Error", "HTTP 500 Internal Server Error"},
		{"Empty", "", ""},
	}
	m := newMasker(tok)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.mask(tt.in); got != tt.want {
				t.Errorf("mask(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestShortTokenRefused: a token under MinTokenLength is refused, without
// echoing it.
func TestShortTokenRefused(t *testing.T) {
	cfg := testConfig("http://127.0.0.1:1", nil)
	cfg.Token = "abc"
	_, err := NewPool(cfg)
	if err == nil || !strings.Contains(err.Error(), "has 3 characters, want at least 8") || strings.Contains(err.Error(), "abc") {
		t.Errorf("NewPool(short token) = %v, want a refusal that does not echo it", err)
	}
}

func FuzzMasker(f *testing.F) {
	f.Add("judge-secret-token", "the token judge-secret-token was rejected")
	f.Add(`tok<en>&"x\y12345`, `{"t":"tok\u003cen\u003e\u0026\"x\\y12345"}`)
	f.Fuzz(func(t *testing.T, tok, text string) {
		if len(tok) < MinTokenLength {
			return
		}
		out := newMasker(tok).mask(strings.Replace(text, "@@", tok, 1))
		if strings.Contains(strings.ToLower(out), lowerASCII(tok)) {
			t.Errorf("the token survived masking: %q", out)
		}
	})
}
