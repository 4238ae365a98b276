package importer

// Handing the reader's memory back.
//
// The reader cuts records from blocks it can reuse once the caller is done
// with every row cut from them (input.File.Release). The writer is the last
// stage to read a row: the journal line, the rejects line, the state's key
// are written from the record's strings. What outlives a row is a copy: the
// summary's groups, error text, the state's batch and hashes, the phone
// cache, the sender's key hashes.
//
// Rows reach the writer out of order (the sender answers batches as they
// come back), so the writer counts each routed chunk's rows down, and the
// rows of the oldest chunks that are all done are released, in file order.

// chunkDone counts the rows of one routed chunk that the writer has still
// to finish. The dispatcher sets rows before any of them can reach the
// writer; then only the writer touches it.
type chunkDone struct {
	last int64 // the chunk's last row
	rows int   // its rows still to come to the writer
}

// routedChunk records a chunk the dispatcher routed, rows of which go to
// the writer (recorded, or sent first), before any of them is handed on.
// Rows it did not route (another shard's; those left when the run stopped)
// are never the writer's. A chunk with none is released with the next
// chunk the writer finishes.
func (p *pipeline) routedChunk(c *chunkDone, rows int) {
	c.rows = rows
	p.mu.Lock()
	p.routed = append(p.routed, c)
	p.mu.Unlock()
}

// finished counts down a row the writer is done with, recorded or not.
func (p *pipeline) finished(c *chunkDone) {
	if c == nil {
		return
	}
	c.rows--
	if c.rows == 0 {
		p.release()
	}
}

// release hands the reader the rows of the oldest chunks that are done.
// Only the writer calls it.
func (p *pipeline) release() {
	upTo := int64(-1)
	p.mu.Lock()
	for len(p.routed) > 0 && p.routed[0].rows == 0 {
		upTo = p.routed[0].last
		p.routed[0] = nil
		p.routed = p.routed[1:]
	}
	p.mu.Unlock()
	if upTo >= 0 {
		p.in.Release(upTo)
	}
}
