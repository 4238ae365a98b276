package notify

import (
	"net/url"
	"slices"
	"strings"
	"unicode"
)

// Redact shows a URL that may carry a secret as scheme://host/…: no user,
// password, path, query or fragment. A string that does not parse as a URL
// with a host shows as "(URL hidden)".
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(URL hidden)"
	}
	s := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		s += "/…"
	}
	return s
}

// maskReply makes a server's reply safe to put in an error: one line,
// without the URL's secret parts should the server echo them.
func maskReply(s string, u *url.URL) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	for _, secret := range secretParts(u) {
		s = strings.ReplaceAll(s, secret, "…")
	}
	return strings.TrimSpace(s)
}

// secretParts lists the pieces of u that Redact hides, longest first so a
// whole path is masked before its segments.
func secretParts(u *url.URL) []string {
	var parts []string
	add := func(p string) {
		if len(p) >= 4 {
			parts = append(parts, p)
		}
	}
	add(u.EscapedPath())
	add(u.Path)
	add(u.RawQuery)
	if u.User != nil {
		add(u.User.Username())
		if pw, ok := u.User.Password(); ok {
			add(pw)
		}
	}
	for seg := range strings.SplitSeq(u.Path, "/") {
		add(seg)
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			add(v)
		}
	}
	slices.SortFunc(parts, func(a, b string) int { return len(b) - len(a) })
	return parts
}
