package input

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/charmap"
)

// pipeCase is a source that writes head, then waits until the reader has
// read what head holds, then writes tail and closes. The reader must get
// head's records while the writer waits: if it waited for more bytes, every
// goroutine of the bubble would be blocked and synctest would fail the test
// as a deadlock at once.
type pipeCase struct {
	name       string
	head, tail []byte
	chunk      int // bytes per Write; 0 = all at once
	gzip       bool
	opts       Options
	wantHead   []view // the records of head
	wantTail   []view
}

func TestPipeIsReadPromptly(t *testing.T) {
	const header = "Email;Имя;Телефон\r\n"
	rows := "a@example.ru;Анна;+79161234567\r\nb@example.ru;Борис;\r\nc@example.ru;Вера;89160000000\r\n"
	cp1251 := func(s string) []byte {
		b, err := charmap.Windows1251.NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	headRows := []view{
		ok(1, 2, "a@example.ru", "Анна", "+79161234567"),
		ok(2, 3, "b@example.ru", "Борис", ""),
		ok(3, 4, "c@example.ru", "Вера", "89160000000"),
	}
	tests := []pipeCase{
		{name: "HeaderAndRowsThenWait", head: []byte(header + rows), tail: []byte("d@example.ru;Дмитрий;\r\n"),
			wantHead: headRows, wantTail: []view{ok(4, 5, "d@example.ru", "Дмитрий", "")}},
		{name: "OneByteAtATime", head: []byte(header + rows), tail: []byte("d@example.ru;Дмитрий;\r\n"), chunk: 1,
			wantHead: headRows, wantTail: []view{ok(4, 5, "d@example.ru", "Дмитрий", "")}},
		{name: "HeaderOnlyThenWait", head: []byte(header), tail: []byte(rows),
			wantTail: headRows},
		{name: "PreambleAndBOM", head: []byte("\ufeffОтчёт \"CRM\", май\r\n" + header + rows), opts: Options{SkipLines: 1},
			wantHead: []view{
				ok(1, 3, "a@example.ru", "Анна", "+79161234567"),
				ok(2, 4, "b@example.ru", "Борис", ""),
				ok(3, 5, "c@example.ru", "Вера", "89160000000"),
			}},
		{name: "CP1251", head: cp1251(header + rows), opts: Options{Encoding: "windows-1251"}, chunk: 7, wantHead: headRows},
		{name: "Gzip", head: []byte(header + rows), gzip: true, wantHead: headRows},
		{name: "JSONL", head: []byte("{\"a\":1}\n{\"a\":2}\n"), tail: []byte("{\"a\":3}\n"), chunk: 3,
			wantHead: []view{obj(1, 1, map[string]any{"a": json.Number("1")}), obj(2, 2, map[string]any{"a": json.Number("2")})},
			wantTail: []view{obj(3, 3, map[string]any{"a": json.Number("3")})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { runPipe(t, tt) })
		})
	}
}

// runPipe reads tt from an io.Pipe.
func runPipe(t *testing.T, tt pipeCase) {
	pr, pw := io.Pipe()
	var w io.Writer = pw
	var zw *gzip.Writer
	if tt.gzip {
		zw = gzip.NewWriter(pw)
		w = zw
	}
	headRead := make(chan struct{})
	written := make(chan int64, 1)
	go func() {
		n := writeChunks(w, tt.head, tt.chunk)
		if zw != nil {
			zw.Flush() // what a streaming compressor sends before it waits
		}
		written <- n
		<-headRead
		writeChunks(w, tt.tail, tt.chunk)
		if zw != nil {
			zw.Close()
		}
		pw.Close()
	}()
	name := "stdin"
	if tt.wantHead != nil && tt.wantHead[0].Object != nil {
		name = "feed.jsonl"
	}
	f, err := NewReader(pr, name, tt.opts)
	if err != nil {
		t.Fatal(err)
	}
	var got []*Record
	for range tt.wantHead {
		rec, err := f.Read()
		if err != nil {
			t.Fatalf("Read = %v after %d records", err, len(got))
		}
		got = append(got, rec)
	}
	if diff := cmp.Diff(tt.wantHead, views(got)); diff != "" {
		t.Errorf("records before the writer waits (-want +got):\n%s", diff)
	}
	if n := <-written; !tt.gzip && f.BytesRead() != n {
		t.Errorf("BytesRead() = %d while the writer waits, want the %d bytes it wrote", f.BytesRead(), n)
	}
	close(headRead)
	rest, err := drain(f)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tt.wantTail, views(rest)); diff != "" {
		t.Errorf("records after (-want +got):\n%s", diff)
	}
	if f.Size() != -1 {
		t.Errorf("Size() = %d for a pipe, want -1", f.Size())
	}
}

// writeChunks writes b in chunks of n bytes (all at once when n is 0) and
// returns how many bytes it wrote.
func writeChunks(w io.Writer, b []byte, n int) int64 {
	if n <= 0 {
		n = max(len(b), 1)
	}
	var total int64
	for len(b) > 0 {
		k, err := w.Write(b[:min(n, len(b))])
		total += int64(k)
		if err != nil {
			return total
		}
		b = b[k:]
	}
	return total
}

// TestPipeShortHeadCharset: from a pipe the charset is decided on the
// header line and what came with it. Cyrillic in Windows-1251 is not valid
// UTF-8, so the short head still fails with the same error as a file,
// naming input.encoding and the likely charset, without waiting for 64 KiB.
func TestPipeShortHeadCharset(t *testing.T) {
	head, err := charmap.Windows1251.NewEncoder().Bytes([]byte("Фамилия;Имя\r\nИванов;Иван\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			pw.Write(head)
			<-t.Context().Done() // the rest never comes while the test runs
			pw.Close()
		}()
		_, err := NewReader(pr, "stdin", Options{})
		if !errors.Is(err, ErrEncoding) || !strings.Contains(err.Error(), `"windows-1251"`) || !strings.Contains(err.Error(), "input.encoding") {
			t.Errorf("NewReader = %v, want ErrEncoding naming windows-1251 and input.encoding", err)
		}
	})
}

// TestRegularFileHeadIsFull: a regular file is sniffed from a full head, so
// a first Cyrillic byte far down the first 64 KiB still decides the charset
// at Open, not as a row error later.
func TestRegularFileHeadIsFull(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("id;name\r\n")
	for i := 0; b.Len() < 40<<10; i++ {
		b.WriteString("1;ascii\r\n")
	}
	b.WriteString("2;\xc8\xe2\xe0\xed\r\n") // Иван in Windows-1251
	_, err := Open(writeTemp(t, "x.csv", b.Bytes()), Options{})
	if !errors.Is(err, ErrEncoding) {
		t.Errorf("Open = %v, want ErrEncoding from the 64 KiB head", err)
	}
}

// TestStdinPipe: `importer run - < (producer)` reads stdin, an OS pipe of
// unknown size. The producer writes the header and two rows and waits for
// the reader to have them. A deadline on the pipe guards the test: it only
// fires when the reader waits for bytes that never come, and then Open or
// Read fail with a timeout instead of hanging the test.
func TestStdinPipe(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	if err := pr.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Skipf("no deadlines on pipes here: %v", err)
	}
	saved := os.Stdin
	os.Stdin = pr
	defer func() { os.Stdin = saved }()
	headRead := make(chan struct{})
	go func() {
		defer pw.Close()
		io.WriteString(pw, "Email,Name\na@example.ru,Anna\nb@example.ru,Boris\n")
		<-headRead
		io.WriteString(pw, "c@example.ru,Vera\n")
	}()
	f, err := Open("-", Options{})
	if err != nil {
		close(headRead)
		t.Fatal(err)
	}
	var got []*Record
	for range 2 {
		rec, err := f.Read()
		if err != nil {
			close(headRead)
			t.Fatalf("Read = %v after %d records", err, len(got))
		}
		got = append(got, rec)
	}
	close(headRead)
	rest, err := drain(f)
	if err != nil {
		t.Fatal(err)
	}
	want := []view{ok(1, 2, "a@example.ru", "Anna"), ok(2, 3, "b@example.ru", "Boris"), ok(3, 4, "c@example.ru", "Vera")}
	if diff := cmp.Diff(want, views(append(got, rest...))); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if f.Size() != -1 || f.BytesRead() != 66 {
		t.Errorf("Size() = %d, BytesRead() = %d; want -1 and 66", f.Size(), f.BytesRead())
	}
}
