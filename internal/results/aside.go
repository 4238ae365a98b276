package results

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// SetAside renames a journal and its fingerprint out of the way, keeping
// them: `export.results.csv` becomes `export.results.<tag>-20261203T102031.csv`
// (and its .fingerprint follows). It returns the new journal path, or ""
// when there was no journal. tag says why ("previous" before a run that
// starts again, "damaged" for a journal that cannot be read).
func SetAside(journalPath, tag string, now time.Time) (string, error) {
	if _, err := os.Stat(journalPath); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	ext := filepath.Ext(journalPath)
	base := strings.TrimSuffix(journalPath, ext)
	stamp := now.UTC().Format("20060102T150405")
	to := fmt.Sprintf("%s.%s-%s%s", base, tag, stamp, ext)
	for i := 2; ; i++ { // two set asides within one second
		if _, err := os.Stat(to); errors.Is(err, fs.ErrNotExist) {
			break
		}
		to = fmt.Sprintf("%s.%s-%s-%d%s", base, tag, stamp, i, ext)
	}
	if err := os.Rename(journalPath, to); err != nil {
		return "", fmt.Errorf("set aside results %s: %w", journalPath, err)
	}
	err := os.Rename(fingerprintPath(journalPath), fingerprintPath(to))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return to, fmt.Errorf("set aside fingerprint of %s: %w", journalPath, err)
	}
	return to, nil
}

// MarkFinished records in the fingerprint beside a journal that its run
// finished: every one of rows rows has its final line.
func MarkFinished(journalPath string, rows int64, now time.Time) error {
	f, err := ReadFingerprint(journalPath)
	if err != nil {
		return err
	}
	f.Finished, f.Rows = now.UTC().Format(time.RFC3339), rows
	return f.Save(journalPath)
}

// Salvage repairs a damaged journal for --resume --force: it keeps a copy
// of the whole file beside it (tag "damaged"), then cuts the journal to its
// longest prefix of good lines (the header included, for CSV; nothing when
// even the header is bad). Rows after the cut are sent again by the resumed
// run. It returns the bytes kept and dropped and the copy's path.
func Salvage(journalPath string, now time.Time) (kept, dropped int64, aside string, err error) {
	f, err := os.OpenFile(journalPath, os.O_RDWR, 0)
	if err != nil {
		return 0, 0, "", fmt.Errorf("salvage results %s: %w", journalPath, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, "", fmt.Errorf("salvage results %s: %w", journalPath, err)
	}
	br := bufio.NewReaderSize(io.NewSectionReader(f, 0, fi.Size()), 256<<10)
	if isJSONL(journalPath) {
		kept, err = scanJSONLPrefix(br, nil, true)
	} else {
		kept, err = scanCSVPrefix(br, true, nil, true)
	}
	if err != nil {
		return 0, 0, "", fmt.Errorf("salvage results %s: %w", journalPath, err)
	}
	ext := filepath.Ext(journalPath)
	aside = fmt.Sprintf("%s.damaged-%s%s", strings.TrimSuffix(journalPath, ext), now.UTC().Format("20060102T150405"), ext)
	cp, err := os.OpenFile(aside, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err == nil {
		_, err = io.Copy(cp, io.NewSectionReader(f, 0, fi.Size()))
		if cerr := cp.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return 0, 0, "", fmt.Errorf("salvage results %s: keep a copy: %w", journalPath, err)
	}
	if err := f.Truncate(kept); err != nil {
		return 0, 0, aside, fmt.Errorf("salvage results %s: %w", journalPath, err)
	}
	return kept, fi.Size() - kept, aside, nil
}
