// Package flock applies BSD advisory locks (flock(2)) to open files, the
// way the importer's locks need them: the results journal's lock and the
// state database's. The kernel drops such a lock when its process dies,
// kill -9 included, so a crashed run never leaves a stale lock behind.
package flock
