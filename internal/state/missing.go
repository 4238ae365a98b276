package state

import "fmt"

// Missing calls fn, in key order, for every key in the state that held
// says the input lacked (the keys tonight's complete export no longer has),
// with what the state remembers of it. held is the caller's set of the
// input's keys (a Seen's HasBytes, or the caller's own set: one set of a
// million keys is enough memory). It returns how many keys it reported; an
// error from fn stops the scan and is returned. Puts committed since the
// last Fold count: a store open for writing folds them first (a no-op after
// the run's own Fold). The scan is one read transaction over the whole file
// (a fraction of a second per million keys), so run it after the run's last
// Commit. See Seen for the one-sided error of a set of hashes.
func (s *Store) Missing(held func(key []byte) bool, fn func(key string, e Entry) error) (int, error) {
	n := 0
	err := s.scan(func(k, v []byte) error {
		if held(k) {
			return nil
		}
		e, err := decodeEntry(v)
		if err != nil {
			return s.corruptKey(k, err)
		}
		n++
		return fn(string(k), e)
	})
	if err != nil {
		return n, fmt.Errorf("missing keys: %w", err)
	}
	return n, nil
}
