package sender

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// events records what an Observer hears.
type events struct {
	mu        sync.Mutex
	latencies int
	kinds     map[string]int
	texts     []string
}

func (e *events) ObserveLatency(time.Duration) {
	e.mu.Lock()
	e.latencies++
	e.mu.Unlock()
}

func (e *events) Event(_ time.Time, kind, text string) {
	e.mu.Lock()
	e.kinds[kind]++
	if kind == EventRateLowered || kind == EventRecovered {
		e.texts = append(e.texts, text)
	}
	e.mu.Unlock()
}

// TestObserver: a run report hears every round trip, each 429 and retry,
// and each rate change with the new rate.
func TestObserver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		arr := newArrivals()
		var mu sync.Mutex
		var from time.Time
		srv := startFake(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req, _ := decodeRequest(r)
			i := arr.add()
			mu.Lock()
			if i == 50 {
				from = time.Now()
			}
			throttling := !from.IsZero() && time.Since(from) < 300*time.Millisecond
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
			if throttling {
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			writeOK(w, req.Items[0].N)
		}))
		defer srv.Close()
		ev := &events{kinds: map[string]int{}}
		cfg := testConfig(srv.URL, srv.Client)
		cfg.Rate, cfg.Concurrency, cfg.Observer = 100, 4, ev
		p := mustPool(t, cfg)
		got, err := runAll(t, context.Background(), p, manyJobs(1500))
		if err != nil {
			t.Fatal(err)
		}
		allOK(t, got, 1500)
		st := p.Stats()
		if ev.latencies != int(st.Requests) {
			t.Errorf("%d latencies observed for %d requests", ev.latencies, st.Requests)
		}
		if ev.kinds[EventThrottled] != int(st.Throttled) || ev.kinds[EventRetry] != int(st.Retries) {
			t.Errorf("events %v, want %d 429s and %d retries", ev.kinds, st.Throttled, st.Retries)
		}
		want := []string{"rate lowered to 50.0/s", "rate recovered to 100.0/s"}
		if len(ev.texts) != 2 || ev.texts[0] != want[0] || ev.texts[1] != want[1] {
			t.Errorf("rate events %q, want %q", ev.texts, want)
		}
	})
}
