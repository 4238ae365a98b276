// Package report writes a self-contained HTML report of one run, for the
// migration owner to open the next morning and forward: one file with its
// CSS and SVG charts inline, no script, font, image or stylesheet fetched
// from anywhere.
//
// The page shows rows per second and requests per second against the rate
// limit, requests in flight against the concurrency limit, latency
// percentiles (p50, p90, p99), 429 replies and retries, with AIMD's rate
// changes marked on the timeline; the rows by status; the errors grouped
// by kind and column with their first row numbers; the config as given and
// the command line with anything token-like masked ([MaskCommand]).
//
// # Feeding a Recorder
//
//	rec := report.NewRecorder()               // nil when --report is not given: every method is a no-op
//	// the sender, for every attempt, from any goroutine:
//	rec.ObserveLatency(roundTrip)             // an atomic add: ~6 ns, no allocation
//	// the sender, on a 429, a retry, a rate change:
//	rec.Event(elapsed, report.EventRateLowered, "rate lowered to 25/s")
//	// one goroutine, every second:
//	rec.Sample(report.Sample{Elapsed: …, Rows: …, OK: …, Bad: …, InFlight: …, RateLimit: …, …})
//	// at the end, after a last Sample (temporary file + rename):
//	err := rec.WriteFile("night.html", report.Final{…})
//
// The sender need not import this package: EventKind is a plain string, so
// an interface { ObserveLatency(time.Duration); Event(time.Duration,
// string, string) } declared on its side is met by a *Recorder.
//
// Latencies go into a log-linear histogram (8 buckets per power of two,
// within 6.25%) that each Sample drains, so the percentiles are those of
// each interval.
//
// # Size
//
// A report stays small whatever the run's length: at most [MaxPoints]
// points are kept (past that, neighbours are merged two by two: counters
// keep the later value, in-flight the mean, the rate limit the lowest, the
// latency histograms add up); events of one kind close in time share a
// mark, at most [MaxMarks]; the page lists at most [MaxErrorGroups] error
// groups with [MaxGroupRows] rows each and [MaxTimeline] rate changes. A
// three-hour, ten-million-row run makes a report of about 330 kB.
package report
