package fakeapi_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"importer/internal/fakeapi"
)

const quotaBody = `{"error":402,"error_text":"Tariff limit reached"}` + "\n"

// quotaStep is one request: a single call when len(emails) is 1 and the
// method is not a batch; "bad" is an invalid e-mail, an item that fails.
type quotaStep struct {
	method     string
	emails     []string
	wantStatus int  // HTTP status
	refused    bool // the quota body, nothing applied
	wantStored int  // profiles in the store afterwards
}

func TestQuota(t *testing.T) {
	tests := []struct {
		name  string
		opts  fakeapi.Options
		steps []quotaStep
	}{
		{"SinglesThenEverythingRefused", fakeapi.Options{Quota: 3}, []quotaStep{
			{"import", []string{"a"}, 200, false, 1},
			{"import", []string{"b"}, 200, false, 2},
			{"update", []string{"a"}, 200, false, 2}, // an update is a write too
			{"import", []string{"c"}, 200, true, 2},
			{"update", []string{"a"}, 200, true, 2},
			{"import_batch", []string{"d"}, 200, true, 2},
			{"update_batch", nil, 200, true, 2}, // even an empty batch
		}},
		{"BatchCrossingRefusedWhole", fakeapi.Options{Quota: 5}, []quotaStep{
			{"import_batch", []string{"a", "b", "c"}, 200, false, 3},
			{"import_batch", []string{"d", "e", "f"}, 200, true, 3},
			{"import_batch", []string{"d", "e"}, 200, false, 5},
			{"import", []string{"f"}, 200, true, 5},
		}},
		{"FailedItemsDoNotCount", fakeapi.Options{Quota: 3}, []quotaStep{
			{"import_batch", []string{"a", "bad", "b"}, 200, false, 2},
			{"update", []string{"nobody"}, 200, false, 2}, // 404: nothing written
			{"import", []string{"c"}, 200, false, 3},
			{"import", []string{"d"}, 200, true, 3},
		}},
		{"QuotaHTTP", fakeapi.Options{Quota: 1, QuotaHTTP: true}, []quotaStep{
			{"import", []string{"a"}, 200, false, 1},
			{"import", []string{"b"}, 402, true, 1},
			{"import_batch", []string{"b"}, 402, true, 1},
		}},
		{"Unlimited", fakeapi.Options{}, []quotaStep{
			{"import_batch", []string{"a", "b", "c", "d", "e", "f", "g", "h"}, 200, false, 8},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts)
			refused := 0
			for i, s := range tt.steps {
				r := e.call(s.method, quotaRequest(s.method, s.emails))
				if r.status != s.wantStatus || (string(r.raw) == quotaBody) != s.refused {
					t.Fatalf("step %d %s %v: HTTP %d %s, want HTTP %d refused=%v", i, s.method, s.emails, r.status, r.raw, s.wantStatus, s.refused)
				}
				if s.refused {
					refused++
				}
				if n := len(e.dump()); n != s.wantStored {
					t.Fatalf("step %d %s %v: %d profiles stored, want %d", i, s.method, s.emails, n, s.wantStored)
				}
			}
			st := e.stats()
			var quota int64
			for _, es := range st.Endpoints {
				quota += es.Outcomes["quota"]
			}
			if quota != int64(refused) || st.QuotaLimit != int64(tt.opts.Quota) || st.QuotaUsed != st.Writes {
				t.Errorf("stats quota outcomes %d limit %d used %d writes %d, want %d refused, limit %d, used = writes",
					quota, st.QuotaLimit, st.QuotaUsed, st.Writes, refused, tt.opts.Quota)
			}
		})
	}
}

func quotaRequest(method string, emails []string) map[string]any {
	addr := func(s string) string {
		if s == "bad" {
			return s
		}
		return s + "@example.com"
	}
	if method == "import" || method == "update" {
		return obj{"db_id": 1, "email": addr(emails[0]), "data": obj{"n": obj{"action": "incr", "value": 1}}}
	}
	items := list{}
	for _, s := range emails {
		items = append(items, obj{"email": addr(s), "n": obj{"action": "incr", "value": 1}})
	}
	return obj{"db_id": 1, "data": items}
}

func TestQuotaXML(t *testing.T) {
	body := []byte(`<xml><token>` + testToken + `</token><db_id>1</db_id><email>a@example.com</email><data/></xml>`)
	t.Run("InRequestFormat", func(t *testing.T) {
		e := newEnv(t, fakeapi.Options{Quota: 1})
		e.raw("import", "application/xml", body, nil)
		r := e.raw("import", "application/xml", body, nil)
		if want := "<xml><error>402</error><error_text>Tariff limit reached</error_text></xml>\n"; r.status != 200 || string(r.raw) != want {
			t.Errorf("reply = HTTP %d %s, want HTTP 200 %s", r.status, r.raw, want)
		}
	})
	t.Run("HTTP402IsJSON", func(t *testing.T) {
		e := newEnv(t, fakeapi.Options{Quota: 1, QuotaHTTP: true})
		e.raw("import", "application/xml", body, nil)
		r := e.raw("import", "application/xml", body, nil)
		if r.status != 402 || r.header.Get("Content-Type") != "application/json; charset=utf-8" || string(r.raw) != quotaBody {
			t.Errorf("reply = HTTP %d %q %s, want HTTP 402 JSON %s", r.status, r.header.Get("Content-Type"), r.raw, quotaBody)
		}
	})
}

// TestQuotaRuntime lifts and renews the quota without a restart, through
// POST /fake/quota and SetQuota; Reset restores Options.Quota.
func TestQuotaRuntime(t *testing.T) {
	e := newEnv(t, fakeapi.Options{Quota: 2})
	n := 0
	importNext := func() reply {
		n++
		return e.call("import", obj{"db_id": 1, "email": fmt.Sprintf("u%d@example.com", n), "data": obj{}})
	}
	setQuota := func(q string) reply {
		r, err := e.do(http.MethodPost, "/fake/quota?profiles="+q, "", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	steps := []struct {
		name string
		do   func() reply
		want string // "ok", "refused", or the exact reply of a /fake/quota call
	}{
		{"first", importNext, "ok"},
		{"second", importNext, "ok"},
		{"third refused", importNext, "refused"},
		{"lift", func() reply { return setQuota("0") }, `{"error":0,"error_text":"Successful operation"}` + "\n"},
		{"after lift", importNext, "ok"},
		{"renew 1", func() reply { return setQuota("1") }, `{"error":0,"error_text":"Successful operation"}` + "\n"},
		{"count restarted", importNext, "ok"},
		{"one allowed", importNext, "refused"},
		{"negative", func() reply { return setQuota("-1") }, `{"error":400,"error_text":"profiles=\"-1\" is not a count: want ?profiles=N, N >= 0 (0 = no limit)"}` + "\n"},
		{"not a number", func() reply { return setQuota("x") }, `{"error":400,"error_text":"profiles=\"x\" is not a count: want ?profiles=N, N >= 0 (0 = no limit)"}` + "\n"},
		{"bad calls change nothing", importNext, "refused"},
		{"SetQuota lifts", func() reply { e.api.SetQuota(0); return importNext() }, "ok"},
		{"SetQuota renews", func() reply { e.api.SetQuota(1); return importNext() }, "ok"},
		{"SetQuota counts", importNext, "refused"},
		{"Reset restores Options.Quota", func() reply { e.api.Reset(); importNext(); importNext(); return importNext() }, "refused"},
	}
	for _, s := range steps {
		r := s.do()
		got := string(r.raw)
		switch {
		case r.status == 200 && r.Error == 0 && r.ProfileID != "":
			got = "ok"
		case got == quotaBody:
			got = "refused"
		}
		if got != s.want {
			t.Fatalf("%s: HTTP %d %s, want %s", s.name, r.status, got, s.want)
		}
	}
	if st := e.stats(); st.QuotaLimit != 2 || st.QuotaUsed != 2 || st.Profiles != 2 {
		t.Errorf("after Reset and 3 imports: stats %+v, want limit 2, used 2, 2 profiles", st)
	}
	r, err := e.do(http.MethodGet, "/fake/quota", "", nil, nil)
	if err != nil || r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST" {
		t.Errorf("GET /fake/quota = %d %v, want 405 Allow: POST", r.status, err)
	}
}

// TestQuotaConcurrent: clients racing at the limit never cross it together;
// every write counted is stored and every refusal applied nothing.
func TestQuotaConcurrent(t *testing.T) {
	const limit, workers, perWorker = 60, 6, 25
	e := newEnv(t, fakeapi.Options{Quota: limit})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				key := fmt.Sprintf("w%di%d", w, i)
				method, emails := "import", []string{key}
				if i%3 == 0 {
					method, emails = "import_batch", []string{key + "a", key + "b", key + "c"}
				}
				b := quotaRequest(method, emails)
				b["token"] = testToken
				_, _ = e.do(http.MethodPost, fakeapi.APIPrefix+method, "application/json", mustJSON(t, b), nil)
			}
		})
	}
	wg.Wait()
	st := e.stats()
	if st.Profiles > limit || st.Profiles < limit-2 || int64(st.Profiles) != st.Writes || st.QuotaUsed != st.Writes {
		t.Errorf("stats %+v: want at most %d profiles (and no fewer than %d), each one write counted against the quota", st, limit, limit-2)
	}
}
