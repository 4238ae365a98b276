package importer

// inflightRows holds the outcomes of the rows out with the sender, under
// small integer ids that the sender echoes (sender.Job.ID): a slot of a
// slice, reused once its result came back. It replaced a map keyed by row
// number, which cost three hashed operations a row (insert, lookup,
// delete) and, with the sender's own key map, about a tenth of a batch
// run's CPU in map probing. Not safe for concurrent use: the pipeline's
// mutex guards it.
type inflightRows struct {
	slots []outcome
	free  []int64
}

// add stores o and returns its id.
func (s *inflightRows) add(o outcome) int64 {
	if n := len(s.free); n > 0 {
		id := s.free[n-1]
		s.free = s.free[:n-1]
		s.slots[id] = o
		return id
	}
	s.slots = append(s.slots, o)
	return int64(len(s.slots) - 1)
}

// at is the outcome stored under id, to change in place.
func (s *inflightRows) at(id int64) *outcome { return &s.slots[id] }

// take removes and returns the outcome stored under id.
func (s *inflightRows) take(id int64) outcome {
	o := s.slots[id]
	s.slots[id] = outcome{} // drop its references for the collector
	s.free = append(s.free, id)
	return o
}
