package report

import (
	"strings"
	"testing"
)

// TestSizeOfLongRun: a simulated three-hour run of ten million rows (10,800
// one-second samples, hundreds of 429 bursts, tens of thousands of events,
// a thousand error groups) still makes a report of at most 1 MB, whose
// charts cover the whole run.
func TestSizeOfLongRun(t *testing.T) {
	bursts := make([]int, 0, 180)
	for s := 45; s < 10_800; s += 60 {
		bursts = append(bursts, s)
	}
	rec := NewRecorder()
	s := simRun{seconds: 10_800, ceiling: 1300, latPerSec: 10, throttleAt: bursts, seed: 7}.run(rec)
	if s.Rows < 10_000_000 {
		t.Fatalf("the simulation made %d rows, want about 10M", s.Rows)
	}
	_, _, events := rec.snapshot()
	if events < 10_000 {
		t.Fatalf("the simulation made %d events, want tens of thousands", events)
	}
	f := simFinal(s, 1000)
	f.Config = strings.Repeat("# a long config comment line\n", 5000) // 145 kB, over MaxConfigBytes
	page := render(t, rec, f)
	const limit = 1 << 20
	if len(page) > limit {
		t.Errorf("report of a 3-hour run is %d bytes, want ≤ %d", len(page), limit)
	}
	t.Logf("3-hour, %d-row run: report %d bytes, %d events", s.Rows, len(page), events)
	if !strings.Contains(string(page), ">3:00:00</text>") {
		t.Error("the time axis does not reach 3:00:00")
	}
	if !strings.Contains(string(page), "more kinds of error") {
		t.Error("the error groups past MaxErrorGroups are not summed up")
	}
}
