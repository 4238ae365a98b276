package fakeapi_test

import (
	"bytes"
	"net/http"
	"testing"

	"importer/internal/fakeapi"
)

// TestAppliedCounts: each profile counts the writes applied to it and those
// carrying an incr; /fake/stats adds them up and names the profiles whose
// incr was applied more than once. Failed writes count nothing.
func TestAppliedCounts(t *testing.T) {
	e := newEnv(t, fakeapi.Options{})
	incr := obj{"action": "incr", "value": 1}
	steps := []struct {
		name   string
		method string
		body   map[string]any
		ok     bool
	}{
		{"create a with incr", "import", obj{"db_id": 1, "email": "a@example.com", "data": obj{"n": incr}}, true},
		{"set on a", "import", obj{"db_id": 1, "email": "a@example.com", "data": obj{"_fname": "A"}}, true},
		{"incr on a again", "update", obj{"db_id": 1, "email": "a@example.com", "data": obj{"n": incr, "tags": obj{"action": "add", "value": list{"x"}}}}, true},
		{"failing incr", "update", obj{"db_id": 1, "email": "a@example.com", "data": obj{"_fname": incr}}, false},
		{"missing profile", "update", obj{"db_id": 1, "email": "ghost@example.com", "data": obj{"n": incr}}, false},
		{"batch", "import_batch", obj{"db_id": 1, "data": list{
			obj{"email": "b@example.com", "n": incr},
			obj{"email": "c@example.com"},
			obj{"email": "bad", "n": incr},
		}}, true},
	}
	for _, s := range steps {
		r := e.call(s.method, s.body)
		if (r.status == 200 && r.Error == 0) != s.ok {
			t.Fatalf("%s: %s, want ok = %v", s.name, r.raw, s.ok)
		}
	}
	want := map[string][2]int64{ // writes, incr applied
		"a@example.com": {3, 2},
		"b@example.com": {1, 1},
		"c@example.com": {1, 0},
	}
	ps := byEmail(e.dump())
	if len(ps) != len(want) {
		t.Fatalf("stored %d profiles, want %d", len(ps), len(want))
	}
	for email, w := range want {
		if p := ps[email]; p.Writes != w[0] || p.IncrApplied != w[1] {
			t.Errorf("%s: fake_writes %d fake_incr_applied %d, want %d and %d", email, p.Writes, p.IncrApplied, w[0], w[1])
		}
	}
	if a := ps["a@example.com"]; a.Fields["n"] != jsonNumber(2) {
		t.Errorf("a's n = %v, want 2", a.Fields["n"])
	}
	st := e.stats()
	if st.Writes != 5 || st.IncrWrites != 3 || st.IncrAppliedTwice != 1 {
		t.Errorf("stats writes_applied %d incr_applied %d incr_applied_twice %d, want 5, 3, 1", st.Writes, st.IncrWrites, st.IncrAppliedTwice)
	}
	// The names on the wire, as scripts and other packages' tests read them.
	r, err := e.do(http.MethodGet, "/fake/profiles", "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(r.raw, []byte(`"segments":[],"fake_writes":3,"fake_incr_applied":2}`)) {
		t.Errorf("/fake/profiles = %s, want a's line to end with its counts", r.raw)
	}
	r, err = e.do(http.MethodGet, "/fake/stats", "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"writes_applied": 5,`, `"incr_applied": 3,`, `"incr_applied_twice": 1,`, `"quota_limit": 0,`, `"quota_used": 5,`} {
		if !bytes.Contains(r.raw, []byte(w)) {
			t.Errorf("/fake/stats lacks %s:\n%s", w, r.raw)
		}
	}
	e.api.Reset()
	if st := e.stats(); st.Writes != 0 || st.IncrWrites != 0 || st.IncrAppliedTwice != 0 {
		t.Errorf("after Reset: %+v, want the counts zeroed", st)
	}
}
