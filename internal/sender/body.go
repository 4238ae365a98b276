package sender

import (
	"bytes"
	"io"
	"sync"
	"sync/atomic"

	"importer/internal/jsonenc"
)

// AppendSingleBody appends the JSON body of a single-profile request to dst:
// `{"token":<token>,` + envelope + `,` + p.AppendSingle + `}`. An empty token
// leaves the token member out (Bearer auth, or a dump that must not show it;
// the payload dump passes "***"). An empty envelope or payload adds no
// member, so the result is valid JSON whenever envelope and the payload's
// members are. It never fails and is safe for concurrent use.
func AppendSingleBody(dst []byte, token string, envelope []byte, p Payload) []byte {
	dst = appendHead(dst, token, envelope)
	mark := len(dst)
	if mark > 0 && dst[mark-1] != '{' {
		dst = append(dst, ',')
	}
	grown := p.AppendSingle(dst)
	if len(grown) == len(dst) { // no members: drop the separator
		grown = grown[:mark]
	}
	return append(grown, '}')
}

// AppendBatchBody appends the JSON body of a batch request to dst:
// `{"token":<token>,` + envelope + `,"data":[` + items + `]}`, each item from
// its AppendItem. The token rule is that of [AppendSingleBody]. It never
// fails and is safe for concurrent use.
func AppendBatchBody(dst []byte, token string, envelope []byte, items []Payload) []byte {
	dst = appendBatchHead(dst, token, envelope)
	for i, it := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = it.AppendItem(dst)
	}
	return appendBatchTail(dst)
}

// appendHead writes `{` and the token and envelope members, without a
// trailing comma.
func appendHead(dst []byte, token string, envelope []byte) []byte {
	dst = append(dst, '{')
	if token != "" {
		dst = append(dst, `"token":`...)
		dst = jsonenc.AppendString(dst, token)
	}
	if len(envelope) > 0 {
		if token != "" {
			dst = append(dst, ',')
		}
		dst = append(dst, envelope...)
	}
	return dst
}

func appendBatchHead(dst []byte, token string, envelope []byte) []byte {
	dst = appendHead(dst, token, envelope)
	if dst[len(dst)-1] != '{' {
		dst = append(dst, ',')
	}
	return append(dst, `"data":[`...)
}

func appendBatchTail(dst []byte) []byte { return append(dst, "]}"...) }

// Buffers for request bodies and replies come from pools, boxed so that
// returning one allocates nothing. Buffers above maxPooled are left to the
// garbage collector so one huge batch does not pin its memory forever.
const maxPooled = 16 << 20

// buffer is a pooled byte slice: a reply being read.
type buffer struct{ b []byte }

var bufferPool = sync.Pool{New: func() any { return &buffer{b: make([]byte, 0, 4<<10)} }}

func getBuffer() *buffer {
	x := bufferPool.Get().(*buffer)
	x.b = x.b[:0]
	return x
}

// free returns x to the pool; x must not be used after.
func (x *buffer) free() {
	if x != nil && cap(x.b) <= maxPooled {
		bufferPool.Put(x)
	}
}

// body is an encoded request body shared by the attempts of one request.
// The transport may still read a request body after Do returns (RoundTrip
// closes it, possibly later, from its own goroutine), so the body goes
// back to the pool only when every reader handed out has been closed and
// the owner has released it: a reference count, not a wait.
type body struct {
	buf  []byte
	refs atomic.Int32
	// gz is buf gzip-compressed, once a request asked for it (Config.Gzip);
	// gzBuf keeps its storage for the next use of a pooled body.
	gz, gzBuf []byte
	// plain: not pooled, handed to the transport as a *bytes.Reader. The
	// transport writes the headers and a body of a type it knows to be in
	// memory in one write; any other type (the pooled reader below) makes
	// it flush the headers first: two writes, two syscalls per request.
	// Single-profile bodies are small, so they are plain; batch bodies
	// (up to 10 MB) are pooled, where one more write does not matter.
	plain bool
}

var bodyPool = sync.Pool{New: func() any { return &body{buf: make([]byte, 0, 4<<10)} }}

// newBody returns an empty body holding the owner's reference.
func newBody() *body {
	b := bodyPool.Get().(*body)
	b.buf, b.gz = b.buf[:0], nil
	b.refs.Store(1)
	return b
}

// newPlainBody returns an empty body that is not pooled (see body.plain).
func newPlainBody(size int) *body {
	return &body{buf: make([]byte, 0, size), plain: true}
}

// release drops one reference; the last one returns the body to the pool.
func (b *body) release() {
	if b.plain {
		return
	}
	if b.refs.Add(-1) == 0 && cap(b.buf) <= maxPooled && cap(b.gzBuf) <= maxPooled {
		bodyPool.Put(b)
	}
}

// reader returns a new reader over wire (the body's bytes as sent: buf, or
// gz) holding its own reference.
func (b *body) reader(wire []byte) io.ReadCloser {
	if b.plain {
		return io.NopCloser(bytes.NewReader(wire))
	}
	b.refs.Add(1)
	r := &bodyReader{b: b}
	r.Reset(wire)
	return r
}

type bodyReader struct {
	bytes.Reader
	b      *body
	closed atomic.Bool
}

// Close releases the reader's reference once, however often it is called.
func (r *bodyReader) Close() error {
	if r.closed.CompareAndSwap(false, true) {
		r.b.release()
	}
	return nil
}
