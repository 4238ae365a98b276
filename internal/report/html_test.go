package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// TestSelfContained parses the page as a browser would and checks that
// nothing in it reaches out: no src/href/etc. to another place, no
// <link>, <script src>, <img>, <iframe>, no @import or url() in CSS; and
// that the charts and the tables hold the run's numbers.
func TestSelfContained(t *testing.T) {
	for _, fx := range []struct {
		name string
		run  func() (*Recorder, Final)
	}{{"small", smallRun}, {"realistic", realisticRun}} {
		t.Run(fx.name, func(t *testing.T) {
			rec, f := fx.run()
			page := render(t, rec, f)
			doc, err := html.Parse(bytes.NewReader(page))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			checkNoExternal(t, doc)

			svgs := findAll(doc, func(n *html.Node) bool { return n.Data == "svg" && attr(n, "class") == "chart" })
			if len(svgs) != 4 {
				t.Fatalf("%d chart <svg> elements, want 4", len(svgs))
			}
			for _, svg := range svgs {
				paths := findAll(svg, func(n *html.Node) bool { return n.Data == "path" && strings.Contains(attr(n, "d"), "L") })
				if len(paths) == 0 {
					t.Errorf("chart %q draws no line", attr(svg, "aria-label"))
				}
			}

			got := tableColumns(findAll(doc, hasClass("table", "status"))[0], 0, 1)
			want := map[string]string{}
			for _, s := range f.Statuses {
				want[s.Status] = count(s.Rows)
			}
			if !equalMaps(got, want) {
				t.Errorf("status table = %v, want %v", got, want)
			}
			errs := tableColumns(findAll(doc, hasClass("table", "errors"))[0], 0, 2)
			for _, g := range f.Errors {
				if errs[g.Kind] != count(g.Count) {
					t.Errorf("errors table: %q has %q rows, want %s", g.Kind, errs[g.Kind], count(g.Count))
				}
			}

			text := textOf(doc)
			for _, secret := range []string{"/etc/importer/token", "5f1c0a6e"} {
				if strings.Contains(string(page), secret) {
					t.Errorf("the page shows %q", secret)
				}
			}
			if !strings.Contains(text, "matching: email") {
				t.Error("the config text is missing")
			}
		})
	}
}

// externalRef matches a reference that leaves the file: a scheme or a
// protocol-relative URL. Fragments (#id) and data: are local.
var externalRef = regexp.MustCompile(`(?i)^\s*([a-z][a-z0-9+.-]*:|//)`)

func checkNoExternal(t *testing.T, doc *html.Node) {
	t.Helper()
	for _, n := range findAll(doc, func(*html.Node) bool { return true }) {
		switch n.Data {
		case "link", "img", "iframe", "object", "embed", "image", "use", "video", "audio", "source":
			t.Errorf("<%s> element in a self-contained page", n.Data)
		case "script":
			if attr(n, "src") != "" {
				t.Errorf("<script src=%q>", attr(n, "src"))
			}
		case "style":
			css := textOf(n)
			if strings.Contains(css, "@import") || strings.Contains(css, "url(") {
				t.Errorf("CSS loads something: %q", css)
			}
		}
		for _, a := range n.Attr {
			switch strings.ToLower(a.Key) {
			case "src", "href", "xlink:href", "action", "poster", "srcset", "data", "formaction", "background":
				if externalRef.MatchString(a.Val) && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "data:") {
					t.Errorf("<%s %s=%q> refers outside the file", n.Data, a.Key, a.Val)
				}
			case "style":
				if strings.Contains(a.Val, "url(") {
					t.Errorf("<%s style=%q> loads something", n.Data, a.Val)
				}
			}
		}
	}
}

func findAll(root *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return out
}

func hasClass(tag, class string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		return n.Data == tag && strings.Contains(" "+attr(n, "class")+" ", " "+class+" ")
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// tableColumns maps the text of column k to that of column v in each body
// row of table.
func tableColumns(table *html.Node, k, v int) map[string]string {
	out := map[string]string{}
	for _, tr := range findAll(table, func(n *html.Node) bool { return n.Data == "tr" }) {
		tds := findAll(tr, func(n *html.Node) bool { return n.Data == "td" })
		if len(tds) > max(k, v) {
			out[textOf(tds[k])] = textOf(tds[v])
		}
	}
	return out
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
