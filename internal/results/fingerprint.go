package results

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FingerprintSpan is how much of each end of the input a fingerprint hashes.
const FingerprintSpan = 1 << 20

// ErrFingerprint is wrapped by every CheckFingerprint error: the journal
// cannot be shown to belong to this input and config, so resuming could skip
// the wrong rows. --force overrides it.
var ErrFingerprint = errors.New("results journal does not match the input")

// Fingerprint identifies the input and config a journal was written for,
// cheaply: the size and hashes of the first and last MiB, not the whole file,
// so a multi-GB input is checked in milliseconds. A same-size edit in the
// middle of a large file goes unnoticed.
type Fingerprint struct {
	Input  string `json:"input"`  // the path as given
	Size   int64  `json:"size"`   // -1 for stdin
	Head   string `json:"head"`   // sha256 hex of the first 1 MiB
	Tail   string `json:"tail"`   // sha256 hex of the last 1 MiB
	Config string `json:"config"` // sha256 hex of the config bytes
	// Finished is set (RFC 3339) once a run read its input to the end and
	// every row it read has its final line in the journal; Rows is how many
	// rows that was. A finished journal is not run again by accident.
	Finished string `json:"finished,omitempty"`
	Rows     int64  `json:"rows,omitempty"`
}

// Same reports whether f and o fingerprint the same input and config
// (their paths and finish marks aside). A stdin input is never the same as
// anything: it cannot be re-read to tell.
func (f Fingerprint) Same(o Fingerprint) bool {
	return f.Size >= 0 && o.Size >= 0 && f.Size == o.Size && f.Head == o.Head && f.Tail == o.Tail && f.Config == o.Config
}

// ReadFingerprint reads the fingerprint saved beside a journal. A missing
// file is an error wrapping fs.ErrNotExist.
func ReadFingerprint(journalPath string) (Fingerprint, error) {
	path := fingerprintPath(journalPath)
	data, err := os.ReadFile(path)
	if err != nil {
		return Fingerprint{}, fmt.Errorf("read fingerprint: %w", err)
	}
	var f Fingerprint
	if err := json.Unmarshal(data, &f); err != nil {
		return Fingerprint{}, fmt.Errorf("read fingerprint %s: %w", path, err)
	}
	return f, nil
}

// FingerprintExists reports whether a journal has a fingerprint beside it:
// a run was started for it.
func FingerprintExists(journalPath string) bool {
	_, err := os.Stat(fingerprintPath(journalPath))
	return err == nil
}

// NewFingerprint fingerprints the input file and the config bytes. The input
// "-" (stdin) gets Size -1 and no file hashes: it cannot be re-read, so it can
// never be verified.
func NewFingerprint(inputPath string, config []byte) (Fingerprint, error) {
	sum := sha256.Sum256(config)
	fp := Fingerprint{Input: inputPath, Size: -1, Config: hex.EncodeToString(sum[:])}
	if inputPath == "-" {
		return fp, nil
	}
	f, err := os.Open(inputPath)
	if err != nil {
		return Fingerprint{}, fmt.Errorf("fingerprint %s: %w", inputPath, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Fingerprint{}, fmt.Errorf("fingerprint %s: %w", inputPath, err)
	}
	fp.Size = fi.Size()
	hash := func(off int64) (string, error) {
		h := sha256.New()
		n := min(FingerprintSpan, fp.Size)
		if _, err := io.Copy(h, io.NewSectionReader(f, off, n)); err != nil {
			return "", fmt.Errorf("fingerprint %s: %w", inputPath, err)
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	if fp.Head, err = hash(0); err != nil {
		return Fingerprint{}, err
	}
	if fp.Tail, err = hash(max(0, fp.Size-FingerprintSpan)); err != nil {
		return Fingerprint{}, err
	}
	return fp, nil
}

// RemoteFingerprint fingerprints a remote input (an S3 object, an https
// download) by what its server says of it: the size and the ETag, which
// changes with the content. A server that gives no ETag gives nothing to
// check: the fingerprint then matches only its own size.
func RemoteFingerprint(location string, size int64, etag string, config []byte) Fingerprint {
	sum := sha256.Sum256(config)
	return Fingerprint{Input: location, Size: size, Head: "etag:" + etag, Tail: "etag:" + etag,
		Config: hex.EncodeToString(sum[:])}
}

// fingerprintPath is where the fingerprint of a journal is kept.
func fingerprintPath(journalPath string) string { return journalPath + ".fingerprint" }

// Save writes f as JSON at journalPath + ".fingerprint", atomically (a temp
// file renamed over it), so a crash leaves the old fingerprint or the new one.
func (f Fingerprint) Save(journalPath string) error {
	path := fingerprintPath(journalPath)
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("save fingerprint %s: %w", path, err)
	}
	data = append(data, '\n')
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save fingerprint %s: %w", path, err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save fingerprint %s: %w", path, err)
	}
	// Make the rename itself durable; not every platform can sync a
	// directory, and the fingerprint is already complete, so this is best effort.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// mismatchError is a CheckFingerprint failure: its text is the whole story,
// and it unwraps to ErrFingerprint.
type mismatchError struct{ msg string }

func (e *mismatchError) Error() string { return e.msg }
func (e *mismatchError) Unwrap() error { return ErrFingerprint }

// CheckFingerprint compares cur with the fingerprint saved beside the journal.
// It returns nil when they agree. Otherwise the error wraps ErrFingerprint and
// says exactly what differs ("the input file changed: size 1200 → 1350", "the
// config changed") and that --force overrides. A missing or unreadable
// fingerprint file, and a stdin input (which cannot be re-read), are
// mismatches too. The input's path is not compared: a moved file with the
// same content is the same input.
func CheckFingerprint(journalPath string, cur Fingerprint) error {
	path := fingerprintPath(journalPath)
	fail := func(format string, args ...any) error {
		return &mismatchError{fmt.Sprintf("cannot resume from results %q: ", journalPath) +
			fmt.Sprintf(format, args...) + "; use --force to resume anyway"}
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fail("its fingerprint file %s is missing, so it cannot be checked against this input", path)
	}
	if err != nil {
		return fmt.Errorf("read fingerprint %s: %w", path, err)
	}
	var saved Fingerprint
	if err := json.Unmarshal(data, &saved); err != nil {
		return fail("its fingerprint file %s is unreadable (%v)", path, err)
	}
	if cur.Input == "-" || cur.Size < 0 {
		return fail("the input is stdin, which cannot be checked against the run that wrote the journal")
	}
	if saved.Input == "-" || saved.Size < 0 {
		return fail("the journal was written for stdin input, which cannot be checked against %s", cur.Input)
	}
	var diffs []string
	switch {
	case saved.Size != cur.Size:
		diffs = append(diffs, fmt.Sprintf("the input file changed: size %d → %d", saved.Size, cur.Size))
	case saved.Head != cur.Head && saved.Tail != cur.Tail:
		diffs = append(diffs, "the input file changed: its first and last MiB differ")
	case saved.Head != cur.Head:
		diffs = append(diffs, "the input file changed: its first MiB differs")
	case saved.Tail != cur.Tail:
		diffs = append(diffs, "the input file changed: its last MiB differs")
	}
	if saved.Config != cur.Config {
		diffs = append(diffs, "the config changed")
	}
	if len(diffs) == 0 {
		return nil
	}
	return fail("%s", strings.Join(diffs, "; "))
}
