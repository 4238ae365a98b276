package fakeapi

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"importer/internal/jsonenc"
	"io"
	"strconv"
	"strings"
)

// maxXMLDepth bounds element nesting so a hostile body cannot exhaust the stack.
const maxXMLDepth = 64

// decodeJSON decodes a request body into the generic form: objects are
// map[string]any, arrays []any, numbers json.Number (exact).
func decodeJSON(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty body")
		}
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the top-level object")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the body is %s, want an object", describe(v))
	}
	return m, nil
}

// decodeXML converts an <xml> request body to the same generic form as JSON.
// The accepted convention (see doc.go): the root element is <xml>; an
// element with child elements is an object keyed by child name (a repeated
// name is an error); an element with array='true' is a list of its child
// elements in order, whatever their names, except that two or more
// children with distinct names none of which is item are the fields of
// one object, the list's only element (see arrayOfOne); any other element
// is its text, a string. Attributes other than array are ignored.
func decodeXML(body []byte) (map[string]any, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errors.New("no <xml> root element")
			}
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "xml" {
				return nil, fmt.Errorf("root element is <%s>, want <xml>", t.Name.Local)
			}
			v, err := xmlElement(dec, t, 0)
			if err != nil {
				return nil, err
			}
			if err := xmlTrailing(dec); err != nil {
				return nil, err
			}
			switch x := v.(type) {
			case map[string]any:
				return x, nil
			case string:
				if strings.TrimSpace(x) == "" {
					return map[string]any{}, nil
				}
			}
			return nil, errors.New("the <xml> root must hold elements")
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("text before the <xml> root element")
			}
		}
	}
}

func xmlElement(dec *xml.Decoder, start xml.StartElement, depth int) (any, error) {
	if depth >= maxXMLDepth {
		return nil, fmt.Errorf("elements nested deeper than %d", maxXMLDepth)
	}
	isArray := false
	for _, a := range start.Attr {
		if a.Name.Local == "array" && strings.EqualFold(strings.TrimSpace(a.Value), "true") {
			isArray = true
		}
	}
	var list []any
	var names []string // of the children of an array, for arrayOfOne
	isList := false    // the array's children are certainly list elements
	var obj map[string]any
	var text []byte
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			v, err := xmlElement(dec, t, depth+1)
			if err != nil {
				return nil, err
			}
			if isArray {
				list = append(list, v)
				if n := t.Name.Local; !isList {
					// The common lists (<item>s, or one name repeated) are
					// told at once and record no names.
					isList = n == "item" || len(names) > 0 && names[0] == n
					names = append(names, n)
				}
				continue
			}
			if obj == nil {
				obj = map[string]any{}
			}
			if _, dup := obj[t.Name.Local]; dup {
				return nil, fmt.Errorf("element <%s> repeated inside <%s>: mark <%s> array='true' for a list", t.Name.Local, start.Name.Local, start.Name.Local)
			}
			obj[t.Name.Local] = v
		case xml.CharData:
			text = append(text, t...)
		case xml.EndElement:
			mixed := len(bytes.TrimSpace(text)) > 0
			switch {
			case isArray:
				if mixed {
					return nil, fmt.Errorf("text inside array <%s>: put each element in its own child", start.Name.Local)
				}
				if list == nil {
					list = []any{}
				}
				if !isList {
					if one := arrayOfOne(names, list); one != nil {
						return []any{one}, nil
					}
				}
				return list, nil
			case obj != nil:
				if mixed {
					return nil, fmt.Errorf("text mixed with elements inside <%s>", start.Name.Local)
				}
				return obj, nil
			default:
				return string(text), nil
			}
		}
	}
}

// arrayOfOne reads Altcraft's own way of writing a one-element list of
// objects, <subscriptions array='true'><resource_id>1</resource_id>
// <channel>email</channel>…</subscriptions>: children with two or more
// distinct names, none of them item, are the fields of one object. It
// returns that object, or nil when the children are list elements: fewer
// than two, any named item, or any name repeated.
func arrayOfOne(names []string, values []any) map[string]any {
	if len(names) < 2 {
		return nil
	}
	obj := make(map[string]any, len(names))
	for i, n := range names {
		if _, dup := obj[n]; dup || n == "item" {
			return nil
		}
		obj[n] = values[i]
	}
	return obj
}

// xmlTrailing allows only whitespace, comments and processing instructions
// after the root element.
func xmlTrailing(dec *xml.Decoder) error {
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return fmt.Errorf("element <%s> after the <xml> root", t.Name.Local)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return errors.New("text after the <xml> root element")
			}
		}
	}
}

// reply is the outcome of one API call, encoded as JSON or XML.
type reply struct {
	err       *apiError // nil: success
	profileID string
	batch     bool
	results   []itemResult
}

type itemResult struct {
	err       *apiError
	profileID string
}

func appendJSONEnvelope(b []byte, err *apiError, profileID string) []byte {
	code, text := 0, textOK
	if err != nil {
		code, text = err.code, err.text
	}
	b = append(b, `{"error":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `,"error_text":`...)
	b = jsonenc.AppendString(b, text)
	if err == nil && profileID != "" {
		b = append(b, `,"profile_id":`...)
		b = jsonenc.AppendString(b, profileID)
	}
	return b
}

// appendJSONReply encodes a reply; a successful batch's result takes the
// shape (see [BatchReply]).
func appendJSONReply(b []byte, r *reply, shape BatchReply) []byte {
	b = appendJSONEnvelope(b, r.err, r.profileID)
	if r.batch && r.err == nil && shape != BatchBare {
		b = append(b, `,"result":[`...)
		first := true
		for i := range r.results {
			res := &r.results[i]
			if shape == BatchErrorsOnly && res.err == nil {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendJSONEnvelope(b, res.err, res.profileID)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}', '\n')
}

func appendXMLEnvelope(b []byte, err *apiError, profileID string) []byte {
	code, text := 0, textOK
	if err != nil {
		code, text = err.code, err.text
	}
	b = append(b, "<error>"...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, "</error><error_text>"...)
	b = appendXMLText(b, text)
	b = append(b, "</error_text>"...)
	if err == nil && profileID != "" {
		b = append(b, "<profile_id>"...)
		b = appendXMLText(b, profileID)
		b = append(b, "</profile_id>"...)
	}
	return b
}

// appendXMLReply is appendJSONReply in XML.
func appendXMLReply(b []byte, r *reply, shape BatchReply) []byte {
	b = append(b, "<xml>"...)
	b = appendXMLEnvelope(b, r.err, r.profileID)
	if r.batch && r.err == nil && shape != BatchBare {
		b = append(b, "<result array='true'>"...)
		for i := range r.results {
			res := &r.results[i]
			if shape == BatchErrorsOnly && res.err == nil {
				continue
			}
			b = append(b, "<item>"...)
			b = appendXMLEnvelope(b, res.err, res.profileID)
			b = append(b, "</item>"...)
		}
		b = append(b, "</result>"...)
	}
	return append(b, "</xml>\n"...)
}

type byteWriter struct{ b *[]byte }

func (w byteWriter) Write(p []byte) (int, error) {
	*w.b = append(*w.b, p...)
	return len(p), nil
}

func appendXMLText(b []byte, s string) []byte {
	_ = xml.EscapeText(byteWriter{&b}, []byte(s)) // writes to memory: cannot fail
	return b
}
