package state

import (
	"bufio"
	"context"
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

	"github.com/google/go-cmp/cmp"
)

const (
	envCrashDB    = "STATE_TEST_CRASH_DB"
	envCrashStart = "STATE_TEST_CRASH_START"

	crashOwnKeys    = 150 // keys only batch n writes
	crashSharedKeys = 40  // keys every batch overwrites
	crashRunEvery   = 7   // every 7th batch also records a ledger entry
)

// crashOwnKey is the i-th key that only batch n writes.
func crashOwnKey(n int64, i int) string { return fmt.Sprintf("b%07d-%03d@example.com", n, i) }

// crashSharedKey is the i-th key every batch overwrites with its own number.
func crashSharedKey(i int) string { return fmt.Sprintf("shared-%02d@example.com", i) }

// crashBatch fills b with batch n: its own keys, then every shared key with
// row n (twice: the second put wins).
func crashBatch(b *Batch, n int64) {
	b.Reset()
	for i := range crashSharedKeys {
		b.Put(crashSharedKey(i), fpOf(n, -1), at(0), -n)
	}
	for i := range crashOwnKeys {
		b.Put(crashOwnKey(n, i), fpOf(n, int64(i)), at(int(n%50)), n)
	}
	for i := range crashSharedKeys {
		b.Put(crashSharedKey(i), fpOf(n, int64(1000+i)), at(int(n%50)), n)
	}
	if n%crashRunEvery == 0 {
		b.Record(Run{Input: "batch-" + strconv.FormatInt(n, 10), Content: Hash{byte(n), byte(n >> 8)}})
	}
}

// TestCrashChild is the process TestKillNineMidCommit kills: it commits
// batches start, start+1, ... and prints "committed N" after each Commit
// returns ("committing N" before it starts), until it is killed (or ten seconds pass).
func TestCrashChild(t *testing.T) {
	path := os.Getenv(envCrashDB)
	if path == "" {
		t.Skip("helper process for TestKillNineMidCommit")
	}
	start, _ := strconv.ParseInt(os.Getenv(envCrashStart), 10, 64)
	s, err := Open(path, Options{})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(3)
	}
	var b Batch
	deadline := time.Now().Add(10 * time.Second)
	for n := start; time.Now().Before(deadline); n++ {
		crashBatch(&b, n)
		fmt.Println("committing", n)
		if err := s.Commit(&b); err != nil {
			fmt.Println("error:", err)
			os.Exit(3)
		}
		fmt.Println("committed", n)
	}
	os.Exit(0)
}

// TestKillNineMidCommit kills a committing process with SIGKILL at random
// moments, three times over one file. After each kill the file must open
// and hold exactly whole batches: every batch the child reported committed,
// at most the one it was committing, nothing of any later one, the shared
// keys all from the newest batch, and the ledger entries of exactly those
// batches. The kill is sent when the child says it starts a commit, so it
// lands inside Commit (the test logs where each kill landed).
func TestKillNineMidCommit(t *testing.T) {
	rng := killTestRand(t, 3)
	path := filepath.Join(t.TempDir(), "state.db")
	next := int64(1)
	inCommit := 0
	const rounds = 5
	for round := range rounds {
		acked, during := killCommitter(t, path, next, time.Duration(rng.IntN(30))*time.Millisecond,
			time.Duration(rng.IntN(1500))*time.Microsecond)
		if during {
			inCommit++
		}
		newest := checkWholeBatches(t, path, acked)
		t.Logf("round %d: batches %d..%d acknowledged, %d..%d in the file, killed inside Commit: %v", round, next, acked, next, newest, during)
		next = newest + 1
	}
	t.Logf("%d of %d kills landed inside Commit", inCommit, rounds)
}

// killCommitter runs TestCrashChild from batch start, kills it into (0 to
// 1.5 ms) after it starts a commit, at least delay after its first
// acknowledged one, and returns the last batch it acknowledged
// and whether its last word was "committing" (the kill landed in Commit).
func killCommitter(t *testing.T, path string, start int64, delay, into time.Duration) (acked int64, inCommit bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envCrashDB+"="+path, envCrashStart+"="+strconv.FormatInt(start, 10))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	acked = start - 1
	killed := false
	var killAt time.Time // set at the first acknowledged commit
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "error:") {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child: %s", line)
		}
		inCommit = strings.HasPrefix(line, "committing ")
		if n, ok := strings.CutPrefix(line, "committed "); ok {
			acked, _ = strconv.ParseInt(n, 10, 64)
			if killAt.IsZero() {
				killAt = time.Now().Add(delay)
			}
		}
		// Kill into a commit: sorting, page writes and two fsyncs take the
		// child long enough that the signal lands at varied points inside it.
		if inCommit && !killed && !killAt.IsZero() && time.Now().After(killAt) {
			time.Sleep(into)
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	// The lines the child wrote before it died are still read above.
	cmd.Wait()

	if !killed {
		t.Fatal("the child exited before committing")
	}
	return acked, inCommit
}

// checkWholeBatches opens the file after a kill and checks it holds exactly
// batches 1..newest, whole, with acked ≤ newest ≤ acked+1. It returns newest.
func checkWholeBatches(t *testing.T, path string, acked int64) (newest int64) {
	t.Helper()
	s := openStore(t, path)
	defer s.Close()
	shared := make([]string, crashSharedKeys)
	for i := range shared {
		shared[i] = crashSharedKey(i)
	}
	hits := lookup(t, s, shared...)
	newest = hits[0].Entry.Row
	for i, h := range hits {
		if !h.Found || h.Entry.Row != newest || h.Entry.Fingerprint != fpOf(newest, int64(1000+i)) {
			t.Fatalf("shared key %d: %+v; all must hold the last put of batch %d", i, h, newest)
		}
	}
	if newest < acked || newest > acked+1 {
		t.Fatalf("the newest batch in the file is %d; the child acknowledged %d (at most one more may have landed)", newest, acked)
	}
	// Every batch up to newest is whole; the next one left nothing.
	own := make([]string, crashOwnKeys)
	for n := int64(1); n <= newest+1; n++ {
		for i := range own {
			own[i] = crashOwnKey(n, i)
		}
		for i, h := range lookup(t, s, own...) {
			want := n <= newest
			if h.Found != want {
				t.Fatalf("batch %d key %d: found = %v, want %v (newest batch %d)", n, i, h.Found, want, newest)
			}
			if want && (h.Entry.Fingerprint != fpOf(n, int64(i)) || h.Entry.Row != n) {
				t.Fatalf("batch %d key %d holds %+v", n, i, h.Entry)
			}
		}
	}
	// Nothing else: the file holds exactly these keys.
	st, err := s.Stats(0)
	if err != nil {
		t.Fatal(err)
	}
	if want := int(newest)*crashOwnKeys + crashSharedKeys; st.Keys != want {
		t.Fatalf("%d keys in the file, want %d", st.Keys, want)
	}
	runs, err := s.Runs(0)
	if err != nil {
		t.Fatal(err)
	}
	if want := int(newest / crashRunEvery); len(runs) != want {
		t.Fatalf("%d ledger entries, want %d (one per %dth batch up to %d)", len(runs), want, crashRunEvery, newest)
	}
	for i, r := range runs {
		if n := (newest/crashRunEvery - int64(i)) * crashRunEvery; r.Input != "batch-"+strconv.FormatInt(n, 10) {
			t.Fatalf("ledger entry %d is %q, want batch-%d", i, r.Input, n)
		}
	}
	return newest
}

const (
	envFoldDB   = "STATE_TEST_FOLD_DB"
	envFoldHow  = "STATE_TEST_FOLD_HOW"
	envFoldStop = "STATE_TEST_FOLD_STOP" // "point:n": stop at the n-th time the fold reaches point

	foldBaseBatches  = 10 // folded before the fold that is killed
	foldDeltaBatches = 5  // staged for it
)

// TestFoldCrashChild is the process TestKillNineMidFold kills: on a new
// file it commits batches 1..10 and folds them, commits batches 11..15,
// says "acked 15", then folds them as STATE_TEST_FOLD_HOW says, with small
// chunks and transactions so the fold has many steps. It prints each point
// the fold reaches; at the one STATE_TEST_FOLD_STOP names it says
// "stopped" and waits to be killed.
func TestFoldCrashChild(t *testing.T) {
	path := os.Getenv(envFoldDB)
	if path == "" {
		t.Skip("helper process for TestKillNineMidFold")
	}
	chunkPuts, foldTxnKeys = 50, 20
	fail := func(err error) {
		fmt.Println("error:", err)
		os.Exit(3)
	}
	s, err := Open(path, Options{})
	if err != nil {
		fail(err)
	}
	var b Batch
	for n := int64(1); n <= foldBaseBatches+foldDeltaBatches; n++ {
		crashBatch(&b, n)
		if err := s.Commit(&b); err != nil {
			fail(err)
		}
		if n == foldBaseBatches {
			if err := s.Fold(context.Background()); err != nil {
				fail(err)
			}
		}
	}
	fmt.Println("acked", foldBaseBatches+foldDeltaBatches)
	stop := os.Getenv(envFoldStop)
	reached := map[string]int{}
	foldHook = func(point string) {
		reached[point]++
		here := point + ":" + strconv.Itoa(reached[point])
		fmt.Println("point", here)
		if here == stop {
			fmt.Println("stopped")
			time.Sleep(time.Minute)
		}
	}
	how := foldInPlace
	if os.Getenv(envFoldHow) == "rebuild" {
		how = foldRebuild
	}
	fmt.Println("folding")
	if err := s.foldWith(context.Background(), how); err != nil {
		fail(err)
	}
	fmt.Println("folded")
	os.Exit(0)
}

// TestKillNineMidFold kills a folding process with SIGKILL, at chosen
// points of a fold in place (between two of its transactions) and of a
// rebuild (after a spilled run, part way through writing the new file,
// just before and just after the rename), and at a random moment after
// the fold starts. After each kill the file must open (Open folds what is
// left staged, and removes a half-written new file) and hold exactly the
// fifteen acknowledged batches, last put winning, and their ledger
// entries; nothing but the database and its lock file may be left in the
// directory, and bbolt's consistency check must pass.
func TestKillNineMidFold(t *testing.T) {
	rng := killTestRand(t, 5)
	cases := []struct {
		how, stop string
		tmpLeft   bool // the half-written new file is there after the kill
	}{
		{how: "in-place", stop: "fold-txn:1"}, // part way through the first chunk
		// The fold in place has 67 transactions; the rebuild spills 18 runs.
		{how: "in-place", stop: fmt.Sprintf("fold-txn:%d", 2+rng.IntN(60))},
		{how: "in-place"},
		{how: "rebuild", stop: fmt.Sprintf("spilled:%d", 1+rng.IntN(17)), tmpLeft: true},
		{how: "rebuild", stop: "writing:1", tmpLeft: true},
		{how: "rebuild", stop: "rename:1", tmpLeft: true},
		{how: "rebuild", stop: "renamed:1"},
		{how: "rebuild"},
	}
	for _, tc := range cases {
		name := tc.how + "/" + tc.stop
		if tc.stop == "" {
			name = tc.how + "/at a random moment"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.db")
			stopped := killFolder(t, path, tc.how, tc.stop, time.Duration(rng.IntN(3000))*time.Microsecond)
			if tc.stop != "" && !stopped {
				t.Fatalf("the fold never reached %s", tc.stop)
			}
			_, err := os.Stat(rebuildPath(path))
			if tc.tmpLeft && err != nil {
				t.Errorf("no half-written new file after a kill at %s: %v", tc.stop, err)
			}
			checkWholeBatches(t, path, foldBaseBatches+foldDeltaBatches)
			s := openStore(t, path)
			checkConsistent(t, s)
			if n, err := s.Pending(); err != nil || n != 0 {
				t.Errorf("Pending after the reopen = %d, %v", n, err)
			}
			s.Close()
			if diff := cmp.Diff([]string{"state.db", "state.db.lock"}, dirNames(t, dir)); diff != "" {
				t.Errorf("files left (-want +got):\n%s", diff)
			}
		})
	}
}

// killTestRand skips a test that needs SIGKILL where there is none, and
// returns a random source with a fresh seed, which it logs.
func killTestRand(t *testing.T, stream uint64) *rand.Rand {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, stream))
}

// killFolder runs TestFoldCrashChild and kills it when it stops at stop
// (or, with no stop, delay after it starts folding). It reports whether the
// child stopped at stop.
func killFolder(t *testing.T, path, how, stop string, delay time.Duration) (stopped bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFoldCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envFoldDB+"="+path, envFoldHow+"="+how, envFoldStop+"="+stop)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	acked := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "error:"):
			t.Fatalf("child: %s", line)
		case line == "acked 15":
			acked = true
		case line == "stopped":
			stopped = true
			cmd.Process.Kill()
		case line == "folding" && stop == "":
			time.Sleep(delay)
			cmd.Process.Kill()
		case line == "folded" && stop != "":
			t.Fatalf("the fold finished without reaching %s", stop)
		}
	}
	if !acked {
		t.Fatal("the child acknowledged no batches")
	}
	return stopped
}
