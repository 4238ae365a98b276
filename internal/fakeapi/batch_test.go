package fakeapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"importer/internal/fakeapi"
)

func TestBatchOrderAndItemErrors(t *testing.T) {
	e := newEnv(t, fakeapi.Options{})
	r := e.call("import_batch", obj{"db_id": 1, "matching": "email", "skip_triggers": true, "data": list{
		obj{"email": "a@example.com", "_fname": "A"},
		obj{"email": "b@example.com", "_bdate": "22.02.1990"},
		obj{"_fname": "no key"},
		"not an object",
		obj{"email": "c@example.com", "subscriptions": list{obj{"resource_id": 7, "channel": "email", "email_data": obj{"email": "c@example.com"}}}},
		obj{"email": "A@example.com", "_lname": "Again"},
	}})
	mustOK(t, r)
	want := []struct {
		code int
		text string
	}{
		{0, "Successful operation"},
		{400, `invalid field _bdate: "22.02.1990" is not a date`},
		{400, "matching email requires field email"},
		{400, `data[3] must be an object, got "not an object"`},
		{0, "Successful operation"},
		{0, "Successful operation"},
	}
	if len(r.Result) != len(want) {
		t.Fatalf("result has %d items, want %d: %s", len(r.Result), len(want), r.raw)
	}
	for i, w := range want {
		got := r.Result[i]
		if got.Error != w.code || !strings.Contains(got.ErrorText, w.text) {
			t.Errorf("result[%d] = %d %q, want %d %q", i, got.Error, got.ErrorText, w.code, w.text)
		}
		if (got.Error == 0) != (got.ProfileID != "") {
			t.Errorf("result[%d] profile_id = %q with error %d", i, got.ProfileID, got.Error)
		}
	}
	if r.Result[0].ProfileID != r.Result[5].ProfileID {
		t.Errorf("item 5 matched %s, want item 0's %s (same e-mail)", r.Result[5].ProfileID, r.Result[0].ProfileID)
	}
	ps := e.api.Profiles()
	if len(ps) != 2 {
		t.Fatalf("store holds %d profiles, want 2 (failed items store nothing)", len(ps))
	}
	if ps[0].Fields["_lname"] != "Again" || ps[1].Subscriptions[0].ResourceID != 7 {
		t.Errorf("stored = %+v", ps)
	}
}

func TestBatchKeysFromItems(t *testing.T) {
	tests := []struct {
		name      string
		top       obj
		items     list
		wantField string // a field that must be stored on item 0
		notStored string // a key-only field that must not be
	}{
		{"PhoneString", obj{"matching": "phone"}, list{obj{"phone": "+79001234567", "_fname": "P"}}, "phones", "phone"},
		{"PhonesList", obj{"matching": "phone"}, list{obj{"phones": list{"+79001234567", "+79001234568"}}}, "phones", "phone"},
		{"Custom", obj{"matching": "custom", "field_name": "crm_id"}, list{obj{"crm_id": 12345678901234567, "_fname": "C"}}, "crm_id", ""},
		{"PushSub", obj{"matching": "push_sub"}, list{obj{"provider": "ios-apns", "subscription_id": "tok", "_fname": "P"}}, "_fname", "provider"},
		{"EmailPhone", obj{"matching": "email_phone"}, list{obj{"phone": "+79001234567"}}, "phones", "phone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, fakeapi.Options{})
			body := obj{"db_id": 1, "data": tt.items}
			for k, v := range tt.top {
				body[k] = v
			}
			r := e.call("import_batch", body)
			mustOK(t, r)
			if len(r.Result) != 1 || r.Result[0].Error != 0 {
				t.Fatalf("result = %s", r.raw)
			}
			id := r.Result[0].ProfileID
			p := e.profile(id)
			if _, ok := p.Fields[tt.wantField]; !ok {
				t.Errorf("fields = %v, want %s stored", p.Fields, tt.wantField)
			}
			if _, ok := p.Fields[tt.notStored]; tt.notStored != "" && ok {
				t.Errorf("fields = %v, want key-only %s not stored", p.Fields, tt.notStored)
			}
			// The same batch again finds the profile instead of creating one.
			r = e.call("update_batch", body)
			if len(r.Result) != 1 || r.Result[0].ProfileID != id {
				t.Errorf("update_batch = %s, want profile %s", r.raw, id)
			}
		})
	}
}

func TestUpdateBatchMissing(t *testing.T) {
	e := newEnv(t, fakeapi.Options{})
	id := mustOK(t, e.call("import", obj{"db_id": 1, "email": "a@example.com", "data": obj{}}))
	r := e.call("update_batch", obj{"db_id": 1, "data": list{
		obj{"email": "nobody@example.com"},
		obj{"email": "a@example.com", "_fname": "A"},
	}})
	mustOK(t, r)
	if len(r.Result) != 2 || r.Result[0].Error != 404 || r.Result[0].ErrorText != "Profile not found" || r.Result[1].ProfileID != id {
		t.Fatalf("update_batch = %s", r.raw)
	}
	if n := len(e.api.Profiles()); n != 1 {
		t.Errorf("update_batch created profiles: %d, want 1", n)
	}
}

func TestBatchShape(t *testing.T) {
	e := newEnv(t, fakeapi.Options{})
	wantErr(t, e.call("import_batch", obj{"db_id": 1, "data": obj{"email": "a@example.com"}}), 400, "data must be a list of profiles")
	r := e.call("import_batch", obj{"db_id": 1, "data": list{}})
	mustOK(t, r)
	if !bytes.Contains(r.raw, []byte(`"result":[]`)) {
		t.Errorf("empty batch reply = %s, want an empty result list", r.raw)
	}
	wantErr(t, e.call("import_batch", obj{"db_id": 1, "matching": "custom", "data": list{}}), 400, "requires field field_name")
}

func TestLimits(t *testing.T) {
	e := newEnv(t, fakeapi.Options{MaxBatch: 3, MaxBody: 2048})
	items := func(n int) list {
		l := make(list, n)
		for i := range l {
			l[i] = obj{"email": fmt.Sprintf("u%d@example.com", i)}
		}
		return l
	}
	t.Run("BatchAtLimit", func(t *testing.T) {
		r := e.call("import_batch", obj{"db_id": 1, "data": items(3)})
		if mustOK(t, r); len(r.Result) != 3 {
			t.Errorf("result = %s", r.raw)
		}
	})
	t.Run("BatchOverLimit", func(t *testing.T) {
		wantErr(t, e.call("update_batch", obj{"db_id": 1, "data": items(4)}), 400, "too many profiles in one request (4 > 3)")
	})
	t.Run("DefaultLimit", func(t *testing.T) {
		big := newEnv(t, fakeapi.Options{})
		wantErr(t, big.call("import_batch", obj{"db_id": 1, "data": items(10001)}), 400, "too many profiles in one request (10001 > 10000)")
	})
	big := []byte(`{"token":"` + testToken + `","db_id":1,"email":"a@example.com","data":{"note":"` + strings.Repeat("x", 3000) + `"}}`)
	t.Run("BodyOverLimit", func(t *testing.T) {
		r := e.raw("import", "application/json", big, nil)
		if r.status != http.StatusRequestEntityTooLarge || r.Error != 413 {
			t.Fatalf("reply = HTTP %d %s, want 413", r.status, r.raw)
		}
	})
	t.Run("ChunkedBodyOverLimit", func(t *testing.T) {
		// No Content-Length: the limit must hold while reading.
		req, err := http.NewRequest(http.MethodPost, e.url+fakeapi.APIPrefix+"import", struct{ *bytes.Reader }{bytes.NewReader(big)})
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		r, err := doRequest(e.c, req)
		if err != nil {
			t.Fatal(err)
		}
		if r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("reply = HTTP %d %s, want 413", r.status, r.raw)
		}
	})
	if st := e.api.Stats(); st.Endpoints["import"].Outcomes["http_4xx"] != 2 {
		t.Errorf("stats = %+v, want 2 import http_4xx", st.Endpoints["import"])
	}
}
