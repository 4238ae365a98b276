package fakeapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"importer/internal/fakeapi"
)

// TestPerSecond checks the histogram on the bubble's fake clock: each
// profile-method request lands in the second it arrived, 429s included;
// other paths, other methods and the /fake/ routes are not counted; Reset
// starts it again.
func TestPerSecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := bubbleEnv(t, fakeapi.Options{RateLimit: 2, RetryAfter: time.Second})
		if got := sequence(t, e, 3); !slices.Equal(got, []string{"ok", "ok", "http-429"}) {
			t.Fatalf("3 requests at 2/s = %v, want ok ok http-429", got)
		}
		for _, r := range []struct{ method, path string }{
			{http.MethodGet, fakeapi.APIPrefix + "import"},  // 405
			{http.MethodPost, fakeapi.APIPrefix + "nope"},   // 404
			{http.MethodGet, "/fake/stats"},                 // inspection
			{http.MethodGet, "/fake/profiles"},              // inspection
			{http.MethodPost, fakeapi.APIPrefix + "import"}, // no Content-Type: counted, answered 400
		} {
			if _, err := e.do(r.method, r.path, "", nil, nil); err != nil {
				t.Fatalf("%s %s: %v", r.method, r.path, err)
			}
		}
		time.Sleep(2 * time.Second)
		sequence(t, e, 1)
		time.Sleep(1500 * time.Millisecond)
		sequence(t, e, 2)

		want := []int64{4, 0, 1, 2}
		if got := e.api.PerSecond(); !slices.Equal(got, want) {
			t.Errorf("PerSecond() = %v, want %v", got, want)
		}
		if st := e.api.Stats(); st.PerSecond != nil {
			t.Errorf("Stats().PerSecond = %v, want nil (only ?per_second=1 fills it)", st.PerSecond)
		}

		queries := []struct {
			name  string
			query string
			want  []int64
		}{
			{"One", "?per_second=1", want},
			{"True", "?per_second=true", want},
			{"Absent", "", nil},
			{"Zero", "?per_second=0", nil},
			{"False", "?per_second=false", nil},
		}
		// t.Run is not allowed inside a bubble: each case names itself.
		for _, q := range queries {
			r, err := e.do(http.MethodGet, "/fake/stats"+q.query, "", nil, nil)
			if err != nil {
				t.Fatalf("%s: %v", q.name, err)
			}
			var st fakeapi.Stats
			if err := json.Unmarshal(r.raw, &st); err != nil {
				t.Fatalf("%s: /fake/stats%s = %s: %v", q.name, q.query, r.raw, err)
			}
			if !slices.Equal(st.PerSecond, q.want) {
				t.Errorf("%s: /fake/stats%s per_second = %v, want %v", q.name, q.query, st.PerSecond, q.want)
			}
			if q.want == nil && strings.Contains(string(r.raw), "per_second") {
				t.Errorf("%s: /fake/stats%s names per_second: %s", q.name, q.query, r.raw)
			}
			if st.Requests != 9 {
				t.Errorf("%s: requests = %d, want 9 (7 counted per second, a 404 and a 405)", q.name, st.Requests)
			}
		}

		if _, err := e.do(http.MethodPost, "/fake/reset", "", nil, nil); err != nil {
			t.Fatal(err)
		}
		if got := e.api.PerSecond(); len(got) != 0 {
			t.Errorf("after reset PerSecond() = %v, want empty", got)
		}
		time.Sleep(1200 * time.Millisecond)
		sequence(t, e, 1)
		if got := e.api.PerSecond(); !slices.Equal(got, []int64{0, 1}) {
			t.Errorf("after reset and 1.2 s PerSecond() = %v, want [0 1]", got)
		}
	})
}
