package sender

import (
	"compress/gzip"
	"sync"
)

// Request bodies can go gzip-compressed (Config.Gzip, Content-Encoding:
// gzip). It is off by default: whether the API accepts compressed bodies is
// not documented, and on a fast link the CPU costs more than the bytes it
// saves. `make bench` measures both (BENCHMARKS.md): level 1 (BestSpeed),
// the level for a link, not for storage.

// gzipWriters reuses compressors: each holds about a megabyte of tables, far
// more than any body it writes.
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level: no error
	return w
}}

// appender is an io.Writer that appends to a byte slice.
type appender struct{ b []byte }

func (a *appender) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}

// gzipped returns the body's bytes compressed, computed once per body and
// kept for its retries: every attempt sends the same bytes.
func (b *body) gzipped() []byte {
	if b.gz != nil {
		return b.gz
	}
	out := appender{b: b.gzBuf[:0]}
	w := gzipWriters.Get().(*gzip.Writer)
	w.Reset(&out)
	_, _ = w.Write(b.buf) // writes to an appender never fail
	_ = w.Close()
	gzipWriters.Put(w)
	b.gz, b.gzBuf = out.b, out.b
	return b.gz
}
