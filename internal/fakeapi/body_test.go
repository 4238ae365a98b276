package fakeapi_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
	"testing"

	"importer/internal/fakeapi"
)

// sizedBatch is an import_batch body of three profiles padded to exactly n bytes.
func sizedBatch(t *testing.T, n int) []byte {
	t.Helper()
	head := `{"token":"` + testToken + `","db_id":1,"data":[{"email":"a@example.com","n":{"action":"incr","value":1}},` +
		`{"email":"b@example.com"},{"email":"c@example.com","note":"`
	const tail = `"}]}`
	pad := n - len(head) - len(tail)
	if pad < 0 {
		t.Fatalf("a batch cannot be as small as %d bytes", n)
	}
	return []byte(head + strings.Repeat("x", pad) + tail)
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestBodyLimit: a body over MaxBody, as sent or decompressed, is answered
// 413 with the JSON envelope before anything is applied; one at or below
// the limit is applied whole.
func TestBodyLimit(t *testing.T) {
	const limit = 4096
	tooLarge := `{"error":413,"error_text":"request body larger than 4096 bytes"}` + "\n"
	tests := []struct {
		name    string
		size    int
		gzip    bool
		chunked bool // no Content-Length: the limit holds while reading
		want413 bool
	}{
		{"OneBelow", limit - 1, false, false, false},
		{"AtLimit", limit, false, false, false},
		{"OneAbove", limit + 1, false, false, true},
		{"ChunkedAtLimit", limit, false, true, false},
		// Chunked and one above costs net/http's half-second wait before
		// closing a connection with an unread body; TestLimits has it.
		{"GzipAtLimit", limit, true, false, false},
		{"GzipOneAboveDecompressed", limit + 1, true, false, true},
		{"GzipChunkedOneAboveDecompressed", limit + 1, true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, fakeapi.Options{MaxBody: limit})
			body := sizedBatch(t, tt.size)
			hdr := map[string]string{}
			if tt.gzip {
				body = gzipped(t, body)
				hdr["Content-Encoding"] = "gzip"
				if len(body) >= limit {
					t.Fatalf("compressed to %d bytes: the case needs a body that fits as sent", len(body))
				}
			}
			var rd interface {
				Read([]byte) (int, error)
			} = bytes.NewReader(body)
			if tt.chunked {
				rd = struct{ *bytes.Reader }{bytes.NewReader(body)} // hides the length from net/http
			}
			req, err := http.NewRequest(http.MethodPost, e.url+fakeapi.APIPrefix+"import_batch", rd)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			r, err := doRequest(e.c, req)
			if err != nil {
				t.Fatal(err)
			}
			stored := len(e.dump())
			if tt.want413 {
				if r.status != http.StatusRequestEntityTooLarge || string(r.raw) != tooLarge || stored != 0 {
					t.Errorf("reply = HTTP %d %s, %d stored; want HTTP 413 %s and nothing stored", r.status, r.raw, stored, tooLarge)
				}
				if st := e.stats().Endpoints["import_batch"]; st.Outcomes["http_4xx"] != 1 || st.Items != 0 {
					t.Errorf("stats = %+v, want one http_4xx and no item processed", st)
				}
				return
			}
			if mustOK(t, r); len(r.Result) != 3 || stored != 3 {
				t.Errorf("reply %s, %d stored; want 3 results and 3 profiles", r.raw, stored)
			}
			// The bytes as sent and as read: what a compressed body saves.
			if st := e.stats().Endpoints["import_batch"]; st.WireBytes != int64(len(body)) || st.BodyBytes != int64(tt.size) {
				t.Errorf("wire, body bytes = %d, %d; want %d, %d", st.WireBytes, st.BodyBytes, len(body), tt.size)
			}
		})
	}
}

// TestGzipBodies: gzip request bodies are read in both formats; an unknown
// encoding or a corrupt gzip body is error 400 naming it, nothing applied.
func TestGzipBodies(t *testing.T) {
	jsonBody := []byte(`{"token":"` + testToken + `","db_id":1,"email":"a@example.com","data":{"_fname":"A"}}`)
	xmlBody := []byte(`<xml><token>` + testToken + `</token><db_id>1</db_id><email>a@example.com</email><data><_fname>A</_fname></data></xml>`)
	gz := gzipped(t, jsonBody)
	tests := []struct {
		name, ctype, encoding string
		body                  []byte
		wantErr               string // "" = applied; else the error_text (code 400)
	}{
		{"GzipJSON", "application/json", "gzip", gz, ""},
		{"GzipXML", "application/xml", "gzip", gzipped(t, xmlBody), ""},
		{"XGzip", "application/json", "x-gzip", gz, ""},
		{"GzipUpperCase", "application/json", "GZIP", gz, ""},
		{"Identity", "application/json", "identity", jsonBody, ""},
		{"NotGzip", "application/json", "gzip", jsonBody, "invalid gzip body: gzip: invalid header"},
		{"Truncated", "application/json", "gzip", gz[:len(gz)-9], "invalid gzip body: unexpected EOF"},
		{"BadChecksum", "application/json", "gzip", flipByte(gz, len(gz)-6), "invalid gzip body: gzip: invalid checksum"},
		{"NotGzipXML", "application/xml", "gzip", xmlBody, "invalid gzip body: gzip: invalid header"},
		{"Brotli", "application/json", "br", jsonBody, `Content-Encoding "br" is not supported: send gzip or no encoding`},
		{"Twice", "application/json", "gzip, gzip", gzipped(t, gz), `Content-Encoding "gzip, gzip" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, fakeapi.Options{})
			hdr := map[string]string{"Content-Encoding": tt.encoding}
			r := e.raw("import", tt.ctype, tt.body, hdr)
			stored := e.dump()
			if tt.ctype == "application/xml" {
				// The reply comes in the request's format.
				want := "<xml><error>0</error>"
				if tt.wantErr != "" {
					want = "<xml><error>400</error><error_text>" + tt.wantErr
				}
				if !bytes.HasPrefix(r.raw, []byte(want)) {
					t.Errorf("reply = %s, want it to start %s", r.raw, want)
				}
			} else if tt.wantErr != "" {
				wantErr(t, r, 400, tt.wantErr)
			} else {
				mustOK(t, r)
			}
			if applied := len(stored) == 1 && stored[0].Fields["_fname"] == "A"; applied != (tt.wantErr == "") {
				t.Errorf("stored %+v, want applied = %v", stored, tt.wantErr == "")
			}
		})
	}
}

func flipByte(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0xff
	return c
}
