package fakeapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"importer/internal/fakeapi"

	"importer/internal/golden"
)

// script sends a fixed mix of calls touching every outcome that needs no fault.
func script(t *testing.T, e *env) {
	t.Helper()
	mustOK(t, e.call("import", obj{"db_id": 1, "email": "anna@example.com", "add_to_segments": list{3, 1}, "data": obj{
		"_fname": "Anna", "_bdate": "1990-02-22", "phones": list{"+79001234567"}, "crm_id": 12345678901234567,
		"loyalty": 10, "tags": list{"vip"},
		"subscriptions": list{
			obj{"resource_id": 1, "channel": "email", "email": "anna@example.com", "cats": list{"news"}},
			obj{"resource_id": 2, "channel": "sms", "phone": "+79001234567", "priority": 1},
		},
	}}))
	mustOK(t, e.call("update", obj{"db_id": 1, "matching": "phone", "phone": "+79001234567", "data": obj{
		"loyalty": obj{"action": "incr", "value": 5}, "tags": obj{"action": "add", "value": list{"new"}},
	}}))
	wantErr(t, e.call("update", obj{"db_id": 1, "email": "ghost@example.com", "data": obj{}}), 404)
	r := e.call("import_batch", obj{"db_id": 2, "matching": "custom", "field_name": "crm_id", "data": list{
		obj{"crm_id": "C-1", "_fname": "Boris"},
		obj{"crm_id": "C-2", "_bdate": "bad"},
		obj{"crm_id": "C-3", "subscriptions": list{obj{"resource_id": 5, "channel": "push", "provider": "ios-apns", "subscription_id": "t-1"}}},
	}})
	if mustOK(t, r); len(r.Result) != 3 {
		t.Fatalf("batch = %s", r.raw)
	}
	if _, err := e.do(http.MethodGet, fakeapi.APIPrefix+"import", "", nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.do(http.MethodPost, fakeapi.APIPrefix+"nope", "application/json", nil, nil); err != nil {
		t.Fatal(err)
	}
}

// withoutBytes checks the byte counts of uncompressed calls (as many on the
// wire as read, some for every method whose bodies were read: TestBodyLimit
// checks the numbers) and clears them for a comparison of the rest.
func withoutBytes(t *testing.T, st fakeapi.Stats) fakeapi.Stats {
	t.Helper()
	for name, es := range st.Endpoints {
		if es.WireBytes != es.BodyBytes || (es.Items > 0) != (es.BodyBytes > 0) {
			t.Errorf("%s: %d bytes on the wire, %d read, %d items", name, es.WireBytes, es.BodyBytes, es.Items)
		}
		es.WireBytes, es.BodyBytes = 0, 0
		st.Endpoints[name] = es
	}
	return st
}

func TestStatsAndDump(t *testing.T) {
	e := newEnv(t, fakeapi.Options{})
	script(t, e)

	// 4 writes: anna's import and update (the update's incr is the one
	// incr), two of the three batch items; the 404 update wrote nothing.
	want := fakeapi.Stats{Requests: 6, Profiles: 3, Writes: 4, IncrWrites: 1, QuotaUsed: 4, Endpoints: map[string]fakeapi.EndpointStats{
		"import":       {Requests: 2, Outcomes: map[string]int64{"ok": 1, "http_4xx": 1}, Items: 1},
		"update":       {Requests: 2, Outcomes: map[string]int64{"ok": 1, "api_error": 1}, Items: 2, ItemErrors: 1},
		"import_batch": {Requests: 1, Outcomes: map[string]int64{"ok": 1}, Items: 3, ItemErrors: 1},
		"other":        {Requests: 1, Outcomes: map[string]int64{"http_4xx": 1}},
	}}
	if diff := cmp.Diff(want, withoutBytes(t, e.api.Stats())); diff != "" {
		t.Errorf("Stats() (-want +got):\n%s", diff)
	}
	r, err := e.do(http.MethodGet, "/fake/stats", "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got fakeapi.Stats
	if err := json.Unmarshal(r.raw, &got); err != nil {
		t.Fatalf("/fake/stats %s: %v", r.raw, err)
	}
	if diff := cmp.Diff(want, withoutBytes(t, got)); diff != "" {
		t.Errorf("/fake/stats (-want +got):\n%s", diff)
	}

	r, err = e.do(http.MethodGet, "/fake/profiles", "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("/fake/profiles Content-Type = %q", ct)
	}
	golden.Check(t, "testdata/"+"profiles.jsonl", r.raw)
	if bytes.Contains(r.raw, []byte(testToken)) {
		t.Error("the dump contains the token")
	}

	// The same script on a fresh server gives the same ids: ids are stable.
	again := newEnv(t, fakeapi.Options{})
	script(t, again)
	if diff := cmp.Diff(e.api.Profiles(), again.api.Profiles()); diff != "" {
		t.Errorf("same requests, different store (-first +second):\n%s", diff)
	}

	if r, err = e.do(http.MethodPost, "/fake/reset", "", nil, nil); err != nil || r.status != 200 {
		t.Fatalf("reset = %v %v", r.status, err)
	}
	if st := e.api.Stats(); st.Requests != 0 || st.Profiles != 0 || len(e.api.Profiles()) != 0 {
		t.Errorf("after reset: stats %+v, %d profiles", st, len(e.api.Profiles()))
	}
	script(t, e)
	if diff := cmp.Diff(again.api.Profiles(), e.api.Profiles()); diff != "" {
		t.Errorf("after reset the ids did not start over (-want +got):\n%s", diff)
	}
}

func TestProfilesSnapshotIsACopy(t *testing.T) {
	e := newEnv(t, fakeapi.Options{})
	script(t, e)
	ps := e.api.Profiles()
	ps[0].Fields["_fname"] = "changed"
	ps[0].Fields["tags"].([]any)[0] = "changed"
	ps[0].Subscriptions[0].Cats[0] = "changed"
	ps[0].Segments[0] = 99
	if diff := cmp.Diff(e.api.Profiles()[0], newEnvScripted(t).api.Profiles()[0]); diff != "" {
		t.Errorf("modifying a snapshot changed the store (-store +fresh):\n%s", diff)
	}
}

func newEnvScripted(t *testing.T) *env {
	e := newEnv(t, fakeapi.Options{})
	script(t, e)
	return e
}

// TestConcurrentLoad runs many clients at once over shared and distinct
// keys; under -race it checks the store's locking, and afterwards that no
// update was lost and every key made exactly one profile.
func TestConcurrentLoad(t *testing.T) {
	const workers, perWorker, keys = 8, 150, 40
	e := newEnv(t, fakeapi.Options{})
	var wg sync.WaitGroup
	errs := make(chan string, workers*perWorker)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				k := (w*perWorker + i) % keys
				var body map[string]any
				switch i % 3 {
				case 0:
					body = obj{"db_id": 1, "email": fmt.Sprintf("k%d@example.com", k), "data": obj{"hits": obj{"action": "incr", "value": 1}}}
				case 1:
					body = obj{"db_id": 1, "matching": "custom", "field_name": "key", "field_value": fmt.Sprintf("K%d", k),
						"data": obj{"hits": obj{"action": "incr", "value": 1}}}
				default:
					body = obj{"db_id": 1, "data": list{obj{"email": fmt.Sprintf("k%d@example.com", k), "hits": obj{"action": "incr", "value": 1}}}}
				}
				method := [...]string{"import", "import", "import_batch"}[i%3]
				b, _ := json.Marshal(withToken(body))
				r, err := e.do(http.MethodPost, fakeapi.APIPrefix+method, "application/json", b, nil)
				if err != nil || r.Error != 0 || (r.Result != nil && r.Result[0].Error != 0) {
					errs <- fmt.Sprintf("%s: %v %s", method, err, r.raw)
				}
				if i%25 == 0 {
					_ = e.api.Stats()
					_ = e.api.Profiles()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	var hits int64
	emails, customs := map[any]bool{}, map[any]bool{}
	for _, p := range e.api.Profiles() {
		n, err := p.Fields["hits"].(json.Number).Int64()
		if err != nil {
			t.Fatal(err)
		}
		hits += n
		if v, ok := p.Fields["email"]; ok {
			if emails[v] {
				t.Errorf("two profiles for %v", v)
			}
			emails[v] = true
		}
		if v, ok := p.Fields["key"]; ok {
			if customs[v] {
				t.Errorf("two profiles for key %v", v)
			}
			customs[v] = true
		}
	}
	if hits != workers*perWorker {
		t.Errorf("sum of hits = %d, want %d: increments were lost", hits, workers*perWorker)
	}
	if len(emails) != keys || len(customs) != keys {
		t.Errorf("profiles by email = %d, by key = %d, want %d each", len(emails), len(customs), keys)
	}
}

func withToken(m map[string]any) map[string]any {
	m["token"] = testToken
	return m
}
