package report

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// simRun drives a Recorder the way the importer does, from a small model
// of a run against a rate-limited API: a configured rate, AIMD halving on
// 429 bursts and recovering by 5% of the ceiling a second, Little's law for
// requests in flight, log-normal latencies with a slow spell, ~2% rejected
// rows. It is deterministic for a seed.
type simRun struct {
	seconds    int     // run length, one Sample a second
	ceiling    float64 // configured rate, requests/s
	latPerSec  int     // latencies observed a second (the model's requests are many more)
	throttleAt []int   // seconds at which the API starts a 429 burst
	seed       uint64
}

// run feeds rec and returns the final counters.
func (sim simRun) run(rec *Recorder) Sample {
	rng := rand.New(rand.NewPCG(sim.seed, 42))
	var s Sample
	rate := sim.ceiling
	burst := 0
	next := 0
	for sec := 1; sec <= sim.seconds; sec++ {
		t := time.Duration(sec) * time.Second
		// Latency: 40 ms typical, four times slower between 35% and 45%.
		median := 40.0
		if f := float64(sec) / float64(sim.seconds); f > 0.35 && f < 0.45 {
			median = 160
		}
		for range sim.latPerSec {
			ms := median * math.Exp(0.45*rng.NormFloat64())
			rec.ObserveLatency(time.Duration(ms * float64(time.Millisecond)))
		}
		if next < len(sim.throttleAt) && sec == sim.throttleAt[next] {
			burst, next = 4+rng.IntN(4), next+1
		}
		reqs := int64(rate * (0.93 + 0.07*rng.Float64()))
		var throttled int64
		if burst > 0 {
			throttled = reqs / 3
			burst--
			if rate > sim.ceiling/8 {
				rate = math.Max(1, rate/2)
				rec.Event(t, EventRateLowered, fmt.Sprintf("rate lowered to %.0f/s", rate))
			}
			for range min(throttled, 20) {
				rec.Event(t+time.Duration(rng.IntN(1000))*time.Millisecond, EventThrottled, "HTTP 429")
			}
		} else if rate < sim.ceiling {
			rate = math.Min(sim.ceiling, rate+sim.ceiling*0.05)
			if rate == sim.ceiling {
				rec.Event(t, EventRecovered, fmt.Sprintf("rate recovered to %.0f/s", rate))
			}
		}
		retries := throttled + int64(rng.IntN(3))
		if median > 40 {
			retries += reqs / 20 // timeouts in the slow spell
		}
		for range min(retries, 10) {
			rec.Event(t, EventRetry, "retry")
		}
		done := reqs - retries
		bad := int64(float64(done) * 0.02 * rng.Float64() * 2)
		s.Elapsed = t
		s.Rows += done
		s.Bad += bad
		s.OK += done - bad
		s.Requests += reqs
		s.Retries += retries
		s.Throttled += throttled
		s.RateLimit = rate
		s.InFlight = int(math.Round(rate * median / 1000 * (0.8 + 0.4*rng.Float64())))
		s.Concurrency = int(math.Ceil(rate*median/1000*1.25)) + 1
		rec.Sample(s)
	}
	return s
}

// simFinal is the end of a simulated run, with many kinds of errors.
func simFinal(s Sample, groups int) Final {
	start := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	invalid := s.Bad * 8 / 10
	failed := s.Bad - invalid - 3
	f := Final{
		Title:    "legacy-crm → Altcraft profiles",
		Input:    "/data/exports/legacy-crm-2026-03-01.csv",
		Started:  start,
		Finished: start.Add(s.Elapsed + 400*time.Millisecond),
		ExitCode: 2,
		Statuses: []StatusCount{
			{"ok", s.OK}, {"failed", failed}, {"invalid", invalid}, {"unknown", 3},
			{"unchanged", 0}, {"missing", 0}, {"skipped", 1200},
		},
		Requests: s.Requests, Retries: s.Retries, Throttled: s.Throttled,
		Config: `api:
  endpoint: import
  rate: 100
  timeout: 30s
request:
  db_id: 1
  matching: email
input:
  encoding: windows-1251
fields:
  email: {column: Email, transform: [lower], validate: email, required: true}
  phones: {column: Телефон, type: phone, split: ","}
  _bdate: {column: "Дата рождения", type: date, layout: "02.01.2006"}
`,
		Command: []string{"importer", "run", "-c", "configs/legacy-crm.yaml", "--token-file", "/etc/importer/token",
			"--ping", "https://hc-ping.com/5f1c0a6e-8d2b-4c3a-9f00-2b7d1e6a4c11", "--report", "night.html",
			"/data/exports/legacy-crm-2026-03-01.csv"},
	}
	kinds := []struct{ kind, column string }{
		{"invalid phone", "Телефон"}, {"invalid e-mail", "Email"}, {"API error 404 Profile not found", ""},
		{"invalid date", "Дата рождения"}, {"required value missing", "Email"},
	}
	left := s.Bad
	for i := range groups {
		k := kinds[i%len(kinds)]
		kind := k.kind
		if i >= len(kinds) {
			kind = fmt.Sprintf("%s (variant %d)", k.kind, i)
		}
		n := max(1, left/2)
		left -= n
		rows := make([]int64, 0, 10)
		for j := range int(min(n, 10)) {
			rows = append(rows, int64(17+i*131+j*977))
		}
		f.Errors = append(f.Errors, ErrorGroup{Kind: kind, Column: k.column, Count: n, Rows: rows})
	}
	return f
}
