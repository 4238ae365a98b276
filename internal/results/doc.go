// Package results owns everything a run leaves behind: the per-row results
// journal (CSV or JSONL), the rejects file, the payload dump, the resume
// reader, the input fingerprint, the lock that keeps two runs off one journal,
// and the end-of-run summary with its grouped errors.
//
// # Journal
//
// One line per finished row, in completion order, with the row number as the
// join key:
//
//	row,line,key,status,profile_id,error_code,error,attempts
//
// A path ending in ".jsonl" gives one JSON object per line with the same keys.
// [Journal] hands the file only whole lines, at least once a second, so a
// killed run leaves a file that [ReadJournal] reads back: a torn last line is
// ignored, the last line for a row wins, and only the rows whose last status
// is ok are skipped by --resume.
//
// # A run's use of the package
//
//	lock, err := results.Lock(journal)            // ErrLocked: another run is on it
//	defer lock.Unlock()
//	fp, err := results.NewFingerprint(input, configBytes)
//	if resume {
//		err = results.CheckFingerprint(journal, fp) // ErrFingerprint unless --force
//		prev, err := results.ReadJournal(journal)   // prev.OK(row) → skip
//	}
//	j, err := results.OpenJournal(journal, resume) // appending trims a torn tail
//	err = fp.Save(journal)
//	... j.Write(&row) per row, j.Flush() when idle and every second ...
//	err = j.Close()
//
// # Rejects and payloads
//
// [Rejects] keeps the original cells of every row that did not end ok, plus
// an _error column, in a form the same config imports again (UTF-8 with a
// BOM, the input's delimiter). [Payloads] dumps each row's request body.
//
// # Concurrency
//
// The writers and [Summary] belong to one goroutine (the pipeline's writer);
// none is safe for concurrent use. [Previous] is read-only and safe to share.
// Every writer buffers, must be closed, and reports its first write error
// from Close.
package results
