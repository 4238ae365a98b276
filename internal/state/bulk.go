package state

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"os"
)

// A rebuild writes the new file's pages itself, in bbolt's file format
// (version 2), instead of putting the keys through bbolt: the keys arrive in
// order, so every page can be written once, full, in file order. Putting a
// million keys in order through bbolt's API costs about 1 µs of CPU a key
// (a cursor seek, a copy of the key, a search of the growing node, then the
// node's split and write at commit); writing the pages costs a tenth of
// that (BenchmarkLoad compares the two). The file is what bbolt itself
// would write for the same keys with FillPercent 1.0, and bbolt checks it
// when it opens it (it walks every page to rebuild its free-page list); the
// tests run bbolt's full consistency check on rebuilt files.
//
// The format, in the machine's byte order (bbolt writes its structures as
// they lie in memory):
//
//   - page header, 16 bytes: page id (uint64), flags (uint16: 0x01 branch,
//     0x02 leaf, 0x04 meta), element count (uint16), overflow (uint32: how
//     many pages past the first the page spans);
//   - leaf element, 16 bytes: flags (uint32: 0x01 for a bucket), pos
//     (uint32: from the element to its key), key size, value size; keys and
//     values follow all the elements, in order;
//   - branch element, 16 bytes: pos (uint32), key size (uint32), child page
//     id (uint64); the key is the first key under that child;
//   - bucket value: the bucket's root page id and sequence (uint64 each);
//     root 0 means the bucket's only page follows inline (a bucket smaller
//     than a quarter page is stored so);
//   - meta (pages 0 and 1, after the page header): magic 0xED0CDAED,
//     version 2, page size, flags (uint32 each), the root bucket (root page,
//     sequence), the free-list page (all ones: none, bbolt rebuilds the
//     list at open, as the store's NoFreelistSync has it do anyway), the
//     number of pages, the transaction id (uint64 each), and the FNV-64a of
//     all that (uint64).

const (
	pageHeaderSize = 16
	elemSize       = 16
	bucketHdrSize  = 16

	flagBranch = 0x01
	flagLeaf   = 0x02
	flagMeta   = 0x04

	leafFlagBucket = 0x01

	boltMagic   = 0xED0CDAED
	boltVersion = 2
	noFreelist  = ^uint64(0)
)

var ne = binary.NativeEndian

// bulkFile writes a bbolt file from scratch: pages are given ids in the
// order they are written, from page 2 on; the two meta pages come last.
type bulkFile struct {
	f        *os.File
	w        *bufio.Writer
	pageSize int
	next     uint64 // the id of the next page written
	scratch  []byte
}

func newBulkFile(path string, pageSize int) (*bulkFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(int64(2*pageSize), 0); err != nil {
		f.Close()
		return nil, err
	}
	return &bulkFile{f: f, w: bufio.NewWriterSize(f, 1<<20), pageSize: pageSize, next: 2}, nil
}

// page returns a zeroed buffer for a page of size bytes (whole pages).
func (bf *bulkFile) page(size int) []byte {
	n := (size + bf.pageSize - 1) / bf.pageSize * bf.pageSize
	if cap(bf.scratch) < n {
		bf.scratch = make([]byte, n)
	}
	p := bf.scratch[:n]
	clear(p)
	return p
}

// write writes a page built in p (from page), giving it the next id, and
// returns that id.
func (bf *bulkFile) write(p []byte) (uint64, error) {
	id := bf.next
	pages := len(p) / bf.pageSize
	ne.PutUint64(p[0:], id)
	ne.PutUint32(p[12:], uint32(pages-1))
	bf.next += uint64(pages)
	_, err := bf.w.Write(p)
	return id, err
}

// finish writes the meta pages for the root bucket's page root, fsyncs and
// closes the file.
func (bf *bulkFile) finish(root uint64) error {
	if err := bf.w.Flush(); err != nil {
		bf.f.Close()
		return err
	}
	for txid := range uint64(2) {
		p := bf.page(bf.pageSize)
		ne.PutUint64(p[0:], txid) // meta page i holds transaction i
		ne.PutUint16(p[8:], flagMeta)
		m := p[pageHeaderSize:]
		ne.PutUint32(m[0:], boltMagic)
		ne.PutUint32(m[4:], boltVersion)
		ne.PutUint32(m[8:], uint32(bf.pageSize))
		ne.PutUint64(m[16:], root)
		ne.PutUint64(m[32:], noFreelist)
		ne.PutUint64(m[40:], bf.next)
		ne.PutUint64(m[48:], txid)
		h := fnv.New64a()
		h.Write(m[:56])
		ne.PutUint64(m[56:], h.Sum64())
		if _, err := bf.f.WriteAt(p, int64(txid)*int64(bf.pageSize)); err != nil {
			bf.f.Close()
			return err
		}
	}
	err := bf.f.Sync()
	if cerr := bf.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// close abandons the file (the caller removes it).
func (bf *bulkFile) close() { bf.f.Close() }

// treeBuilder writes one bucket's B+tree from keys given in increasing
// order: it fills a leaf page until the next key would not fit (but with
// two keys at least), writes it,
// and hands its first key and id to the level above, which fills branch
// pages the same way. It holds one page per level in memory.
type treeBuilder struct {
	bf     *bulkFile
	levels []*level
}

// level collects the elements of the page being filled at one height of
// the tree (0: leaves).
type level struct {
	leaf  bool
	data  []byte // keys (and values) of the elements, back to back
	elems []pending
	size  int // the page's size with these elements
	pages int // pages written at this level
	last  uint64
}

type pending struct {
	k, v  span
	flags uint32
	child uint64
}

func newTreeBuilder(bf *bulkFile) *treeBuilder {
	return &treeBuilder{bf: bf, levels: []*level{{leaf: true, size: pageHeaderSize}}}
}

// add appends a key (bucket entries have flags leafFlagBucket).
func (t *treeBuilder) add(k, v []byte, flags uint32) error {
	return t.addAt(0, k, v, flags, 0)
}

func (t *treeBuilder) addAt(h int, k, v []byte, flags uint32, child uint64) error {
	lv := t.levels[h]
	n := elemSize + len(k) + len(v)
	// A page holds at least two elements, as bbolt's own pages do: with
	// keys longer than a page, a page of one would make a level of branch
	// pages as many as the level below, and the tree would never reach a
	// root.
	if len(lv.elems) >= 2 && lv.size+n > t.bf.pageSize {
		if err := t.flush(h); err != nil {
			return err
		}
	}
	e := pending{flags: flags, child: child}
	e.k.off = len(lv.data)
	lv.data = append(lv.data, k...)
	e.k.end = len(lv.data)
	e.v.off = e.k.end
	lv.data = append(lv.data, v...)
	e.v.end = len(lv.data)
	lv.elems = append(lv.elems, e)
	lv.size += n
	return nil
}

// flush writes level h's page and adds it to the level above (an empty
// page, the root of an empty tree, has no first key to add).
func (t *treeBuilder) flush(h int) error {
	lv := t.levels[h]
	id, err := t.bf.write(lv.render(t.bf.page(lv.size)))
	if err != nil {
		return err
	}
	lv.pages++
	lv.last = id
	if len(lv.elems) == 0 {
		return nil
	}
	if h+1 == len(t.levels) {
		t.levels = append(t.levels, &level{size: pageHeaderSize})
	}
	first := lv.elems[0].k
	// The parent copies the key before this level's data is reused.
	err = t.addAt(h+1, lv.data[first.off:first.end], nil, 0, id)
	lv.data, lv.elems, lv.size = lv.data[:0], lv.elems[:0], pageHeaderSize
	return err
}

// render writes the level's page image into p (whole pages, zeroed).
func (lv *level) render(p []byte) []byte {
	flags := uint16(flagBranch)
	if lv.leaf {
		flags = flagLeaf
	}
	ne.PutUint16(p[8:], flags)
	ne.PutUint16(p[10:], uint16(len(lv.elems)))
	off := pageHeaderSize + elemSize*len(lv.elems)
	for i, e := range lv.elems {
		el := p[pageHeaderSize+elemSize*i:]
		pos := uint32(off - (pageHeaderSize + elemSize*i))
		klen, vlen := e.k.end-e.k.off, e.v.end-e.v.off
		if lv.leaf {
			ne.PutUint32(el[0:], e.flags)
			ne.PutUint32(el[4:], pos)
			ne.PutUint32(el[8:], uint32(klen))
			ne.PutUint32(el[12:], uint32(vlen))
		} else {
			ne.PutUint32(el[0:], pos)
			ne.PutUint32(el[4:], uint32(klen))
			ne.PutUint64(el[8:], e.child)
		}
		off += copy(p[off:], lv.data[e.k.off:e.v.end])
	}
	return p
}

// finish writes what is left and returns the bucket's value: its header
// with the root page's id, or, for a bucket that fits in a quarter page
// (and when inline is allowed), the header and the page inline.
func (t *treeBuilder) finish(seq uint64, inline bool) ([]byte, error) {
	hdr := make([]byte, bucketHdrSize)
	ne.PutUint64(hdr[8:], seq)
	lv := t.levels[0]
	if inline && lv.pages == 0 && lv.size <= t.bf.pageSize/4 {
		p := make([]byte, lv.size)
		return append(hdr, lv.render(p)...), nil
	}
	for h := 0; ; h++ {
		lv := t.levels[h]
		if len(lv.elems) > 0 || lv.pages == 0 {
			if err := t.flush(h); err != nil {
				return nil, err
			}
		}
		if lv.pages == 1 {
			ne.PutUint64(hdr[0:], lv.last)
			return hdr, nil
		}
	}
}

// writeBucketTree writes a bucket from entries in key order (each returned
// by next until it reports false) and returns its value for the root.
func writeBucketTree(bf *bulkFile, seq uint64, next func() (k, v []byte, ok bool, err error)) ([]byte, error) {
	t := newTreeBuilder(bf)
	for {
		k, v, ok, err := next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return t.finish(seq, true)
		}
		if len(k) == 0 {
			return nil, fmt.Errorf("an empty key: %w", ErrCorrupt)
		}
		if err := t.add(k, v, 0); err != nil {
			return nil, err
		}
	}
}
