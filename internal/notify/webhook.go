package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// MaxText bounds the webhook's text field: chat messages are read on a
// phone, and Slack folds long ones anyway.
const MaxText = 4_000

// Notify POSTs a completion webhook with a zero Client.
func Notify(ctx context.Context, url string, summary any, text string) error {
	return (&Client{}).Notify(ctx, url, summary, text)
}

// Notify POSTs summary as JSON to url with "text" (at most MaxText bytes,
// cut on a line) as its first field, for Slack and Mattermost. summary is a
// json.RawMessage (or []byte) holding a JSON object, or a value that
// encoding/json turns into one; a "text" it already has is replaced. A
// summary that is not an object is sent under "summary". The error, if
// any, is for logging only.
func (c *Client) Notify(ctx context.Context, url string, summary any, text string) error {
	u, err := parseTarget(url)
	if err != nil {
		return fmt.Errorf("notify: webhook: %w", err)
	}
	body, err := mergeText(summary, firstLines(text, MaxText))
	if err != nil {
		return fmt.Errorf("notify: webhook: %w", err)
	}
	return c.post(ctx, "webhook", u, "application/json", body)
}

// mergeText writes {"text": text, ...the summary's fields in their order}.
func mergeText(summary any, text string) ([]byte, error) {
	raw, err := summaryJSON(summary)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString(`{"text":`)
	if err := writeString(&buf, text); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		buf.WriteString(`,"summary":`)
		buf.Write(bytes.TrimSpace(raw))
		buf.WriteByte('}')
		return buf.Bytes(), nil
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("summary: %w", err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("summary: %w", err)
		}
		if tok == "text" {
			continue
		}
		buf.WriteByte(',')
		writeString(&buf, tok.(string))
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// summaryJSON is the summary as valid JSON text.
func summaryJSON(summary any) ([]byte, error) {
	var raw []byte
	switch v := summary.(type) {
	case nil:
		return []byte("{}"), nil
	case json.RawMessage:
		raw = v
	case []byte:
		raw = v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("summary: %w", err)
		}
		return b, nil
	}
	if !json.Valid(raw) {
		return nil, errors.New("summary is not valid JSON")
	}
	return raw, nil
}

// writeString appends s as a JSON string, leaving <, > and & readable.
func writeString(buf *bytes.Buffer, s string) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return nil
}
