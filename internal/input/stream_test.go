package input

import (
	"bytes"
	"compress/gzip"
	"io"
	"slices"
	"testing"
	"testing/synctest"
)

// TestStreamRowsArriveAsWritten: over a pipe whose producer wrote a header
// and a few rows and then waits, NewReader returns and Read hands out those
// rows, instead of waiting for 64 KiB of head to sniff (which a feed of a
// few rows an hour would never send).
func TestStreamRowsArriveAsWritten(t *testing.T) {
	tests := []struct {
		name    string
		input   string // the input's name (its extension may choose the format)
		first   string // written before the reader may block
		want    [][]string
		delim   rune
		then    string // written after: read once it arrives
		wantAll int    // records once then and EOF came
	}{
		{name: "CSV", input: "stdin", first: "Email;Name\na@x.io;A\nb@x.io;B\n",
			want: [][]string{{"a@x.io", "A"}, {"b@x.io", "B"}}, delim: ';', then: "c@x.io;C\n", wantAll: 3},
		{name: "CSV/CRLF", input: "stdin", first: "Email\tName\r\na@x.io\tA\r\n",
			want: [][]string{{"a@x.io", "A"}}, delim: '\t', then: "b@x.io\tB\r\n", wantAll: 2},
		{name: "JSONL", input: "stdin.jsonl", first: "{\"email\":\"a@x.io\"}\n",
			want: [][]string{nil}, then: "{\"email\":\"b@x.io\"}\n", wantAll: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pr, pw := io.Pipe()
				defer pw.Close() // a failed check must not leave the reader blocked
				got := make(chan *Record, 16)
				opened := make(chan error, 1)
				go func() {
					defer close(got)
					f, err := NewReader(pr, tc.input, Options{})
					opened <- err
					if err != nil {
						return
					}
					if tc.delim != 0 && f.Delimiter() != tc.delim {
						t.Errorf("delimiter %q, want %q", f.Delimiter(), tc.delim)
					}
					for {
						rec, err := f.Read()
						if err != nil {
							return
						}
						got <- rec
					}
				}()
				io.WriteString(pw, tc.first)
				synctest.Wait() // the reader has read all it can and waits on the pipe
				select {
				case err := <-opened:
					if err != nil {
						t.Fatalf("NewReader = %v", err)
					}
				default:
					t.Fatalf("NewReader is still waiting for more input after %q", tc.first)
				}
				for i, want := range tc.want {
					select {
					case rec := <-got:
						if want != nil && !slices.Equal(rec.Fields, want) {
							t.Errorf("record %d = %q, want %q", i+1, rec.Fields, want)
						}
					default:
						t.Fatalf("record %d of the %d written is not read while the producer waits", i+1, len(tc.want))
					}
				}
				io.WriteString(pw, tc.then)
				pw.Close()
				n := len(tc.want)
				for range got {
					n++
				}
				if n != tc.wantAll {
					t.Errorf("%d records in all, want %d", n, tc.wantAll)
				}
			})
		})
	}
}

// TestStreamGzip: a gzip stream flushed after a few rows is read as far as
// it goes, like a plain one.
func TestStreamGzip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pr, pw := io.Pipe()
		defer pw.Close()
		got := make(chan []string, 4)
		go func() {
			defer close(got)
			f, err := NewReader(pr, "stdin", Options{})
			if err != nil {
				t.Errorf("NewReader = %v", err)
				return
			}
			for {
				rec, err := f.Read()
				if err != nil {
					return
				}
				got <- rec.Fields
			}
		}()
		zw := gzip.NewWriter(pw)
		io.WriteString(zw, "Email,Name\na@x.io,A\n")
		zw.Flush()
		synctest.Wait()
		select {
		case rec := <-got:
			if !bytes.Equal([]byte(rec[0]), []byte("a@x.io")) {
				t.Errorf("record = %q", rec)
			}
		default:
			t.Fatalf("the flushed row is not read while the producer waits")
		}
		zw.Close()
		pw.Close()
		for range got {
		}
	})
}
