package source

import (
	"fmt"
	"os"
	"time"
)

// Stamp is what a local file looked like at open: enough to tell, at the
// end of the read, that it was rewritten or appended to meanwhile.
type Stamp struct {
	Path    string
	Size    int64
	ModTime time.Time
}

// StampFile records path's size and modification time.
func StampFile(path string) (Stamp, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Stamp{}, err
	}
	return Stamp{Path: path, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// Verify reports ErrChanged when the file's size or modification time
// differs from the stamp's (or the file is gone).
func (s Stamp) Verify() error {
	now, err := StampFile(s.Path)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrChanged, s.Path, err)
	}
	if now.Size != s.Size || !now.ModTime.Equal(s.ModTime) {
		return fmt.Errorf("%w: %s was modified while it was read (%d bytes, modified %s at open; %d bytes, modified %s now): run again on the finished file",
			ErrChanged, s.Path, s.Size, s.ModTime.Format(time.RFC3339Nano), now.Size, now.ModTime.Format(time.RFC3339Nano))
	}
	return nil
}
