package results

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// findMember returns the byte span of the value of the last top-level member
// named key in the JSON object obj (the last one, because that is the one
// decoders keep when a key repeats). obj must be valid JSON (json.Valid); any
// other value reports false. It is a single pass without allocation unless a
// key holds escapes, because the payload dump runs it on every row.
func findMember(obj []byte, key string) (start, end int, ok bool) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return 0, 0, false
	}
	i++
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] != '"' {
			return start, end, ok // '}' or malformed
		}
		kEnd := skipString(obj, i)
		rawKey := obj[i:kEnd]
		i = skipSpace(obj, kEnd)
		if i >= len(obj) || obj[i] != ':' {
			return 0, 0, false
		}
		vStart := skipSpace(obj, i+1)
		vEnd := skipValue(obj, vStart)
		if keyEquals(rawKey, key) {
			start, end, ok = vStart, vEnd, true
		}
		i = skipSpace(obj, vEnd)
		if i >= len(obj) || obj[i] != ',' {
			return start, end, ok
		}
		i++
	}
}

// keyEquals compares a quoted JSON key with key as a decoder would read the
// key: escapes decoded, and bytes that are not UTF-8 read as U+FFFD.
func keyEquals(quoted []byte, key string) bool {
	if len(quoted) < 2 {
		return false
	}
	inner := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner) == key
	}
	var s string
	return json.Unmarshal(quoted, &s) == nil && s == key
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index just past the JSON value starting at b[i].
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch c := b[i]; c {
		case '"':
			i = skipString(b, i)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i // the end of the enclosing object, after a scalar
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		case ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return i
}

// oneLine returns obj without line breaks: a JSON value with newlines in its
// whitespace would split a JSONL record in two. Strings cannot hold raw
// newlines, so compacting only removes whitespace.
func oneLine(obj []byte) []byte {
	if bytes.IndexByte(obj, '\n') < 0 && bytes.IndexByte(obj, '\r') < 0 {
		return obj
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, obj); err != nil {
		return obj // callers pass valid JSON; keep the bytes rather than lose them
	}
	return buf.Bytes()
}
