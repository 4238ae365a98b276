package report

import (
	"bytes"
	"testing"
	"time"
)

// smallRun is a short deterministic run: ten seconds, a 429 burst at 4 s
// with the rate halved and recovered, and two kinds of errors.
func smallRun() (*Recorder, Final) {
	rec := NewRecorder()
	rate := 20.0
	var s Sample
	for sec := 1; sec <= 10; sec++ {
		at := time.Duration(sec) * time.Second
		for i := range 10 {
			rec.ObserveLatency(time.Duration(30+sec+i*7) * time.Millisecond)
		}
		switch sec {
		case 4:
			rec.Event(at-300*time.Millisecond, EventThrottled, "HTTP 429")
			rec.Event(at-200*time.Millisecond, EventThrottled, "HTTP 429")
			rec.Event(at-100*time.Millisecond, EventRetry, "retry after 429")
			rate = 10
			rec.Event(at, EventRateLowered, "rate lowered to 10/s")
			s.Throttled += 2
			s.Retries += 2
		case 8:
			rate = 20
			rec.Event(at, EventRecovered, "rate recovered to 20/s")
		}
		n := int64(rate * 0.9)
		s = Sample{Elapsed: at, Rows: s.Rows + n, OK: s.OK + n - 1, Bad: s.Bad + 1, InFlight: 2 + sec%3, Concurrency: 4,
			RateLimit: rate, Requests: s.Requests + n + 1, Retries: s.Retries, Throttled: s.Throttled}
		rec.Sample(s)
	}
	start := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	return rec, Final{
		Title: "legacy-crm", Input: "samples/legacy-crm.csv",
		Started: start, Finished: start.Add(10*time.Second + 250*time.Millisecond), ExitCode: 2,
		Statuses: []StatusCount{{"ok", 140}, {"failed", 3}, {"invalid", 7}, {"unknown", 0}, {"skipped", 12}},
		Errors: []ErrorGroup{
			{Kind: "invalid phone", Column: "Телефон", Count: 7, Rows: []int64{5, 17, 23, 40, 41, 52, 90}},
			{Kind: "API error 404 <Profile not found>", Count: 3, Rows: []int64{11, 12, 13}},
		},
		Requests: s.Requests, Retries: s.Retries, Throttled: s.Throttled,
		Config:  "api:\n  rate: 20\nrequest:\n  db_id: 1\n  matching: email\nfields:\n  email: {column: Email, validate: email}\n  note: {value: \"<b>&</b>\"}\n",
		Command: []string{"importer", "run", "-c", "configs/legacy-crm.yaml", "--token-file", "/etc/importer/token", "--report", "out.html", "samples/legacy-crm.csv"},
	}
}

// render writes rec's report for f.
func render(t testing.TB, rec *Recorder, f Final) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := rec.Write(&b, f); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return b.Bytes()
}

// realisticRun is a 25-minute run of the simulation with three 429 bursts.
func realisticRun() (*Recorder, Final) {
	rec := NewRecorder()
	s := simRun{seconds: 1500, ceiling: 100, latPerSec: 50, throttleAt: []int{300, 700, 1100}, seed: 1}.run(rec)
	return rec, simFinal(s, 6)
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
