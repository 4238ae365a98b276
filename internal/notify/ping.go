package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// MaxPingBody bounds a ping's body: healthchecks.io keeps the first 10 KB
// of it, and that is plenty for the summary's first lines.
const MaxPingBody = 10_000

// Event is what a ping reports: the start of a run ([Start]) or its end
// ([Exit]). The zero Event is neither, and Ping refuses it.
type Event struct {
	kind     eventKind
	exitCode int
	summary  string
}

type eventKind uint8

const (
	kindNone eventKind = iota
	kindStart
	kindExit
)

// Start is the event sent when the run begins.
func Start() Event { return Event{kind: kindStart} }

// Exit is the event sent when the run ends with code; summary is the run's
// human summary, of which the first lines are sent.
func Exit(code int, summary string) Event {
	return Event{kind: kindExit, exitCode: code, summary: summary}
}

// suffix is the path added to the check URL.
func (e Event) suffix() string {
	switch {
	case e.kind == kindStart:
		return "/start"
	case e.exitCode == 0:
		return ""
	default:
		return "/fail"
	}
}

func (e Event) name() string {
	switch {
	case e.kind == kindStart:
		return "start ping"
	case e.exitCode == 0:
		return "success ping"
	default:
		return "failure ping"
	}
}

func (e Event) body() string {
	if e.kind == kindStart {
		return ""
	}
	return firstLines(fmt.Sprintf("exit code %d\n%s", e.exitCode, e.summary), MaxPingBody)
}

// Ping reports ev to the check at base with a zero Client.
func Ping(ctx context.Context, base string, ev Event) error {
	return (&Client{}).Ping(ctx, base, ev)
}

// Ping POSTs ev to the check URL base (see the package doc for the paths
// and the body). A query on base, such as healthchecks' ?rid=, is kept.
// The error, if any, is for logging only.
func (c *Client) Ping(ctx context.Context, base string, ev Event) error {
	if ev.kind == kindNone {
		return errors.New("notify: ping: a zero Event (use Start or Exit)")
	}
	u, err := parseTarget(base)
	if err != nil {
		return fmt.Errorf("notify: %s: %w", ev.name(), err)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + ev.suffix()
	u.RawPath = ""
	return c.post(ctx, ev.name(), u, "text/plain; charset=utf-8", []byte(ev.body()))
}

// parseTarget accepts only absolute http(s) URLs. Its errors never quote
// the URL.
func parseTarget(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("URL %s: want http(s)://host/…", Redact(raw))
	}
	return u, nil
}

// firstLines returns s whole if it fits in max bytes, otherwise the lines
// that fit and a last line "…", cut on a line (or, for one huge line, a
// rune) boundary.
func firstLines(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const more = "…\n"
	cut := max - len(more)
	if i := strings.LastIndexByte(s[:cut], '\n'); i >= 0 {
		return s[:i+1] + more
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + more
}
