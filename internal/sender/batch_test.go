package sender

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// batches records the batch requests a test server received.
type batches struct {
	mu   sync.Mutex
	reqs []request
	at   []time.Duration
	path []string
}

func (b *batches) add(r request, at time.Duration, path string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reqs = append(b.reqs, r)
	b.at = append(b.at, at)
	b.path = append(b.path, path)
}

func (b *batches) sizes() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	var s []int
	for _, r := range b.reqs {
		s = append(s, len(r.Items))
	}
	return s
}

func payloads(jobs []Job) []Payload {
	ps := make([]Payload, len(jobs))
	for i, j := range jobs {
		ps[i] = j.Payload
	}
	return ps
}

// TestBatchResultsMapBack: result[i] goes to the i-th row of the batch; a
// failing middle item fails only its row; an item-level transient error
// resends only that row; the body is exactly AppendBatchBody's.
func TestBatchResultsMapBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec batches
		var c tries
		start := time.Now()
		f := startFake(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req, err := decodeRequest(r)
			if err != nil {
				t.Error(err)
				return
			}
			rec.add(req, time.Since(start), r.URL.Path)
			writeBatch(w, req.Items, func(_ int, p profile) int {
				switch {
				case p.N == 3:
					return 404
				case p.N == 8 && c.next(8) == 1:
					return 503
				}
				return 0
			})
		}))
		defer f.Close()
		cfg := testConfig(f.URL, f.Client)
		cfg.BatchSize, cfg.Concurrency = 5, 1
		p := mustPool(t, cfg)
		jobs := manyJobs(10)
		got, err := runAll(t, context.Background(), p, jobs)
		if err != nil {
			t.Fatal(err)
		}
		for id := int64(1); id <= 10; id++ {
			r := got[id]
			want := Result{ID: id, Status: OK, ProfileID: "pid-" + strconv.Itoa(int(id)), Attempts: 1}
			switch id {
			case 3:
				want = Result{ID: 3, Status: Failed, Code: "404", Error: "item 3 failed", Attempts: 1}
			case 8:
				want.Attempts = 2
			}
			if r != want {
				t.Errorf("job %d = %+v, want %+v", id, r, want)
			}
		}
		if s := fmt.Sprint(rec.sizes()); s != "[5 5 1]" {
			t.Errorf("batch sizes %s, want [5 5 1] (two batches, then row 8 alone)", s)
		}
		if want := AppendBatchBody(nil, testToken, cfg.BatchEnvelope, payloads(jobs[:5])); string(rec.reqs[0].Raw) != string(want) {
			t.Errorf("first batch body:\n%s\nwant\n%s", rec.reqs[0].Raw, want)
		}
		if rec.path[0] != "/api/v1.1/profiles/update_batch" {
			t.Errorf("batch sent to %s, want /api/v1.1/profiles/update_batch", rec.path[0])
		}
		if st := p.Stats(); st.Requests != 3 || st.Retries != 1 {
			t.Errorf("stats = %+v, want 3 requests, 1 retry", st)
		}
	})
}

// TestBatchReplyUnmatched: a batch reply whose results cannot be matched to
// its rows one to one (fewer results, none, errors only) proves nothing:
// the set-only rows go out again one per request, whose replies are
// unambiguous, and so does every later row; a Risky row ends Unknown,
// sent once.
func TestBatchReplyUnmatched(t *testing.T) {
	shapes := []struct {
		name  string
		reply func(w http.ResponseWriter, items []profile)
	}{
		{"FewerResults", func(w http.ResponseWriter, items []profile) {
			writeBatch(w, items[:3], func(int, profile) int { return 0 })
		}},
		{"ErrorsOnly", func(w http.ResponseWriter, _ []profile) {
			fmt.Fprint(w, `{"error":0,"error_text":"Successful operation","result":[]}`)
		}},
		{"NoResultList", func(w http.ResponseWriter, _ []profile) {
			fmt.Fprint(w, `{"error":0,"error_text":"Successful operation"}`)
		}},
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var rec batches
				f := startFake(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					req, _ := decodeRequest(r)
					rec.add(req, 0, r.URL.Path)
					if !req.Batch {
						writeOK(w, req.Items[0].N)
						return
					}
					sh.reply(w, req.Items)
				}))
				defer f.Close()
				var logs logBuffer
				cfg := testConfig(f.URL, f.Client)
				cfg.BatchSize, cfg.Concurrency, cfg.Logger = 5, 1, logs.logger()
				p := mustPool(t, cfg)
				jobs := manyJobs(12)
				jobs[1].Risky = true
				got, err := runAll(t, context.Background(), p, jobs)
				if err != nil {
					t.Fatal(err)
				}
				for _, j := range jobs {
					r := got[j.ID]
					switch {
					case j.Risky:
						if r.Status != Unknown || r.Attempts != 1 || r.Code != "reply" {
							t.Errorf("risky job %d = %+v, want unknown after its one batch attempt", j.ID, r)
						}
					case j.ID <= 5:
						if r.Status != OK || r.Attempts != 1 || r.ProfileID == "" {
							t.Errorf("job %d of the first batch = %+v, want ok from its own request", j.ID, r)
						}
					default:
						if r.Status != OK || r.Attempts != 1 {
							t.Errorf("later job %d = %+v, want ok", j.ID, r)
						}
					}
				}
				if sizes := rec.sizes(); len(sizes) != 1+4+7 || sizes[0] != 5 {
					t.Errorf("request sizes %v, want one batch of 5, then 11 single requests", sizes)
				}
				if !strings.Contains(logs.String(), "sending one profile per request from now on") {
					t.Errorf("no warning about the fallback:\n%s", logs.String())
				}
			})
		})
	}
}

// TestBatchLevelError: an error on the batch as a whole fails every row.
func TestBatchLevelError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := startFake(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"error":400,"error_text":"Invalid matching"}`)
		}))
		defer f.Close()
		cfg := testConfig(f.URL, f.Client)
		cfg.BatchSize = 4
		p := mustPool(t, cfg)
		got, err := runAll(t, context.Background(), p, manyJobs(4))
		if err != nil {
			t.Fatal(err)
		}
		for id, r := range got {
			if want := (Result{ID: id, Status: Failed, Code: "400", Error: "Invalid matching", Attempts: 1}); r != want {
				t.Errorf("job %d = %+v, want %+v", id, r, want)
			}
		}
	})
}

// TestBatchRiskyUnknown: a batch sent without a reply may have been
// applied: its Risky row ends Unknown, sent once, and its set-only rows
// are sent again.
func TestBatchRiskyUnknown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		calls := 0
		f := startFake(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req, _ := decodeRequest(r)
			mu.Lock()
			calls++
			first := calls <= 2
			mu.Unlock()
			if first { // both first batches: the connection drops after the request
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close()
				return
			}
			writeBatch(w, req.Items, func(int, profile) int { return 0 })
		}))
		defer f.Close()
		cfg := testConfig(f.URL, f.Client)
		cfg.BatchSize, cfg.Concurrency = 3, 2
		p := mustPool(t, cfg)
		jobs := manyJobs(6)
		jobs[4].Risky = true // the second batch holds one risky row
		got, err := runAll(t, context.Background(), p, jobs)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []int64{1, 2, 3, 4, 6} {
			if r := got[id]; r.Status != OK || r.Attempts != 2 {
				t.Errorf("set-only job %d = %+v, want ok after 2 attempts", id, r)
			}
		}
		if r := got[5]; r.Status != Unknown || r.Attempts != 1 || !strings.Contains(r.Error, "may have been applied") {
			t.Errorf("risky job 5 = %+v, want unknown after 1 attempt", r)
		}
	})
}

// TestBatchByteCap: batches are cut so no body exceeds MaxBatchBytes.
func TestBatchByteCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec batches
		f := startFake(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req, _ := decodeRequest(r)
			rec.add(req, 0, r.URL.Path)
			writeBatch(w, req.Items, func(int, profile) int { return 0 })
		}))
		defer f.Close()
		var jobs []Job
		for i := 10; i < 20; i++ { // equal-sized items
			jobs = append(jobs, job(i, "k"+strconv.Itoa(i)))
		}
		cfg := testConfig(f.URL, f.Client)
		cfg.BatchSize, cfg.Concurrency = 100, 1
		cfg.MaxBatchBytes = len(AppendBatchBody(nil, testToken, cfg.BatchEnvelope, payloads(jobs[:3])))
		p := mustPool(t, cfg)
		got, err := runAll(t, context.Background(), p, jobs)
		if err != nil {
			t.Fatal(err)
		}
		allOK(t, got, 10)
		if s := fmt.Sprint(rec.sizes()); s != "[3 3 3 1]" {
			t.Errorf("batch sizes %s, want [3 3 3 1]", s)
		}
		for i, r := range rec.reqs {
			if len(r.Raw) > cfg.MaxBatchBytes {
				t.Errorf("batch %d is %d bytes, above the cap %d", i, len(r.Raw), cfg.MaxBatchBytes)
			}
		}
		if want := AppendBatchBody(nil, testToken, cfg.BatchEnvelope, payloads(jobs[3:6])); string(rec.reqs[1].Raw) != string(want) {
			t.Errorf("second batch body:\n%s\nwant\n%s", rec.reqs[1].Raw, want)
		}
	})
}

// TestBatchLinger: a partial batch goes out after Linger while the input
// stays open, and at once when the input closes.
func TestBatchLinger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec batches
		start := time.Now()
		f := startFake(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req, _ := decodeRequest(r)
			rec.add(req, time.Since(start), r.URL.Path)
			writeBatch(w, req.Items, func(int, profile) int { return 0 })
		}))
		defer f.Close()
		cfg := testConfig(f.URL, f.Client)
		cfg.BatchSize, cfg.Linger = 10, 50*time.Millisecond
		p := mustPool(t, cfg)
		in := make(chan Job)
		out := make(chan Result, 10)
		errc := make(chan error, 1)
		go func() { errc <- runSingles(context.Background(), p, in, out) }()
		for _, j := range manyJobs(3) {
			in <- j
		}
		time.Sleep(time.Second) // input open and idle: the linger timer must flush
		in <- job(4, "k4")
		in <- job(5, "k5")
		close(in) // closing flushes at once
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if len(out) != 5 {
			t.Errorf("%d results, want 5", len(out))
		}
		if s := fmt.Sprint(rec.sizes(), rec.at); s != "[3 2] [50ms 1s]" {
			t.Errorf("batches (sizes, times) = %s, want [3 2] [50ms 1s]", s)
		}
	})
}
