package fakeapi

import "time"

// maxPerSecond bounds the per-second histogram (about 12 days): a fake left
// running for weeks stops counting there instead of growing without end.
const maxPerSecond = 1 << 20

// perSecond counts the requests to the profile methods by the wall-clock
// second of their arrival since New or Reset, so a benchmark can check a
// client's pacing from the server's side: the largest count in any 1-second
// window and the steady rate in between. Guarded by Server.mu.
type perSecond struct {
	start  time.Time
	counts []int64
}

func (p *perSecond) reset(now time.Time) {
	p.start, p.counts = now, nil
}

func (p *perSecond) add(now time.Time) {
	sec := now.Sub(p.start) / time.Second
	if sec < 0 || sec >= maxPerSecond {
		return
	}
	for int(sec) >= len(p.counts) {
		p.counts = append(p.counts, 0)
	}
	p.counts[sec]++
}

// PerSecond returns how many requests to the four profile methods arrived in
// each wall-clock second since New or Reset: element i counts the requests
// that arrived in [i s, i+1 s). Seconds after the last request are left out.
// Every POST to a profile method counts, whatever its outcome (429s
// included); other methods, other paths and the /fake/ routes do not. Also
// served as "per_second" by GET /fake/stats?per_second=1.
func (s *Server) PerSecond() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.perSec.counts...)
}
