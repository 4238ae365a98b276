package fakeapi_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"testing"

	"importer/internal/fakeapi"
)

// FuzzServeHTTP feeds arbitrary bodies to every method in both formats: the
// handler must not panic, must answer HTTP 200 with a well-formed envelope in
// the request's format, and must never echo the token.
func FuzzServeHTTP(f *testing.F) {
	seeds := []struct {
		body  string
		xml   bool
		batch bool
	}{
		{`{"token":"` + testToken + `","db_id":1,"email":"a@example.com","data":{"_fname":"A","phones":["+79001234567"]}}`, false, false},
		{`{"token":"` + testToken + `","db_id":1,"matching":"custom","field_name":"k","field_value":123,"data":{"n":{"action":"incr","value":1.5}}}`, false, false},
		{`{"token":"` + testToken + `","db_id":1,"matching":"push_sub","provider":"p","subscription_id":"s","data":{"subscriptions":[{"resource_id":1,"channel":"push","provider":"p","subscription_id":"s","custom_fields":{"x":1}}]}}`, false, false},
		{`{"token":"` + testToken + `","db_id":1,"matching":"email_phone","data":[{"email":"a@example.com","phone":"+79001234567"},{"phones":["+79001234567"]},7]}`, false, true},
		{`{"token":"` + testToken + `","db_id":1,"data":[{"email":"a@example.com","meta":{"action":"upsert","value":{"id":1},"submatch":"a.b"}}]}`, false, true},
		{`{"token":"` + testToken + `","db_id":1,"matching":"profile_id","profile_id":"0123456789abcdef01234567","data":{}}`, false, false},
		{`<xml><token>` + testToken + `</token><db_id>1</db_id><email>a@example.com</email><data><_fname>A</_fname></data></xml>`, true, false},
		{`<xml><token>` + testToken + `</token><db_id>1</db_id><data array='true'><item><email>a@example.com</email></item></data></xml>`, true, true},
		{`<xml><a array='true'><b/><c>1</c></a></xml>`, true, false},
		{`{"token":"` + testToken + `","db_id":1e400,"data":null}`, false, false},
		{``, false, false},
		{`<`, true, false},
	}
	for _, s := range seeds {
		f.Add([]byte(s.body), s.xml, s.batch)
	}
	api := fakeapi.New(fakeapi.Options{Token: testToken, MaxBatch: 50})
	f.Fuzz(func(t *testing.T, body []byte, isXML, batch bool) {
		method := "import"
		if batch {
			method = "import_batch"
		}
		req := httptest.NewRequest(http.MethodPost, fakeapi.APIPrefix+method, bytes.NewReader(body))
		ctype := "application/json"
		if isXML {
			ctype = "application/xml"
		}
		req.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		api.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("HTTP %d for %q", w.Code, body)
		}
		out := w.Body.Bytes()
		if bytes.Contains(out, []byte(testToken)) {
			t.Fatalf("reply %s echoes the token", out)
		}
		var env struct {
			Error     *int   `json:"error" xml:"error"`
			ErrorText string `json:"error_text" xml:"error_text"`
		}
		var err error
		if isXML {
			err = xml.Unmarshal(out, &env)
		} else {
			err = json.Unmarshal(out, &env)
		}
		if err != nil || env.Error == nil || env.ErrorText == "" {
			t.Fatalf("reply %q is not an envelope: %v", out, err)
		}
	})
}

// FuzzGzipBody feeds arbitrary bytes as a gzip request body: the handler
// must answer a well-formed envelope, HTTP 200 or, for a body that
// decompresses past MaxBody, HTTP 413, and never panic.
func FuzzGzipBody(f *testing.F) {
	valid := []byte(`{"token":"` + testToken + `","db_id":1,"email":"a@example.com","data":{"_fname":"A"}}`)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(valid)
	_ = zw.Close()
	gz := buf.Bytes()
	for _, s := range [][]byte{gz, gz[:len(gz)/2], valid, {0x1f, 0x8b}, nil, append(bytes.Clone(gz), gz...)} {
		f.Add(s)
	}
	api := fakeapi.New(fakeapi.Options{Token: testToken, MaxBody: 1 << 16})
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, fakeapi.APIPrefix+"import", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Encoding", "gzip")
		w := httptest.NewRecorder()
		api.ServeHTTP(w, req)
		if w.Code != http.StatusOK && w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("HTTP %d for %q", w.Code, body)
		}
		var env struct {
			Error     *int   `json:"error"`
			ErrorText string `json:"error_text"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || env.Error == nil || env.ErrorText == "" {
			t.Fatalf("reply %q is not an envelope: %v", w.Body.Bytes(), err)
		}
	})
}
