package notify

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzMergeText: for any valid JSON summary and any text, the webhook body
// is valid JSON whose "text" is the text (when it is valid UTF-8) and, for
// an object summary, holds each of its other keys.
func FuzzMergeText(f *testing.F) {
	f.Add([]byte(summaryJSONText), "import done")
	f.Add([]byte(`{"text":"old","a":1}`), "new")
	f.Add([]byte(`[1,{"b":2}]`), "")
	f.Add([]byte(`"just a string"`), "line 1\nline 2 <&>")
	f.Add([]byte(`{"a":{"text":1},"b":[]}`), "\u2028")
	f.Fuzz(func(t *testing.T, summary []byte, text string) {
		if !json.Valid(summary) {
			if _, err := mergeText(json.RawMessage(summary), text); err == nil {
				t.Fatalf("invalid summary %q accepted", summary)
			}
			return
		}
		body, err := mergeText(json.RawMessage(summary), text)
		if err != nil {
			t.Fatalf("mergeText(%q): %v", summary, err)
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("body %q is not a JSON object: %v", body, err)
		}
		var gotText string
		if err := json.Unmarshal(got["text"], &gotText); err != nil {
			t.Fatalf("text field %q: %v", got["text"], err)
		}
		if utf8.ValidString(text) && gotText != text {
			t.Fatalf("text = %q, want %q", gotText, text)
		}
		var in map[string]json.RawMessage
		if json.Unmarshal(summary, &in) == nil {
			for k := range in {
				if _, ok := got[k]; !ok {
					t.Fatalf("key %q of the summary is missing from %s", k, body)
				}
			}
		} else if _, ok := got["summary"]; !ok {
			t.Fatalf("non-object summary %q not kept under \"summary\": %s", summary, body)
		}
	})
}
