// Package state is the importer's memory across runs: an embedded database
// (one file, go.etcd.io/bbolt) that remembers, per match key, a fingerprint
// of the request last sent for it successfully, and a ledger of the inputs
// that were imported. With it a nightly import of a full export sends only
// the rows that changed since the last run, refuses an export it already
// imported, and reports the keys that vanished from the export.
//
// # A run's use of the package
//
//	st, err := state.Open(path, state.Options{})   // ErrLocked: another process has it
//	defer st.Close()
//	if run, ok, err := st.FindRun(contentHash); ok { ... already imported ... }
//	seen := state.NewSeen(0)
//	hits := make([]state.Hit, chunkSize)
//	... per chunk of mapped rows:
//	err = st.Lookup(keys, hits)                      // hits[i].Found, hits[i].Entry.Fingerprint
//	seen.Add(key) for every key of the input
//	... in the writer, once rows ended ok and their journal lines are durable:
//	b.Put(key, fingerprint, time, row) per row; err = st.Commit(&b); b.Reset()
//	... at the end of a complete export:
//	n, err := st.Missing(seen, func(key string, e state.Entry) error { ... })
//	b.Record(run); err = st.Commit(&b)               // the ledger entry
//
// # Storage
//
// The file holds three buckets: keys (match key → fingerprint, time, row; see
// [Entry] for the encoding), runs (the ledger, one JSON document per run under
// a sequence number) and meta (a magic string and the format version). Open
// refuses a file that is not a state database, and one written in a newer
// format, with an error that names the file.
//
// # Durability and crash safety
//
// Every [Store.Commit] is one bbolt transaction: the changed pages are written
// to free space, fsynced, and only then the meta page that makes them current
// is written and fsynced. A process killed at any point (kill -9 included)
// leaves the file holding exactly the transactions whose Commit returned, plus
// possibly the one in flight, whole or not at all. A commit costs two fsyncs,
// so callers batch puts: one Commit per batch of finished rows, never per row.
//
// # Concurrency
//
// A Store is safe for concurrent use. Lookups, Missing, Export and Stats run
// in read transactions that proceed while a Commit is in progress (they see
// the state before it); commits are serialised. A read transaction kept open
// long (Missing or Export over a million keys takes a fraction of a second)
// keeps the pages it sees from being reused, and a commit that must grow the
// file's memory map waits for it, so scan after the last commit of a run.
//
// # Memory
//
// The file is memory-mapped: the pages that lookups read live in the
// operating system's page cache, outside the Go heap, and count in the
// process's RSS only while resident. A commit holds the tree nodes it
// changes on the Go heap until it is written: about 30 MB at the peak for
// commits of 1,000 random keys into a million-key file. [Seen] keeps 8 bytes
// per distinct key.
package state
