package results

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"importer/internal/golden"
)

var formats = []struct {
	name, ext string
	jsonl     bool
}{
	{"CSV", ".results.csv", false},
	{"JSONL", ".results.jsonl", true},
}

func TestJournalRoundTrip(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in"+f.ext)
			rows := sampleRows()
			writeJournal(t, path, false, rows)

			if diff := cmp.Diff(rows, readRows(t, path)); diff != "" {
				t.Errorf("rows read back differ (-wrote +read):\n%s", diff)
			}
			prev, err := ReadJournal(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if got, want := prev.OK(r.Row), r.Status == StatusOK; got != want {
					t.Errorf("OK(%d) = %v, want %v (status %s)", r.Row, got, want, r.Status)
				}
			}
			if ok, other := okOther(prev); ok != 2 || other != 5 {
				t.Errorf("Count() = %d, %d, want 2, 5", ok, other)
			}
			if prev.OK(99) || prev.OK(0) || prev.OK(-1) {
				t.Error("OK reports a row the journal does not have")
			}
		})
	}
}

func TestJournalGolden(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in"+f.ext)
			writeJournal(t, path, false, sampleRows())
			golden.Check(t, "testdata/"+"journal"+strings.TrimPrefix(f.ext, ".results")+".golden", mustReadFile(t, path))
		})
	}
}

func TestJournalHeaderOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.results.csv")
	rows := sampleRows()

	// A run with no rows still leaves a header, so the file reads back.
	writeJournal(t, path, false, nil)
	if got := string(mustReadFile(t, path)); got != csvHeaderLine {
		t.Fatalf("empty journal = %q, want just the header %q", got, csvHeaderLine)
	}
	writeJournal(t, path, true, rows[:3])
	writeJournal(t, path, true, nil)
	writeJournal(t, path, true, rows[3:])
	data := string(mustReadFile(t, path))
	if n := strings.Count(data, "row,line,key"); n != 1 {
		t.Errorf("header written %d times, want 1:\n%s", n, data)
	}
	if diff := cmp.Diff(rows, readRows(t, path)); diff != "" {
		t.Errorf("rows after three appends differ (-want +got):\n%s", diff)
	}

	// Truncating mode starts over.
	writeJournal(t, path, false, rows[:1])
	if diff := cmp.Diff(rows[:1], readRows(t, path)); diff != "" {
		t.Errorf("rows after truncating open differ (-want +got):\n%s", diff)
	}

	// Appending to an empty file (a run killed before its header) writes the header.
	mustWriteFile(t, path, nil)
	writeJournal(t, path, true, rows[:1])
	if got := string(mustReadFile(t, path)); !strings.HasPrefix(got, csvHeaderLine) {
		t.Errorf("append to empty file = %q, want the header first", got)
	}
	// Appending to a missing file creates it.
	missing := filepath.Join(t.TempDir(), "new.results.jsonl")
	writeJournal(t, missing, true, rows[:1])
	if diff := cmp.Diff(rows[:1], readRows(t, missing)); diff != "" {
		t.Errorf("append to missing file (-want +got):\n%s", diff)
	}
}

// TestJournalAppendAfterTornLine writes a journal, damages its end the way a
// crash would, resumes, and checks that no line merged with the new ones.
func TestJournalAppendAfterTornLine(t *testing.T) {
	rows := sampleRows()
	tests := []struct {
		name  string
		jsonl bool
		tail  string
	}{
		{"CSVTornUnquoted", false, "8,11,k8,o"},
		{"CSVTornAtAttempts", false, "8,11,k8,ok,p8,,,1"}, // parses as a record, but has no newline
		{"CSVTornInsideQuotedNewline", false, "8,11,k8,failed,,500,\"line one\nline"},
		{"CSVTornAfterQuotedNewline", false, "8,11,k8,failed,,500,\"line one\n"},
		{"CSVUnparsableLastLine", false, "8,11,k8,ok,p8,,,x\n"},
		{"CSVWrongFieldCountLastLine", false, "8,11,k8\n"},
		{"CSVBlankLinesAfterBadLine", false, "8,11,k8,bogus,,,,1\n\n\n"},
		{"CSVCRLFTorn", false, "8,11,k8,ok,p8,,,1\r"},
		{"JSONLTorn", true, `{"row":8,"line":11,"key":"k8","sta`},
		{"JSONLTornAtEnd", true, `{"row":8,"line":11,"key":"k8","status":"ok","profile_id":"","error_code":"","error":"","attempts":1}`},
		{"JSONLUnparsableLastLine", true, "{\"row\":8,\"status\":\n"},
		{"JSONLBadStatusLastLine", true, "{\"row\":8,\"status\":\"maybe\"}\n  \n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ext := ".results.csv"
			if tt.jsonl {
				ext = ".results.jsonl"
			}
			path := filepath.Join(t.TempDir(), "in"+ext)
			writeJournal(t, path, false, rows[:4])
			mustAppendFile(t, path, []byte(tt.tail))

			// The resume reader ignores the damage...
			if diff := cmp.Diff(rows[:4], readRows(t, path)); diff != "" {
				t.Fatalf("rows before resuming (-want +got):\n%s", diff)
			}
			// ...and appending trims it, so new lines start on their own line.
			writeJournal(t, path, true, rows[4:])
			if diff := cmp.Diff(rows, readRows(t, path)); diff != "" {
				t.Errorf("rows after resuming (-want +got):\n%s", diff)
			}
			data := mustReadFile(t, path)
			if bytes.Contains(data, []byte("k8")) {
				t.Errorf("the torn line survived the append:\n%s", data)
			}
		})
	}
}

func TestJournalLastLineWins(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in"+f.ext)
			writeJournal(t, path, false, []Row{
				{Row: 1, Status: StatusFailed, ErrorCode: "500"},
				{Row: 2, Status: StatusOK, ProfileID: "p2"},
				{Row: 3, Status: StatusUnknown},
			})
			writeJournal(t, path, true, []Row{
				{Row: 1, Status: StatusOK, ProfileID: "p1"},
				{Row: 2, Status: StatusFailed, ErrorCode: "429"},
				{Row: 3, Status: StatusOK, ProfileID: "p3"},
				{Row: 3, Status: StatusInvalid}, // last line for row 3
			})
			prev, err := ReadJournal(path)
			if err != nil {
				t.Fatal(err)
			}
			for row, want := range map[int64]bool{1: true, 2: false, 3: false} {
				if got := prev.OK(row); got != want {
					t.Errorf("OK(%d) = %v, want %v", row, got, want)
				}
			}
			if ok, other := okOther(prev); ok != 1 || other != 2 {
				t.Errorf("Count() = %d, %d, want 1, 2", ok, other)
			}
		})
	}
}

// TestJournalFlushFastRows: rows that come less than a millisecond apart
// look at the clock every 64th row only, so a second's flush comes at most
// 64 rows late, and then holds every row written.
func TestJournalFlushFastRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.results.csv")
	synctest.Test(t, func(t *testing.T) {
		j, err := OpenJournal(path, false)
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		row := sampleRows()[0]
		write := func() {
			row.Row++
			if err := j.Write(&row); err != nil {
				t.Fatal(err)
			}
		}
		write()
		write() // the same instant: fast rows
		time.Sleep(JournalFlushEvery)
		late := 0
		for len(readRows(t, path)) == 0 {
			if late > flushCheckSkips {
				t.Fatalf("a second has passed and %d more rows came, but the file is empty", late)
			}
			write()
			late++
		}
		if got := len(readRows(t, path)); got != 2+late {
			t.Fatalf("the flush wrote %d rows, want all %d", got, 2+late)
		}
		if late < 2 {
			t.Fatalf("the flush came on row %d after the second: the clock is still read on every row", late)
		}
	})
}

// TestJournalNow: the time a caller stamps rows with is the clock's when
// calls come slowly, and at most 63 calls old when they come fast.
func TestJournalNow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.results.csv")
	synctest.Test(t, func(t *testing.T) {
		j, err := OpenJournal(path, false)
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		for range 3 { // slow: each call reads the clock
			time.Sleep(10 * time.Millisecond)
			if got, want := j.Now(), time.Now(); !got.Equal(want) {
				t.Fatalf("Now = %v after a pause, want the clock's %v", got, want)
			}
		}
		j.Now() // two calls at one instant: fast from here
		start := time.Now()
		time.Sleep(time.Second) // the fake clock moves, no call sees it yet
		stale := 0
		for j.Now().Equal(start) {
			if stale++; stale > flushCheckSkips {
				t.Fatalf("Now still says %v after %d calls a second later", start, stale)
			}
		}
		if stale == 0 {
			t.Fatal("Now read the clock on the first fast call: it is read on every call")
		}
	})
}

// TestJournalFlushEverySecond shows lines reaching the file without Close,
// on the fake clock: nothing before a second has passed, everything on the
// first Write after it.
func TestJournalFlushEverySecond(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in"+f.ext)
			synctest.Test(t, func(t *testing.T) {
				j, err := OpenJournal(path, false)
				if err != nil {
					t.Fatal(err)
				}
				defer j.Close()
				rows := sampleRows()
				onDisk := func() []Row { return readRows(t, path) }

				if err := j.Write(&rows[0]); err != nil {
					t.Fatal(err)
				}
				time.Sleep(JournalFlushEvery - time.Millisecond)
				if err := j.Write(&rows[1]); err != nil {
					t.Fatal(err)
				}
				if got := onDisk(); len(got) != 0 {
					t.Fatalf("after %v the file holds %d rows, want 0 (still buffered)", JournalFlushEvery-time.Millisecond, len(got))
				}
				time.Sleep(time.Millisecond)
				if err := j.Write(&rows[2]); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(rows[:3], onDisk()); diff != "" {
					t.Fatalf("after 1s the file differs (-want +got):\n%s", diff)
				}
				// The clock restarts at each write to the file.
				time.Sleep(JournalFlushEvery / 2)
				if err := j.Write(&rows[3]); err != nil {
					t.Fatal(err)
				}
				if got := len(onDisk()); got != 3 {
					t.Fatalf("half a second after a write the file holds %d rows, want 3", got)
				}
				// Flush (the pipeline's idle tick) needs no Write.
				if err := j.Flush(); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(rows[:4], onDisk()); diff != "" {
					t.Fatalf("after Flush the file differs (-want +got):\n%s", diff)
				}
				// An idle Flush with nothing pending is not a write: a row that
				// arrives after a quiet second goes straight to the file.
				time.Sleep(JournalFlushEvery)
				if err := j.Flush(); err != nil {
					t.Fatal(err)
				}
				if err := j.Write(&rows[4]); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(rows[:5], onDisk()); diff != "" {
					t.Fatalf("a row after a quiet second is not on disk (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// TestJournalFlushAt64KiB: with the clock stopped, lines still reach the file
// once 64 KiB are pending, and only whole lines.
func TestJournalFlushAt64KiB(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in"+f.ext)
			synctest.Test(t, func(t *testing.T) {
				j, err := OpenJournal(path, false)
				if err != nil {
					t.Fatal(err)
				}
				defer j.Close()
				base := len(mustReadFile(t, path))
				r := Row{Key: "k", Status: StatusFailed, Error: strings.Repeat("x", 1000), Attempts: 1}
				var written int
				for i := int64(1); written < JournalFlushBytes; i++ {
					r.Row = i
					written += len(encodeLine(t, f.jsonl, r))
					if err := j.Write(&r); err != nil {
						t.Fatal(err)
					}
					if got := len(mustReadFile(t, path)) - base; written < JournalFlushBytes && got != 0 {
						t.Fatalf("after %d bytes pending the file grew by %d, want 0", written, got)
					}
				}
				data := mustReadFile(t, path)
				if got := len(data) - base; got != written {
					t.Fatalf("after crossing %d bytes the file grew by %d, want %d", JournalFlushBytes, got, written)
				}
				if data[len(data)-1] != '\n' {
					t.Error("the file does not end with a whole line")
				}
			})
		})
	}
}

func TestJournalErrors(t *testing.T) {
	t.Run("WriteAfterClose", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "in.results.csv")
		j, err := OpenJournal(path, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		if err := j.Close(); err != nil {
			t.Errorf("second Close() = %v, want nil (idempotent)", err)
		}
		r := sampleRows()[0]
		if err := j.Write(&r); !errors.Is(err, os.ErrClosed) {
			t.Errorf("Write after Close = %v, want os.ErrClosed", err)
		}
	})
	t.Run("StickyWriteError", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "in.results.csv")
		j, err := OpenJournal(path, false)
		if err != nil {
			t.Fatal(err)
		}
		j.f.Close() // the disk goes away under the journal
		r := sampleRows()[0]
		if err := j.Write(&r); err != nil {
			t.Fatalf("Write buffered = %v, want nil", err)
		}
		first := j.Flush()
		if first == nil || !strings.Contains(first.Error(), "write results "+path) {
			t.Fatalf("Flush() = %v, want an error naming %s", first, path)
		}
		if err := j.Write(&r); err != first {
			t.Errorf("Write after a failed write = %v, want the first error %v", err, first)
		}
		if err := j.Close(); !errors.Is(err, os.ErrClosed) {
			t.Errorf("Close() = %v, want the first write error", err)
		}
	})
	t.Run("DiskFull", func(t *testing.T) {
		if _, err := os.Stat("/dev/full"); err != nil {
			t.Skip("no /dev/full here")
		}
		_, err := OpenJournal("/dev/full", false)
		if err == nil || !strings.Contains(err.Error(), "write results /dev/full") {
			t.Errorf("OpenJournal(/dev/full) = %v, want a write error naming the file", err)
		}
	})
	t.Run("NilRow", func(t *testing.T) {
		j, err := OpenJournal(filepath.Join(t.TempDir(), "x.csv"), false)
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		if err := j.Write(nil); err == nil {
			t.Error("Write(nil) = nil, want an error")
		}
	})
	t.Run("AppendToForeignCSV", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "customers.csv")
		orig := []byte("Email;Phone\nivan@example.com;+79161234567\n")
		mustWriteFile(t, path, orig)
		_, err := OpenJournal(path, true)
		if !errors.Is(err, errNotJournal) || !strings.Contains(err.Error(), `"Email;Phone"`) {
			t.Errorf("OpenJournal(append, foreign file) = %v, want a not-a-journal error quoting its header", err)
		}
		if got := mustReadFile(t, path); !bytes.Equal(got, orig) {
			t.Errorf("the foreign file was changed to %q", got)
		}
	})
	t.Run("AppendToDamagedMiddle", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "in.results.csv")
		writeJournal(t, path, false, sampleRows()[:2])
		// A bad line with a good one after it: not a crash's torn tail.
		mustAppendFile(t, path, []byte("3,4,k,ok,,,,many\n"))
		mustAppendFile(t, path, encodeLine(t, false, sampleRows()[3]))
		_, err := OpenJournal(path, true)
		if err == nil || !strings.Contains(err.Error(), "line 4") {
			t.Errorf("OpenJournal(append) over a damaged middle = %v, want an error naming line 4", err)
		}
	})
}

func TestReadJournalErrors(t *testing.T) {
	good := func(jsonl bool, row int64) string {
		return string(encodeLine(t, jsonl, Row{Row: row, Line: row + 1, Key: fmt.Sprint("k", row), Status: StatusOK, Attempts: 1}))
	}
	tests := []struct {
		name    string
		ext     string
		content string
		want    []string // substrings of the error
	}{
		{"CSVBadAttempts", ".csv", csvHeaderLine + good(false, 1) + "2,3,k2,ok,,,,x\n" + good(false, 3),
			[]string{"line 3", `column "attempts"`, `value "x"`, "not a whole number"}},
		{"CSVBadRow", ".csv", csvHeaderLine + "zero,3,k2,ok,,,,1\n" + good(false, 3),
			[]string{"line 2", `column "row"`, `value "zero"`}},
		{"CSVRowZero", ".csv", csvHeaderLine + "0,3,k2,ok,,,,1\n" + good(false, 3),
			[]string{"line 2", `column "row"`, "value 0", "start at 1"}},
		{"CSVBadStatus", ".csv", csvHeaderLine + good(false, 1) + good(false, 2) + "3,4,k3,done,,,,1\n" + good(false, 4),
			[]string{"line 4", `column "status"`, `value "done"`, "not one of ok"}},
		{"CSVFieldCount", ".csv", csvHeaderLine + "1,2,k1,ok\n" + good(false, 2),
			[]string{"line 2", "wrong number of fields"}},
		{"CSVBareQuote", ".csv", csvHeaderLine + "1,2,k\"1,ok,,,,1\n" + good(false, 2),
			[]string{"line 2", `bare "`}},
		{"CSVMissingColumns", ".csv", "row,line,key\n1,2,k\n",
			[]string{"line 1", "not a results journal", "status", "attempts"}},
		{"JSONLBadLine", ".jsonl", good(true, 1) + "{\"row\":2,\n" + good(true, 3),
			[]string{"line 2", "not a JSON journal object"}},
		{"JSONLWrongType", ".jsonl", good(true, 1) + "{\"row\":\"2\",\"status\":\"ok\"}\n" + good(true, 3),
			[]string{"line 2", `field "row"`, "a JSON string"}},
		{"JSONLNoRow", ".jsonl", "{\"status\":\"ok\"}\n" + good(true, 3),
			[]string{"line 1", `field "row"`, "value 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in.results"+tt.ext)
			mustWriteFile(t, path, []byte(tt.content))
			_, err := ReadJournal(path)
			if err == nil {
				t.Fatal("ReadJournal() = nil error, want one")
			}
			for _, w := range append(tt.want, "read results "+path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ReadJournal() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
	t.Run("Missing", func(t *testing.T) {
		_, err := ReadJournal(filepath.Join(t.TempDir(), "none.csv"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("ReadJournal(missing) = %v, want fs.ErrNotExist", err)
		}
	})
}

// TestReadJournalTolerates lists the files a crash can leave that still read
// as a journal.
func TestReadJournalTolerates(t *testing.T) {
	one := string(encodeLine(t, false, Row{Row: 1, Status: StatusOK}))
	tests := []struct {
		name, ext, content string
		ok, other          int64
	}{
		{"EmptyCSV", ".csv", "", 0, 0},
		{"TornHeader", ".csv", "row,line,ke", 0, 0},
		{"HeaderOnly", ".csv", csvHeaderLine, 0, 0},
		{"HeaderAnyOrder", ".csv", "status,row,attempts,line,key,profile_id,error,error_code,extra\nok,5,1,6,k,p,,,x\n", 1, 0},
		{"BlankLines", ".csv", csvHeaderLine + "\n" + one + "\n", 1, 0},
		{"EmptyJSONL", ".jsonl", "", 0, 0},
		{"JSONLBlankLines", ".jsonl", "\n{\"row\":1,\"status\":\"ok\"}\n\n{\"row\":2,\"status\":\"failed\",\"future\":1}\n", 1, 1},
		{"JSONLCRLF", ".jsonl", "{\"row\":1,\"status\":\"ok\"}\r\n", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in.results"+tt.ext)
			mustWriteFile(t, path, []byte(tt.content))
			prev, err := ReadJournal(path)
			if err != nil {
				t.Fatalf("ReadJournal() = %v", err)
			}
			if ok, other := okOther(prev); ok != tt.ok || other != tt.other {
				t.Errorf("Count() = %d, %d, want %d, %d", ok, other, tt.ok, tt.other)
			}
		})
	}
}
