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
//	idx, err := st.Index()                           // the keys as the run begins, in memory
//	keys := state.NewInputKeys(idx)
//	... per mapped row (any goroutine; idx is read only):
//	slot := idx.Lookup(key, fingerprint)             // ≥ 0: the state holds this request
//	... then in input order, on one goroutine:
//	first := keys.AddSlot(slot)  (or keys.Add(key) when slot < 0): unchanged if first
//	... in the writer, once rows ended ok and their journal lines are durable:
//	b.Put(key, fingerprint, time, row) per row; err = st.Commit(&b); b.Reset()
//	... after the run's last Commit of puts:
//	err = st.Fold(ctx)                               // the puts become what the next run reads
//	... at the end of a complete export:
//	n, err := st.Missing(keys.Held(), func(key string, e state.Entry) error { ... })
//	b.Record(run); err = st.Commit(&b)               // the ledger entry
//
// # Staging and folding
//
// Commit does not write puts where lookups read them: it appends them to a
// staging area at the end of the file, which costs the same for any keys
// (a B-tree that receives random keys rewrites a page per key). Lookups
// and Index read the keys as of the last fold, so every lookup of a run
// sees the state as it was when the run started, whatever the run
// committed since (if an input holds a key twice, both rows are compared
// with the state before the run). Fold moves the staged puts into the keys, the last put
// of each key winning: in place when they are few against the keys, or by
// rebuilding the file in key order when they are many (a first run; a
// nightly delta of 1%). See [Store.Fold]. Open folds what a run that died
// before its Fold left staged; Missing, Export, Stats and Forget fold first
// (a read-only store, which cannot, merges the staged puts into what it
// reads).
//
// # Storage
//
// The file holds four buckets: keys (match key → fingerprint, time, row; see
// [Entry] for the encoding), staged (the puts not yet folded, see
// staged.go), runs (the ledger, one JSON document per run under a sequence
// number) and meta (a magic string and the format version). Open refuses a
// file that is not a state database, and one written in a newer format,
// with an error that names the file. Beside the file lie its lock file
// (path+".lock", kept for good) and, while a rebuild runs, the new file
// (path+".rebuild.tmp") and a spill file of sorted runs (unlinked as soon
// as it is created where the system allows). Open removes those a killed
// rebuild left.
//
// # Durability and crash safety
//
// Every [Store.Commit] is one bbolt transaction: the changed pages are written
// to free space, fsynced, and only then the meta page that makes them current
// is written and fsynced. A process killed at any point (kill -9 included)
// leaves the file holding exactly the transactions whose Commit returned, plus
// possibly the one in flight, whole or not at all. A commit costs two fsyncs,
// so callers batch puts: one Commit per batch of finished rows, never per row.
// A fold killed at any point leaves every committed put either folded or
// still staged: a fold in place drops staged puts only in the transaction
// that writes the last of them; a rebuild writes and fsyncs the whole new
// file before it renames it over the old one (and fsyncs the directory).
//
// # Concurrency
//
// A Store is safe for concurrent use. Lookups, Missing, Export and Stats run
// in read transactions that proceed while a Commit is in progress (they see
// the state before it); commits are serialised, and wait while a fold runs.
// Lookups during a fold see some of the staged puts and not others, so a
// run folds after its lookups. A read transaction kept open long (Missing
// or Export over a million keys takes a fraction of a second) keeps the
// pages it sees from being reused, and a commit that must grow the file's
// memory map waits for it, so scan after the last commit of a run.
//
// # Memory
//
// The file is memory-mapped: the pages that lookups read live in the
// operating system's page cache, outside the Go heap, and count in the
// process's RSS only while resident. A commit holds little on the Go heap
// (its batch, and the end of the staging area). A fold holds a chunk of at
// most 64Ki staged puts (8 MiB of keys and entries) and its sort buffers;
// a fold in place also the tree pages of one transaction of 1,000 keys; a
// rebuild one page per level of the new tree and a 64 KiB buffer per
// spilled run. A million-key first run peaks at about 16 MB of heap.
// An [Index] keeps 20 bytes a key of the state (20 MB for a million), and
// [InputKeys] over it a bit a slot of it plus a Seen of the keys it lacks.
// [Seen] keeps 11 to 24 bytes per distinct key (a table of hashes that
// doubles as it fills).
package state
