//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package state

import "os"

// lockFile has no flock to take on this platform: the state relies on
// bbolt's own lock of the data file, which is released for a moment while a
// rebuild swaps the file (see posixFiles).
func lockFile(path, dataPath string, shared bool) (*os.File, error) { return nil, nil }

// posixFiles reports whether a file this process holds open (and mapped)
// may be renamed over or unlinked: a rebuild then swaps files without
// letting go of the old one first, and a spill file is unlinked as soon as
// it is created.
const posixFiles = false
