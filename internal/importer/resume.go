package importer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"importer/internal/results"
)

// ErrAlreadyRun refuses to run again, unasked, an input whose journal says
// it was imported (or started) with this config: its rows using incr, add
// or delete would be applied twice.
var ErrAlreadyRun = errors.New("this input was already run with this config")

// journalStart decides what the run does with the journal it will write,
// before any row is read, and saves the fingerprint:
//
//   - validate: always a fresh journal of its own;
//   - --again: an earlier journal is set aside (kept), and the run starts over;
//   - --resume: the journal is read back (rows ok are skipped; rows unknown,
//     or in flight when the last run died, are skipped unless
//     --retry-unknown), after checking it belongs to this input and config
//     (--force skips the check, and salvages a damaged journal);
//   - neither: a journal of this input and config, finished or not, is
//     refused (ErrAlreadyRun) rather than overwritten and sent again; one of
//     another input is replaced.
//
// It returns the earlier run's rows when resuming, nil otherwise.
func (s *session) journalStart() (*results.Previous, error) {
	o, path := s.o, s.paths.results
	var fp results.Fingerprint
	var err error
	if s.remote != nil {
		m := s.remote.Meta()
		fp = results.RemoteFingerprint(m.Location, m.Size, m.ETag, s.cfg.Source)
	} else if fp, err = results.NewFingerprint(o.Input, s.cfg.Source); err != nil {
		return nil, err
	}
	var prev *results.Previous
	switch {
	case o.Mode == ModeValidate:
	case o.Again:
		to, err := results.SetAside(path, "previous", time.Now())
		if err != nil {
			return nil, err
		}
		if to != "" {
			s.log.Info("--again: the earlier journal is kept", "moved_to", to)
		}
	case o.Resume:
		if prev, err = s.resume(fp); err != nil {
			return nil, err
		}
	default:
		if err := refuseRerun(path, fp); err != nil {
			return nil, err
		}
	}
	if err := fp.Save(path); err != nil {
		return nil, err
	}
	return prev, nil
}

// refuseRerun refuses a fresh run over the journal of a run of the same
// input and config.
func refuseRerun(path string, fp results.Fingerprint) error {
	saved, err := results.ReadFingerprint(path)
	if err != nil || !saved.Same(fp) {
		return nil // no earlier run, or one of another input or config: replaced
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: its results journal %s is gone, so which rows were applied cannot be known; "+
			"--again starts over and sends every row", ErrAlreadyRun, path)
	}
	if saved.Finished != "" {
		return fmt.Errorf("%w: it finished on %s (%d rows; results %s); run with --resume to retry only the rows that did not end ok, "+
			"or --again to send every row again (the old journal is kept)", ErrAlreadyRun, saved.Finished, saved.Rows, path)
	}
	return fmt.Errorf("%w: an unfinished run left results %s; run with --resume to continue it, "+
		"or --again to start over and send every row again (the old journal is kept)", ErrAlreadyRun, path)
}

// resume reads the journal back for --resume.
func (s *session) resume(fp results.Fingerprint) (*results.Previous, error) {
	o, path := s.o, s.paths.results
	_, statErr := os.Stat(path)
	switch {
	case errors.Is(statErr, fs.ErrNotExist) && results.FingerprintExists(path) && !o.Force:
		return nil, fmt.Errorf("resume: the results journal %s is gone, but its fingerprint shows a run was started: "+
			"which rows were applied cannot be known; --again starts over (every row is sent), --force resumes with nothing skipped", path)
	case errors.Is(statErr, fs.ErrNotExist):
		s.log.Info("nothing to resume: no results journal yet, starting from the first row", "results", path)
		return nil, nil
	case statErr != nil:
		return nil, fmt.Errorf("resume: %w", statErr)
	}
	if !o.Force {
		if err := results.CheckFingerprint(path, fp); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
	}
	prev, err := results.ReadJournal(path)
	if err != nil && o.Force {
		prev, err = s.salvage(err)
	}
	if err != nil {
		return nil, fmt.Errorf("resume: %w; --force resumes from the readable part (the damaged journal is kept), --again starts over", err)
	}
	c := prev.Count()
	s.log.Info("resuming", "results", path, "already_ok", c.OK, "unknown", c.Unknown,
		"in_flight_when_stopped", c.InFlight, "to_redo", c.Other)
	if c.Unknown > 0 && !o.RetryUnknown {
		s.log.Warn("rows whose request may have been applied are not sent again: check them in Altcraft, "+
			"then pass --retry-unknown to send them", "unknown", c.Unknown, "in_flight_when_stopped", c.InFlight)
	}
	return prev, nil
}

// salvage keeps a copy of a damaged journal and resumes from its readable
// part.
func (s *session) salvage(cause error) (*results.Previous, error) {
	path := s.paths.results
	kept, dropped, aside, err := results.Salvage(path, time.Now())
	if err != nil {
		return nil, fmt.Errorf("%w (salvaging it: %w)", cause, err)
	}
	s.log.Warn("--force: the results journal is damaged; resuming from its readable part (rows after it are sent again)",
		"results", path, "error", cause.Error(), "kept_bytes", kept, "dropped_bytes", dropped, "damaged_copy", aside)
	return results.ReadJournal(path)
}
