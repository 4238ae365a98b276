package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"importer/internal/input"
	"importer/internal/mapping"
	"importer/internal/results"
	"importer/internal/sender"
	"importer/internal/state"
)

// chunkSize is how many records travel together between the reader, the
// mapping workers and the dispatcher: big enough to amortise channel hand-offs,
// small enough that a slow API never leaves many mapped rows waiting.
const chunkSize = 64

// item is one record on its way through the pipeline.
type item struct {
	rec   *input.Record
	other bool             // another shard's row (--shard): neither mapped nor recorded
	key   string           // the row's match key when known before Map (--shard) or after it failed
	req   *mapping.Request // nil when the row is invalid
	err   error            // the row's input or mapping error
	body  []byte           // the single-profile body for --payloads, token "***"

	fp        state.Fingerprint // with --state: what the row would send (set-only rows)
	hasFP     bool
	stored    bool  // with --state: the state holds fp for the row's key (set by the mapping worker)
	slot      int32 // with --state, when stored: the slot of the state's index that holds it
	unchanged bool  // with --state: the same request was applied at the key's last ok
	// resumedOK: an earlier run's journal has this row ok; with --state it
	// is mapped only for its fingerprint, which the state may have missed
	// (the earlier run died before its last state commit).
	resumedOK bool
}

// chunk is a run of consecutive records; done is closed once every item is
// mapped, so the dispatcher can take chunks in file order while the workers
// finish them in any order.
type chunk struct {
	items []item
	done  chan struct{}
}

// outcome is one finished row on its way to the writer.
type outcome struct {
	row       results.Row
	kind      string // error group label
	column    string // the column an invalid row failed on
	fields    []string
	raw       []byte
	announced bool             // recorded in flight in the journal (a row using incr/add/delete)
	req       *mapping.Request // a sent row's request, released when its result comes
	fp        state.Fingerprint
	hasFP     bool // with --state: stored when the row ends ok
	stateOnly bool // an earlier run's ok row: stored in the state, no journal line
	stopped   bool // not applied because the run stopped: journal line only (--resume sends it)
	// more holds the error groups of an invalid row's other problems (a
	// row reports every bad column; each is grouped in the summary).
	more []errorKind
}

// errorKind is one summary group: a kind of error and its column.
type errorKind struct{ kind, column string }

type pipeline struct {
	mode         Mode
	in           *input.File
	mapper       *mapping.Mapper
	prev         *results.Previous
	retryUnknown bool // send rows prev left unknown
	shardK       int
	shardN       int
	pool         *sender.Pool
	envelope     []byte // for payload dumps
	journal      *results.Journal
	rejects      *results.Rejects
	payloads     *results.Payloads
	budget       maxErrors
	sum          *results.Summary
	log          *slog.Logger

	stop       context.CancelCauseFunc // stops reading and sending; the cause decides the verdict
	stopCtx    context.Context
	mu         sync.Mutex
	inflight   inflightRows   // rows out with the sender: all but the API's answer
	freeOuts   chan []outcome // outcome slices the writer recorded, for the dispatcher to reuse
	freeChunks chan *chunk    // chunks the dispatcher routed, for the reader to reuse

	// counters shared with the progress reporter
	done, ok, bad, notSent, skipped atomic.Int64
	skippedUnknown, nread           atomic.Int64 // nread: every record read, skipped ones too
	passed                          atomic.Int64 // rows read that this run will not finish: skipped, other shards
	eof                             atomic.Bool  // the reader reached the end of the input
	rejected                        int64        // writer-owned

	readErr error // fatal reading error (reader-owned until the reader ends)

	// streaming: the input arrives over time (see readStream), whose
	// reading goroutine closes streamDone when it ends.
	streaming  bool
	streamDone chan struct{}

	delta *delta // with --state: skip unchanged rows, remember ok ones

	limit   int64       // > 0: read only the first limit data rows (--limit)
	limited atomic.Bool // the limit ended reading: the input was not read to its end
}

// run drives the stages until every row read has an outcome (or the run was
// stopped), and returns why it stopped: nil, the context's error, a fatal
// error, or ErrMaxErrors.
func (p *pipeline) run(ctx context.Context) error {
	p.stopCtx, p.stop = context.WithCancelCause(ctx)
	defer p.stop(nil)

	workers := max(1, runtime.GOMAXPROCS(0))
	work := make(chan *chunk, workers*2)
	ordered := make(chan *chunk, workers*4)
	local := make(chan []outcome, workers*2) // one slice per chunk: a channel hand-off per row cost more than the row
	p.freeOuts = make(chan []outcome, workers*2+2)
	p.freeChunks = make(chan *chunk, workers*4+2)
	var sent chan []sender.Result
	var jobs chan []sender.Job

	var wg sync.WaitGroup
	wg.Go(func() { p.read(work, ordered) })
	for range workers {
		wg.Go(func() { p.mapChunks(work) })
	}

	var poolErr error
	poolDone := make(chan struct{})
	if p.pool != nil {
		sent = make(chan []sender.Result, 16) // small: a result waiting here is lost to a kill -9
		jobs = make(chan []sender.Job)
		go func() {
			defer close(poolDone)
			poolErr = p.pool.Run(p.stopCtx, jobs, sent)
			if poolErr != nil && !errors.Is(poolErr, context.Canceled) {
				p.stop(poolErr)
			}
			close(sent)
		}()
	} else {
		close(poolDone)
	}

	wg.Go(func() { p.dispatch(ordered, jobs, local) })

	writerErr := p.write(local, sent)
	wg.Wait()
	<-poolDone

	switch cause := context.Cause(p.stopCtx); {
	case writerErr != nil:
		return writerErr
	case p.readErr != nil:
		return p.readErr
	case poolErr != nil && !errors.Is(poolErr, context.Canceled):
		return poolErr
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(cause, ErrMaxErrors):
		return ErrMaxErrors
	}
	return nil
}

// read streams records into chunks, skipping rows a previous run finished.
func (p *pipeline) read(work, ordered chan<- *chunk) {
	defer close(work)
	defer close(ordered)
	newChunk := p.newChunk
	c := newChunk()
	flush := func() bool {
		if len(c.items) == 0 {
			return true
		}
		select {
		case ordered <- c:
		case <-p.stopCtx.Done():
			p.notSent.Add(int64(len(c.items)))
			return false
		}
		work <- c // never blocks for long: workers drain work until it closes
		c = newChunk()
		return true
	}
	add := func(rec *input.Record) bool {
		if p.limit > 0 && rec.Row > p.limit {
			p.limited.Store(true)
			return false
		}
		it := item{rec: rec}
		if p.skip(rec) {
			if p.delta == nil || !p.prev.OK(rec.Row) || rec.Err != nil {
				return true
			}
			it.resumedOK = true
		}
		c.items = append(c.items, it)
		return len(c.items) < chunkSize || flush()
	}
	var ended bool
	if p.streaming {
		ended = p.readStream(add, flush)
	} else {
		ended = p.readFile(add)
	}
	if p.limited.Load() && p.stopCtx.Err() == nil {
		flush() // --limit: the rows before it are the whole run
		return
	}
	if !ended || p.stopCtx.Err() != nil {
		p.notSent.Add(int64(len(c.items)))
		return
	}
	flush()
}

// readFile feeds add every record of a file that is all there (a regular
// file): each Read returns at once, so chunks fill without waiting. It
// reports whether the input ended (EOF or a fatal error) rather than the
// run stopping.
func (p *pipeline) readFile(add func(*input.Record) bool) bool {
	for p.stopCtx.Err() == nil {
		rec, err := p.in.Read()
		if err != nil {
			p.readFailed(err)
			return true
		}
		if !add(rec) {
			return false
		}
	}
	return false
}

// streamLinger is how long a partial chunk of a streamed input waits for
// more rows before it goes on: a row from a pipe is sent within about this.
const streamLinger = 20 * time.Millisecond

// readStream is readFile for an input that arrives over time (stdin, a
// pipe, a download): Read may block until the producer writes. A goroutine
// reads; this loop sends a partial chunk on when no row came for
// streamLinger, and returns as soon as the run stops, without waiting for
// a Read that may never return (the reading goroutine ends with it).
func (p *pipeline) readStream(add func(*input.Record) bool, flush func() bool) bool {
	type read struct {
		rec *input.Record
		err error
	}
	recs := make(chan read, chunkSize)
	p.streamDone = make(chan struct{})
	go func() {
		defer close(p.streamDone)
		for {
			rec, err := p.in.Read()
			select {
			case recs <- read{rec, err}:
			case <-p.stopCtx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	linger := time.NewTimer(streamLinger)
	defer linger.Stop()
	for {
		select {
		case r := <-recs:
			if r.err != nil {
				p.readFailed(r.err)
				return true
			}
			if !add(r.rec) {
				return false
			}
			linger.Reset(streamLinger)
		case <-linger.C:
			if !flush() {
				return false
			}
		case <-p.stopCtx.Done():
			return false
		}
	}
}

// readFailed ends reading: quietly at EOF, else stopping the run with the
// input's error (which names the file and line).
func (p *pipeline) readFailed(err error) {
	if errors.Is(err, io.EOF) {
		p.eof.Store(true)
	} else {
		p.readErr = err
		p.stop(p.readErr)
	}
}

// skip counts a record read and reports whether an earlier run settled it:
// ok, or unknown (its request may have been applied) unless retryUnknown.
func (p *pipeline) skip(rec *input.Record) bool {
	p.nread.Add(1)
	switch {
	case p.prev == nil:
		return false
	case p.prev.OK(rec.Row):
		p.skipped.Add(1)
	case !p.retryUnknown && p.prev.Unknown(rec.Row):
		p.skippedUnknown.Add(1)
	default:
		return false
	}
	p.passed.Add(1)
	if p.delta != nil && rec.Err == nil && !p.prev.OK(rec.Row) {
		// The input still holds the key: it is not missing. (Rows ok in
		// the journal are mapped for the state anyway: see resumedOK.)
		if key, ok := p.mapper.Key(rec); ok {
			p.delta.see(key)
		}
	}
	return true
}

// mapChunks maps records in parallel; order is restored by the dispatcher.
func (p *pipeline) mapChunks(work <-chan *chunk) {
	for c := range work {
		for i := range c.items {
			p.mapItem(&c.items[i])
		}
		if p.delta != nil {
			p.delta.lookup(c)
		}
		close(c.done)
	}
}

func (p *pipeline) mapItem(it *item) {
	defer func() {
		// A mapper bug must cost one row, not the run.
		if r := recover(); r != nil {
			it.req, it.err = nil, fmt.Errorf("internal error mapping row %d: %v", it.rec.Row, r)
		}
	}()
	keyKnown := false
	if p.shardN > 1 {
		// The key decides the shard even when the row turns out invalid,
		// and another shard's row costs only its key, not its phones and
		// dates. Rows without a usable key spread by row number.
		shard := int(it.rec.Row % int64(p.shardN))
		var ok bool
		if it.key, ok = p.mapper.Key(it.rec); ok {
			shard = ShardOf(it.key, p.shardN)
		}
		if shard != p.shardK {
			it.other = true
			return
		}
		keyKnown = true
	}
	if it.rec.Err != nil {
		it.err = it.rec.Err
		return
	}
	req, err := p.mapper.Map(it.rec)
	if err != nil {
		it.err = err
		if !keyKnown {
			it.key, _ = p.mapper.Key(it.rec) // so the journal says whose row failed
		}
		return
	}
	it.req = req
	if p.delta != nil && !req.Risky && req.Key != "" {
		it.fp, it.hasFP = p.delta.fingerprint(req), true
	}
	if p.payloads != nil {
		it.body = sender.AppendSingleBody(nil, "***", p.envelope, req)
	}
}

// dispatch takes mapped chunks in file order and routes each row: invalid
// rows and dry-run verdicts straight to the writer, valid rows to the sender.
func (p *pipeline) dispatch(ordered <-chan *chunk, jobs chan<- []sender.Job, local chan<- []outcome) {
	defer close(local)
	if jobs != nil {
		defer close(jobs)
	}
	for c := range ordered {
		<-c.done
		if p.delta != nil && p.stopCtx.Err() == nil {
			p.delta.mark(c)
		}
		outs := p.outsSlice()
		var send []sender.Job
		for i := range c.items {
			if p.stopCtx.Err() != nil {
				p.notSent.Add(int64(len(c.items) - i))
				break
			}
			it, sent := &c.items[i], len(send)
			outs, send = p.route(it, outs, send)
			if it.req != nil && len(send) == sent {
				it.req.Release() // not sent: its outcome holds no part of it
			}
			it.req = nil // a sent one is the sender's until its result
		}
		if len(outs) > 0 {
			p.emit(local, outs)
		} else {
			p.recycleOuts(outs)
		}
		if len(send) > 0 {
			p.send(jobs, send)
		}
		p.recycleChunk(c)
	}
}

// newChunk is an empty chunk: one the dispatcher is done with, or a new
// one (a chunk's items are about as many bytes as its outcomes).
func (p *pipeline) newChunk() *chunk {
	select {
	case c := <-p.freeChunks:
		return c
	default:
		return &chunk{items: make([]item, 0, chunkSize), done: make(chan struct{})}
	}
}

// recycleChunk hands a routed chunk back to the reader. Every stage is
// done with it: the workers closed done, and what the writer and the
// sender got (records, requests) is not part of the chunk. Its items are
// overwritten whole by the next appends.
func (p *pipeline) recycleChunk(c *chunk) {
	c.items, c.done = c.items[:0], make(chan struct{})
	select {
	case p.freeChunks <- c:
	default:
	}
}

// route appends a valid row to send, for the sender, or its outcome
// (invalid, unchanged, or valid in a dry run) to outs, for the writer.
func (p *pipeline) route(it *item, outs []outcome, send []sender.Job) ([]outcome, []sender.Job) {
	rec := it.rec
	if it.other {
		p.passed.Add(1)
		return outs, send
	}
	if it.resumedOK {
		if it.hasFP {
			return append(outs, outcome{row: results.Row{Row: rec.Row, Key: it.req.Key}, fp: it.fp, hasFP: true, stateOnly: true}), send
		}
		if it.req != nil {
			p.delta.see(it.req.Key)
		}
		return outs, send
	}
	if p.delta != nil && !it.hasFP {
		k := it.key
		if it.req != nil {
			k = it.req.Key
		}
		p.delta.see(k)
	}
	if it.err != nil {
		groups := errorGroups(it.err)
		return append(outs, outcome{
			row: results.Row{
				Row: rec.Row, Line: rec.Line, Key: it.key, Status: results.StatusInvalid,
				ErrorCode: slug(groups[0].kind), Error: it.err.Error(),
			},
			kind: groups[0].kind, column: groups[0].column, more: groups[1:], fields: rec.Fields, raw: rec.Raw,
		}), send
	}
	if p.payloads != nil {
		if err := p.payloads.Write(rec.Row, it.body); err != nil {
			p.stop(fmt.Errorf("payloads: %w", err))
			return outs, send
		}
	}
	if p.mode == ModeValidate || it.unchanged {
		st := results.StatusValid
		if it.unchanged {
			st = results.StatusUnchanged
		}
		return append(outs, outcome{row: results.Row{
			Row: rec.Row, Line: rec.Line, Key: it.req.Key, Status: st,
		}}), send
	}
	p.mu.Lock()
	id := p.inflight.add(outcome{row: results.Row{Row: rec.Row, Line: rec.Line, Key: it.req.Key}, fields: rec.Fields, raw: rec.Raw,
		fp: it.fp, hasFP: it.hasFP, req: it.req})
	p.mu.Unlock()
	if send == nil {
		send = make([]sender.Job, 0, chunkSize)
	}
	return outs, append(send, sender.Job{ID: id, Key: it.req.Key, Risky: it.req.Risky, Payload: it.req})
}

// send hands a chunk's rows to the sender in one hand-off; if the run
// stops first, they were never sent.
func (p *pipeline) send(jobs chan<- []sender.Job, send []sender.Job) {
	select {
	case jobs <- send:
	case <-p.stopCtx.Done():
		p.mu.Lock()
		for _, j := range send {
			if o := p.inflight.take(j.ID); o.req != nil {
				o.req.Release()
			}
		}
		p.mu.Unlock()
		p.notSent.Add(int64(len(send)))
	}
}

// outsSlice is an empty slice for a chunk's outcomes: one the writer
// recorded and handed back, or a new one. An outcome is a few hundred
// bytes, so a new slice a chunk was a tenth of validate's allocation.
func (p *pipeline) outsSlice() []outcome {
	select {
	case o := <-p.freeOuts:
		return o
	default:
		return make([]outcome, 0, chunkSize)
	}
}

// recycleOuts hands a recorded chunk's slice back for another chunk. Its
// elements are not cleared: each append overwrites a whole element, and
// what the stale ones hold (a few chunks' rows) is bounded by the list.
func (p *pipeline) recycleOuts(o []outcome) {
	select {
	case p.freeOuts <- o[:0]:
	default:
	}
}

func (p *pipeline) emit(local chan<- []outcome, o []outcome) {
	select {
	case local <- o:
	case <-p.stopCtx.Done():
		// The writer keeps draining until local closes, so this send can
		// still be taken; prefer delivering a finished row over dropping it.
		local <- o
	}
}

// ShardOf returns the 0-based shard of a match key among n shards: FNV-1a
// (64-bit) of the key, modulo n. Shards of one file are often run by
// different versions of the importer, so this must never change
// (TestShardOfIsFNV1a holds it to hash/fnv). Written out rather than
// through hash/fnv, which would allocate for every row.
func ShardOf(key string, n int) int {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= prime64
	}
	return int(h % uint64(n))
}

// write is the only goroutine that touches the journal, the rejects file and
// the summary. It returns a fatal error when a file cannot be written.
func (p *pipeline) write(local <-chan []outcome, sent <-chan []sender.Result) error {
	var werr error
	for local != nil || sent != nil {
		// Before waiting, hand every finished row to the OS: after a kill -9
		// only rows still in flight are sent again on --resume. Under load the
		// channels are rarely empty, so lines still go out in large writes.
		// A dry run of a file has nothing in flight and its writer waits
		// after every chunk: its lines go out by size and age (a write of
		// 64 KiB instead of one per chunk of 3.5 KiB).
		if werr == nil && len(local) == 0 && len(sent) == 0 && (p.pool != nil || p.streaming) {
			if err := p.journal.Flush(); err != nil {
				werr = fmt.Errorf("results: %w", err)
				p.stop(werr)
			}
		}
		select {
		case outs, ok := <-local:
			if !ok {
				local = nil
				continue
			}
			for i := range outs {
				if werr == nil { // else keep draining so no stage blocks; the run is already failing
					werr = p.record(&outs[i])
				}
			}
			p.release(outs)
			p.recycleOuts(outs)
		case rs, ok := <-sent:
			if !ok {
				sent = nil
				continue
			}
			for _, r := range rs {
				if o, keep := p.fromSender(r); keep && werr == nil {
					werr = p.record(&o)
				}
			}
		}
		if werr != nil {
			p.stop(werr)
		}
	}
	if werr == nil {
		if err := p.journal.Flush(); err != nil {
			werr = fmt.Errorf("results: %w", err)
		}
	}
	p.sum.NotSent = p.notSent.Load()
	p.sum.Skipped = p.skipped.Load()
	p.sum.SkippedUnknown = p.skippedUnknown.Load()
	return werr
}

// release hands the reader back the memory of the rows up to the last of
// outs, when nothing can read them again. Without a sender every row's last
// stop is here, in file order: the dispatcher routed the rows before them
// and the writer recorded them; what outlives a row (summary groups, error
// text, the state's hashes, the phone cache) is copied. With a sender, rows
// finish out of order and the reader's memory is left to the collector.
func (p *pipeline) release(outs []outcome) {
	if p.pool == nil && len(outs) > 0 {
		p.in.Release(outs[len(outs)-1].row.Row)
	}
}

// fromSender turns a sender result into an outcome; canceled rows were never
// finished and are left for --resume.
func (p *pipeline) fromSender(r sender.Result) (outcome, bool) {
	p.mu.Lock()
	o := p.inflight.take(r.ID)
	p.mu.Unlock()
	if o.req != nil {
		// The sender sends a job's result after its last use of the
		// payload (retries, splits and single resends included).
		o.req.Release()
		o.req = nil
	}
	row := &o.row
	row.ProfileID, row.ErrorCode, row.Error, row.Attempts = r.ProfileID, r.Code, r.Error, r.Attempts
	switch r.Status {
	case sender.OK:
		row.Status = results.StatusOK
	case sender.Failed:
		row.Status = results.StatusFailed
	case sender.Unknown:
		row.Status = results.StatusUnknown
	default:
		if !o.announced {
			p.notSent.Add(1)
			return outcome{}, false
		}
		// Recorded in flight, then every attempt was refused (the reply
		// proved nothing applied) and the run stopped before a retry:
		// the in-flight line must not stand, or --resume would take the
		// row for unknown. A failed line clears it; the row is counted as
		// not sent and kept out of the rejects, since --resume sends it
		// (sending it from the rejects file too would apply it twice).
		row.Status = results.StatusFailed
		if row.Error == "" {
			row.Error = "not sent: the run stopped"
		}
		o.stopped = true
	}
	if row.Status != results.StatusOK {
		o.kind = strings.TrimSpace(apiErrorKind(r.Code, r.Error))
	}
	return o, true
}

// inFlight records rows using incr/add/delete in the journal before the
// first request holding them is sent (the sender calls it, from its
// goroutines): if the run dies during that request, --resume finds them
// unknown and does not send them again.
func (p *pipeline) inFlight(ids []int64) error {
	rows := make([]results.Row, 0, len(ids))
	p.mu.Lock()
	for _, id := range ids {
		o := p.inflight.at(id)
		o.announced = true
		rows = append(rows, results.Row{Row: o.row.Row, Line: o.row.Line, Key: o.row.Key})
	}
	p.mu.Unlock()
	return p.journal.WriteInFlight(rows)
}

// rowsRead is how many records the run read, skipped ones included.
func (p *pipeline) rowsRead() int64 { return p.nread.Load() }

// record writes one finished row everywhere it belongs and applies the
// error budget.
func (p *pipeline) record(o *outcome) error {
	if o.stateOnly {
		now := p.journal.Now()
		p.delta.put(o, now)
		return p.delta.commitIfDue(p.journal, now)
	}
	if o.stopped {
		p.notSent.Add(1)
		if err := p.journal.Write(&o.row); err != nil {
			return fmt.Errorf("results: %w", err)
		}
		return nil
	}
	if err := p.journal.Write(&o.row); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	p.sum.Add(&o.row, o.kind, o.column)
	for _, g := range o.more {
		p.sum.Group(o.row.Row, g.kind, g.column)
	}
	p.done.Add(1)
	switch o.row.Status {
	case results.StatusOK, results.StatusValid, results.StatusUnchanged:
		p.ok.Add(1)
		if p.delta != nil && o.hasFP && o.row.Status == results.StatusOK {
			now := p.journal.Now()
			p.delta.put(o, now)
			if err := p.delta.commitIfDue(p.journal, now); err != nil {
				return err
			}
		}
		return nil
	}
	p.bad.Add(1)
	if p.rejects != nil {
		if err := p.rejects.Write(o.fields, o.raw, o.row.Error); err != nil {
			return fmt.Errorf("rejects: %w", err)
		}
		p.rejected++
	}
	if p.budget.exceeded(p.bad.Load(), p.done.Load()) && context.Cause(p.stopCtx) == nil {
		p.log.Warn("stopping: the error budget is spent", "max_errors", p.budget.String(),
			"bad_rows", p.bad.Load(), "finished_rows", p.done.Load())
		p.stop(ErrMaxErrors)
	}
	return nil
}

// verdict combines why the pipeline stopped with how the files closed.
func (p *pipeline) verdict(runErr, closeErr error) error {
	switch {
	case closeErr != nil:
		return errors.Join(runErr, closeErr)
	case runErr == nil:
	case errors.Is(runErr, context.Canceled), errors.Is(runErr, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrInterrupted, runErr)
	default:
		return runErr
	}
	if p.bad.Load() > 0 {
		return fmt.Errorf("%w: %d of %d rows", ErrRowErrors, p.bad.Load(), p.done.Load())
	}
	if n := p.skippedUnknown.Load(); n > 0 {
		// Skipped, not settled: their outcome is still unknown, so the
		// input is not all ok, whatever this run sent.
		return fmt.Errorf("%w: %d rows left unknown by an earlier run", ErrRowErrors, n)
	}
	return nil
}

// errorGroup returns the summary's group label and column for a row error.
func errorGroup(err error) (kind, column string) {
	var fe *mapping.FieldError
	if errors.As(err, &fe) {
		return fe.Kind, fe.Column
	}
	var re *input.RowError
	if errors.As(err, &re) {
		return re.Kind().Error(), re.Name
	}
	return "internal error", ""
}

// errorGroups is errorGroup for each problem of a row (a row that failed
// on several columns counts in each one's group); never empty.
func errorGroups(err error) []errorKind {
	var all mapping.RowErrors
	if errors.As(err, &all) && len(all) > 0 {
		out := make([]errorKind, len(all))
		for i, fe := range all {
			out[i] = errorKind{fe.Kind, fe.Column}
		}
		return out
	}
	kind, column := errorGroup(err)
	return []errorKind{{kind, column}}
}

// apiErrorKind labels a failed request for grouping: the API's code and text.
func apiErrorKind(code, text string) string {
	switch {
	case code == "":
		return text
	case code[0] >= '0' && code[0] <= '9': // the API's own error code
		return "API error " + code + ": " + text
	}
	return code + ": " + text // HTTP 503, timeout, network, reply, redirect ...
}

// slug turns a group label into a machine-friendly error_code.
func slug(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '_'
	}, s)
}

// counters exposes the live counts to the progress reporter.
func (p *pipeline) counters() *counters {
	return &counters{done: &p.done, ok: &p.ok, bad: &p.bad, read: &p.nread, passed: &p.passed, eof: &p.eof}
}
