package sender

import (
	"context"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// keyWatch is a server-side check of per-key order: it records each key's
// rows in arrival order and flags two requests of one key at once.
type keyWatch struct {
	t        *testing.T
	mu       sync.Mutex
	inflight map[string]int
	seen     map[string][]int
}

func newKeyWatch(t *testing.T) *keyWatch {
	return &keyWatch{t: t, inflight: map[string]int{}, seen: map[string][]int{}}
}

func (k *keyWatch) enter(items []profile) {
	k.mu.Lock()
	defer k.mu.Unlock()
	inBatch := map[string]bool{}
	for _, it := range items {
		if inBatch[it.Email] {
			k.t.Errorf("one batch holds two rows of key %s", it.Email)
		}
		inBatch[it.Email] = true
		if k.inflight[it.Email] > 0 {
			k.t.Errorf("key %s: row %d sent while another of its rows is in flight", it.Email, it.N)
		}
		k.inflight[it.Email]++
		k.seen[it.Email] = append(k.seen[it.Email], it.N)
	}
}

func (k *keyWatch) leave(items []profile) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, it := range items {
		k.inflight[it.Email]--
	}
}

// TestKeyOrder: many jobs over few keys, random latency and retries: each
// key's rows reach the server one at a time, in submission order, and the
// run finishes (busy keys do not stall the others).
func TestKeyOrder(t *testing.T) {
	for _, batch := range []int{1, 8} {
		t.Run("batch"+strconv.Itoa(batch), func(t *testing.T) {
			kw := newKeyWatch(t)
			var c tries
			srv := startLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				req, err := decodeRequest(r)
				if err != nil {
					t.Error(err)
					return
				}
				kw.enter(req.Items)
				time.Sleep(time.Duration(rand.IntN(1500)) * time.Microsecond)
				kw.leave(req.Items)
				if !req.Batch {
					if n := req.Items[0].N; n%7 == 0 && c.next(n) == 1 {
						w.WriteHeader(503) // a retry must not let the key's next row overtake
						return
					}
					writeOK(w, req.Items[0].N)
					return
				}
				writeBatch(w, req.Items, func(int, profile) int { return 0 })
			}))
			cfg := testConfig(srv.URL, nil)
			cfg.Concurrency, cfg.BatchSize = 16, batch
			p := noJitter(mustPool(t, cfg))
			const n, keys = 600, 6
			jobs := make([]Job, n)
			for i := range jobs {
				jobs[i] = job(i+1, "key"+strconv.Itoa(i%keys))
			}
			got, err := runAll(t, context.Background(), p, jobs)
			if err != nil {
				t.Fatal(err)
			}
			allOK(t, got, n)
			for k, rows := range kw.seen {
				want := slices.Clone(rows)
				slices.Sort(want)
				want = slices.Compact(want) // a retried row appears twice in a row
				if !slices.IsSorted(rows) {
					t.Errorf("key %s: rows reached the server as %v, want submission order", k, rows)
				}
				if len(want) != n/keys {
					t.Errorf("key %s: %d distinct rows, want %d", k, len(want), n/keys)
				}
			}
		})
	}
}

// TestEmptyKeyIsUnordered: jobs without a key run concurrently.
func TestEmptyKeyIsUnordered(t *testing.T) {
	var mu sync.Mutex
	cur, peak := 0, 0
	release := make(chan struct{})
	srv := startLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := decodeRequest(r)
		mu.Lock()
		cur++
		peak = max(peak, cur)
		if cur == 4 {
			close(release)
		}
		mu.Unlock()
		<-release
		mu.Lock()
		cur--
		mu.Unlock()
		writeOK(w, req.Items[0].N)
	}))
	cfg := testConfig(srv.URL, nil)
	cfg.Concurrency = 4
	p := mustPool(t, cfg)
	jobs := manyJobs(4)
	for i := range jobs {
		jobs[i].Key = ""
	}
	got, err := runAll(t, context.Background(), p, jobs)
	if err != nil {
		t.Fatal(err)
	}
	allOK(t, got, 4)
	if peak != 4 {
		t.Errorf("peak concurrency %d, want 4", peak)
	}
}
