//go:build !unix

package cputime

import "time"

// Self is -1 (unknown) where getrusage is missing.
func Self() time.Duration { return -1 }
