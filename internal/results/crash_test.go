package results

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	envCrashJournal = "RESULTS_TEST_CRASH_JOURNAL"
	envCrashStart   = "RESULTS_TEST_CRASH_START"
	envCrashSeed    = "RESULTS_TEST_CRASH_SEED"
)

// crashRow is the deterministic content of row n in the crash test: texts of
// varying length with the delimiter, quotes, newlines and Cyrillic, so line
// boundaries fall everywhere in the write buffer.
func crashRow(n int64) Row {
	r := Row{Row: n, Line: n + 1, Key: "user" + strconv.FormatInt(n, 10) + "@example.com", Attempts: int(n%5) + 1}
	switch n % 4 {
	case 0:
		r.Status, r.ProfileID = StatusOK, "p"+strconv.FormatInt(n*7919, 16)
	case 1:
		r.Status, r.ErrorCode = StatusFailed, "404"
		r.Error = `Profile not found, "` + strings.Repeat("ж", int(n%37)) + `"`
	case 2:
		r.Status = StatusInvalid
		r.Error = "column \"Phone\": value \"" + strconv.FormatInt(n, 10) + "\" is not a phone number\nsee row " + strconv.FormatInt(n, 10)
	case 3:
		r.Status, r.ProfileID = StatusOK, "q"+strconv.FormatInt(n, 10)
	}
	return r
}

// TestCrashChild is the process TestJournalCrashConsistency kills: it appends
// crashRow lines from a start row until it is killed (or a minute passes).
func TestCrashChild(t *testing.T) {
	path := os.Getenv(envCrashJournal)
	if path == "" {
		t.Skip("helper process for TestJournalCrashConsistency")
	}
	start, _ := strconv.ParseInt(os.Getenv(envCrashStart), 10, 64)
	seed, _ := strconv.ParseUint(os.Getenv(envCrashSeed), 10, 64)
	rng := rand.New(rand.NewPCG(seed, 1))
	j, err := OpenJournal(path, true)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(3)
	}
	ready := false
	deadline := time.Now().Add(time.Minute)
	for n := start; time.Now().Before(deadline); n++ {
		r := crashRow(n)
		if err := j.Write(&r); err != nil {
			fmt.Println("error:", err)
			os.Exit(3)
		}
		// Flush at random moments as the pipeline's idle tick would, so write
		// sizes and boundaries vary beyond the 64 KiB rhythm.
		if rng.IntN(300) == 0 {
			if err := j.Flush(); err != nil {
				fmt.Println("error:", err)
				os.Exit(3)
			}
			if !ready {
				fmt.Println("ready")
				ready = true
			}
		}
	}
	os.Exit(0)
}

// TestJournalCrashConsistency kills a writing process with SIGKILL at random
// moments, resumes it, and kills it again. After every kill the file must be
// a prefix of the ideal journal: whole lines in order, then at most the
// beginning of the next line (what a write cut short by the kill leaves; the
// kernel may stop a large write at a page boundary). ReadJournal must read it,
// and the next OpenJournal(path, true) must trim that beginning so the next
// child's lines do not merge with it.
func TestJournalCrashConsistency(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL")
	}
	const rounds = 5
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in"+f.ext)
			next := int64(1) // the first row the next child writes
			torn := 0
			for round := range rounds {
				killChild(t, path, next, rng.Uint64(), time.Duration(rng.IntN(40))*time.Millisecond)
				complete, tail := checkPrefix(t, f.jsonl, mustReadFile(t, path))
				if tail > 0 {
					torn++
				}
				t.Logf("round %d: rows %d..%d complete, torn tail %d bytes", round, next, complete, tail)
				checkPrevious(t, path, complete)
				next = complete + 1
			}
			t.Logf("%d of %d kills left a torn tail", torn, rounds)

			// A final resume with nothing to add leaves only whole lines.
			writeJournal(t, path, true, nil)
			complete, tail := checkPrefix(t, f.jsonl, mustReadFile(t, path))
			if tail != 0 || complete != next-1 {
				t.Errorf("after the last resume: %d complete rows and a %d-byte tail, want %d and 0", complete, tail, next-1)
			}
		})
	}
}

// killChild starts TestCrashChild appending from row start, waits until it
// has written, lets it run for delay more, and kills it with SIGKILL.
func killChild(t *testing.T, path string, start int64, seed uint64, delay time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		envCrashJournal+"="+path,
		envCrashStart+"="+strconv.FormatInt(start, 10),
		envCrashSeed+"="+strconv.FormatUint(seed, 10))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	ready := false
	for sc.Scan() {
		if line := sc.Text(); line == "ready" {
			ready = true
			break
		} else if strings.HasPrefix(line, "error:") {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child: %s", line)
		}
	}
	if !ready {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("child exited before writing")
	}
	time.Sleep(delay) // where the kill lands; no assertion depends on timing
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait() // "signal: killed" is the expected outcome
}

// checkPrefix asserts that data is a prefix of the ideal journal for rows
// 1, 2, 3, ... and returns the number of whole rows and the length of the
// partial line after them.
func checkPrefix(t *testing.T, jsonl bool, data []byte) (complete int64, tail int) {
	t.Helper()
	off := 0
	if !jsonl {
		if !bytes.HasPrefix(data, []byte(csvHeaderLine)) {
			t.Fatalf("the file does not start with the header: %q", data[:min(len(data), 80)])
		}
		off = len(csvHeaderLine)
	}
	n := int64(1)
	for {
		line := encodeLine(t, jsonl, crashRow(n))
		if !bytes.HasPrefix(data[off:], line) {
			rest := data[off:]
			if !bytes.HasPrefix(line, rest) {
				t.Fatalf("after %d whole rows the file holds %q, which is not the start of row %d's line %q",
					n-1, rest[:min(len(rest), 200)], n, line)
			}
			return n - 1, len(rest)
		}
		off += len(line)
		n++
	}
}

// checkPrevious asserts that ReadJournal reads rows 1..complete exactly.
func checkPrevious(t *testing.T, path string, complete int64) {
	t.Helper()
	prev, err := ReadJournal(path)
	if err != nil {
		t.Fatalf("ReadJournal after a kill: %v", err)
	}
	var wantOK int64
	for n := int64(1); n <= complete; n++ {
		isOK := crashRow(n).Status == StatusOK
		if isOK {
			wantOK++
		}
		if prev.OK(n) != isOK {
			t.Fatalf("OK(%d) = %v, want %v", n, prev.OK(n), isOK)
		}
	}
	if ok, other := okOther(prev); ok != wantOK || ok+other != complete {
		t.Fatalf("Count() = %d, %d, want %d, %d", ok, other, wantOK, complete-wantOK)
	}
}

// TestReadJournalMillionRows reads a 1M-row journal and checks that what it
// keeps is a bitset: a few hundred KiB, where a map of rows would take tens
// of MiB.
func TestReadJournalMillionRows(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads a 1M-row journal")
	}
	const rows = 1_000_000
	path := filepath.Join(t.TempDir(), "big.results.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(csvHeaderLine)
	var b []byte
	for n := int64(1); n <= rows; n++ {
		status := "ok"
		if n%7 == 0 {
			status = "failed"
		}
		b = strconv.AppendInt(b[:0], n, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, n+1, 10)
		b = append(b, ",user"...)
		b = strconv.AppendInt(b, n, 10)
		b = append(b, "@example.com,"...)
		b = append(b, status...)
		b = append(b, ",,,,1\n"...)
		w.Write(b)
	}
	// Later lines win: row 7 now ok, row 1 now failed.
	w.WriteString("7,8,user7@example.com,ok,p7,,,2\n1,2,user1@example.com,failed,,500,boom,2\n")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	prev, err := ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	kept := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("Previous for %d rows keeps about %d KiB", rows, kept>>10)
	if kept > 4<<20 {
		t.Errorf("Previous for %d rows keeps %d KiB, want under 4 MiB (a bitset, not a map)", rows, kept>>10)
	}

	failed := int64(rows / 7)
	wantOK := rows - failed + 1 - 1 // row 7 recovered, row 1 lost
	if ok, other := okOther(prev); ok != wantOK || other != rows-wantOK {
		t.Errorf("Count() = %d, %d, want %d, %d", ok, other, wantOK, rows-wantOK)
	}
	for n, want := range map[int64]bool{1: false, 2: true, 7: true, 14: false, 999_998: true, 999_999: false, rows: true, rows + 1: false} {
		if got := prev.OK(n); got != want {
			t.Errorf("OK(%d) = %v, want %v", n, got, want)
		}
	}
	runtime.KeepAlive(prev)
}
