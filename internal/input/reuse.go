package input

import "sync/atomic"

// Reusing record memory.
//
// Records are cut from blocks: Record structs in slabs, Fields slices in
// slabs, CSV field text in arenas. Without Release each block is garbage once
// its records are, and a dry run of a million rows allocated about 370 MB
// for the collector to find (a heap profile of validate, 10 columns). With Release the reader takes back a block once
// the caller has released every record cut from it, and cuts later records
// from it. Blocks leave in the order they were filled and records are
// released in row order, so the oldest retired block is the only one that
// can be free: a queue, checked with one atomic load per new block.
//
// A block that held anything read before the first record (the header line,
// whose names live as long as the File) is never reused.

// maxRetiredRows bounds each queue of retired blocks to the blocks of the
// last rows read. A retired block stays live until its rows are released
// and it is reused; a caller whose releases lag further behind its reading
// (one slow row holds back the release of every row after it) lets the
// oldest blocks go to the collector rather than keep them all live. In a
// dry run of a million rows the reader was 23 to 960 rows ahead of the
// last release whenever it reused a block (median 353).
const maxRetiredRows = 4096

// reuse is the reader's side of recycling, shared by its parsers. Only the
// reading goroutine touches it, except released.
type reuse struct {
	// released: every record of a row up to it is the caller's no more. 0:
	// Release was never called, and no block is kept for reuse.
	released atomic.Int64
	// row is the row the record being read will have; 0 before the first
	// record.
	row int64

	records queue[[]Record]
	fields  queue[[]string]
	arenas  queue[[]byte]
}

// block is a block of record memory and the rows it serves.
type block[T any] struct {
	buf   T
	first int64 // the row reading when the block was taken; 0 (the header, or no block yet): never reused
	last  int64 // the row of the last record cut from it
}

// queue holds retired blocks, oldest first.
type queue[T any] struct {
	q    []block[T]
	head int
}

// take starts a block: a retired one every record of which is released, or
// none (ok false), and the caller allocates.
func take[T any](r *reuse, q *queue[T]) (b block[T], ok bool) {
	b.first, b.last = r.row, r.row
	if q.head == len(q.q) || r.row == 0 {
		return b, false
	}
	old := &q.q[q.head]
	if old.last > r.released.Load() {
		return b, false
	}
	b.buf = old.buf
	*old = block[T]{}
	q.head++
	return b, true
}

// retire queues a block the reader is done cutting from, unless it can
// never be reused or reuse is off.
func retire[T any](r *reuse, q *queue[T], b block[T]) {
	if b.first == 0 || r.released.Load() == 0 {
		return
	}
	if q.head > 0 && (q.head == len(q.q) || q.head >= len(q.q)/2) {
		n := copy(q.q, q.q[q.head:])
		clear(q.q[n:])
		q.q, q.head = q.q[:n], 0
	}
	for q.head < len(q.q) && q.q[q.head].last < b.last-maxRetiredRows {
		q.q[q.head] = block[T]{}
		q.head++
	}
	q.q = append(q.q, b)
}

// Release tells the reader that the caller is done with every record of a
// row up to row: their Fields, strings and Raw are never read again, by any
// goroutine. The reader may then reuse their memory for later records.
// Without a call nothing is ever reused. A row lower than an earlier call's
// changes nothing. Safe to call from any goroutine while another reads.
func (f *File) Release(row int64) {
	for {
		old := f.mem.released.Load()
		if row <= old || f.mem.released.CompareAndSwap(old, row) {
			return
		}
	}
}
