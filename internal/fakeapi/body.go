package fakeapi

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// bodyState is what reading a request body came to.
type bodyState uint8

const (
	bodyOK       bodyState = iota
	bodyTooLarge           // over MaxBody as sent or decompressed: HTTP 413
	bodyGone               // the client went away mid-body
	bodyBad                // an encoding the fake cannot read: error 400
)

// readBody reads the request body into raw, and decompresses a gzip body
// into plain. Both the body as sent and as decompressed must fit MaxBody,
// so the limit holds for what is parsed whatever the encoding. On bodyBad
// the error says why.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, raw, plain *[]byte) ([]byte, bodyState, *apiError) {
	if r.ContentLength > s.opts.MaxBody {
		return nil, bodyTooLarge, nil
	}
	rd := bytes.NewBuffer((*raw)[:0])
	if _, err := rd.ReadFrom(http.MaxBytesReader(w, r.Body, s.opts.MaxBody)); err != nil {
		if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
			return nil, bodyTooLarge, nil
		}
		return nil, bodyGone, nil
	}
	*raw = rd.Bytes()
	gz, aerr := gzipped(r.Header.Values("Content-Encoding"))
	switch {
	case aerr != nil:
		return nil, bodyBad, aerr
	case !gz:
		return *raw, bodyOK, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(*raw))
	if err != nil {
		return nil, bodyBad, badRequest("invalid gzip body: %v", err)
	}
	out := bytes.NewBuffer((*plain)[:0])
	n, err := out.ReadFrom(io.LimitReader(zr, s.opts.MaxBody+1))
	*plain = out.Bytes()
	switch {
	case err != nil:
		return nil, bodyBad, badRequest("invalid gzip body: %v", err)
	case n > s.opts.MaxBody:
		return nil, bodyTooLarge, nil
	}
	return *plain, bodyOK, nil
}

// gzipped reads Content-Encoding: none or identity is plain, gzip (or
// x-gzip) is one gzip layer; anything else is refused.
func gzipped(values []string) (bool, *apiError) {
	enc := strings.TrimSpace(strings.Join(values, ","))
	switch strings.ToLower(enc) {
	case "", "identity":
		return false, nil
	case "gzip", "x-gzip":
		return true, nil
	}
	return false, badRequest("Content-Encoding %s is not supported: send gzip or no encoding", strconv.Quote(enc))
}

// tooLargeText is the error text of HTTP 413.
func (s *Server) tooLargeText() string {
	return "request body larger than " + itoa(s.opts.MaxBody) + " bytes"
}
