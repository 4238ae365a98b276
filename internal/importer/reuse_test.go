package importer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"importer/internal/fakeapi"
)

// reuseRow is data row n of TestDryRunReusesReaderMemory's file: an
// e-mail, a name and a phone that all name the row; every 13th e-mail and
// every 17th phone are invalid, and every 5th name is quoted across two lines.
func reuseRow(n int) (email, name, phone string) {
	email = fmt.Sprintf("User%d@Example.com", n)
	if n%13 == 0 {
		email = fmt.Sprintf("bad %d", n)
	}
	name = fmt.Sprintf("Name %d", n)
	if n%5 == 0 {
		name = fmt.Sprintf("Name %d\nsecond line %d", n, n)
	}
	phone = fmt.Sprintf("+7912%07d", n)
	if n%17 == 0 {
		phone = strconv.Itoa(n)
	}
	return email, name, phone
}

// checkRejects fails the test unless rejects holds each row isBad names
// once, with the cells it was read with: a row whose memory was reused too
// early shows the cells of a later row, which then comes twice.
func checkRejects(t *testing.T, rejects []map[string]string, isBad func(n int) bool) {
	t.Helper()
	seen := make(map[int]bool)
	for _, rej := range rejects {
		var n int
		if _, err := fmt.Sscanf(rej["Name"], "Name %d", &n); err != nil {
			t.Fatalf("rejects row %v: %v", rej, err)
		}
		email, name, phone := reuseRow(n)
		switch {
		case seen[n] || !isBad(n):
			t.Fatalf("rejects row %v: row %d is there twice, or is not a bad row", rej, n)
		case rej["Email"] != email || rej["Name"] != name || rej["Phone"] != phone:
			t.Fatalf("rejects row %v, want row %d: %q %q %q", rej, n, email, name, phone)
		}
		seen[n] = true
	}
}

// TestDryRunReusesReaderMemory runs validate over a file of many reader
// blocks, so that the reader reuses the memory of rows the writer released,
// and checks that every row's line in the journal, the rejects file and the
// payloads is its own: a row whose memory were reused too early would show
// another row's values.
func TestDryRunReusesReaderMemory(t *testing.T) {
	const rows = 30000
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("Email,Name,Phone\n")
	for n := 1; n <= rows; n++ {
		email, name, phone := reuseRow(n)
		fmt.Fprintf(&b, "%s,\"%s\",%s\n", email, name, phone)
	}
	in := writeFile(t, dir, "in.csv", b.String())
	config := writeFile(t, dir, "config.yaml", `
api: {endpoint: import}
request: {db_id: 1, matching: email}
input: {phone_region: RU}
fields:
  email: {column: Email, transform: [lower], validate: email, required: true}
  _fname: Name
  phone: {column: Phone, type: phone}
`)
	o := baseOptions(ModeValidate, config, in, dir)
	o.Payloads = filepath.Join(dir, "payloads.jsonl")
	r := runImporter(t, context.Background(), o)
	if r.code != ExitRowErrors {
		t.Fatalf("exit code %d, want %d: %v\n%s", r.code, ExitRowErrors, r.err, r.stderr)
	}

	journal := readJournal(t, o.Results)
	if len(journal) != rows {
		t.Fatalf("journal has %d lines, want %d", len(journal), rows)
	}
	invalid := 0
	for i, line := range journal {
		n := i + 1
		email, _, phone := reuseRow(n)
		var want []string
		if n%13 == 0 {
			want = append(want, fmt.Sprintf("%q", email))
		}
		if n%17 == 0 {
			want = append(want, fmt.Sprintf("%q", phone))
		}
		switch {
		case line["row"] != strconv.Itoa(n):
			t.Fatalf("journal line %d is row %s", n, line["row"])
		case len(want) == 0 && (line["status"] != "valid" || line["key"] != strings.ToLower(email)):
			t.Fatalf("row %d: status %s key %q, want valid %q", n, line["status"], line["key"], strings.ToLower(email))
		case len(want) > 0 && line["status"] != "invalid":
			t.Fatalf("row %d: status %s, want invalid", n, line["status"])
		}
		for _, w := range want {
			if !strings.Contains(line["error"], w) {
				t.Fatalf("row %d: error %q does not name %s", n, line["error"], w)
			}
		}
		if len(want) > 0 {
			invalid++
		}
	}
	if r.sum.Invalid != int64(invalid) {
		t.Errorf("summary: %d invalid, want %d", r.sum.Invalid, invalid)
	}

	f, err := os.Open(o.Rejects)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rejects := readCSVMaps(t, f)
	if len(rejects) != invalid {
		t.Fatalf("rejects file has %d rows, want %d", len(rejects), invalid)
	}
	checkRejects(t, rejects, func(n int) bool { return n%13 == 0 || n%17 == 0 })

	payloads := readPayloads(t, o.Payloads)
	if len(payloads) != rows-invalid {
		t.Fatalf("%d payloads, want %d", len(payloads), rows-invalid)
	}
	for _, p := range payloads {
		email, name, phone := reuseRow(int(p.Row))
		if p.str("email") != strings.ToLower(email) || p.str("_fname") != name || p.str("phone") != phone {
			t.Fatalf("payload of row %d: %v, want %q %q %q", p.Row, p.Request.Data, email, name, phone)
		}
	}
}

// TestRunReusesReaderMemory sends a file of many reader blocks in batches
// that the fake answers out of order, so that the reader reuses the memory
// of rows whose every line was written while others are still out, and
// checks that each row's journal line, rejects line, stored profile and
// state key are its own. A third of the rows exist (the others fail on
// update, with their cells in the rejects), every 13th e-mail and every 17th phone
// are invalid.
func TestRunReusesReaderMemory(t *testing.T) {
	const rows = 30000
	dir := t.TempDir()
	fake, url := startFake(t, fakeapi.Options{Latency: time.Millisecond, Jitter: time.Millisecond, SlowRate: 0.03, Slow: 100 * time.Millisecond})
	var seed, all strings.Builder
	seed.WriteString("Email,Name,Phone\n")
	all.WriteString("Email,Name,Phone\n")
	for n := 1; n <= rows; n++ {
		email, name, phone := reuseRow(n)
		line := fmt.Sprintf("%s,\"%s\",%s\n", email, name, phone)
		all.WriteString(line)
		if n%3 == 0 && n%13 != 0 && n%17 != 0 {
			seed.WriteString(line)
		}
	}
	config := func(endpoint string) string {
		return writeFile(t, dir, endpoint+".yaml", fmt.Sprintf(`
api: {url: %q, endpoint: %s, rate: 0, max_attempts: 2, timeout: 5s}
request: {db_id: 1, matching: email}
input: {phone_region: RU}
fields:
  email: {column: Email, transform: [lower], validate: email, required: true}
  _fname: Name
  phones: {column: Phone, type: phone}
`, url, endpoint))
	}
	batch, conc := 50, 8
	o := baseOptions(ModeRun, config("import"), writeFile(t, dir, "seed.csv", seed.String()), dir)
	o.Results = filepath.Join(dir, "seed.results.csv")
	if r := runImporter(t, context.Background(), o); r.code != ExitOK {
		t.Fatalf("seeding: exit code %d: %v\n%s", r.code, r.err, r.stderr)
	}
	ids := make(map[string]string) // e-mail → profile id
	for _, p := range fake.Profiles() {
		ids[fmt.Sprint(p.Fields["email"])] = p.ID
	}

	o = baseOptions(ModeRun, config("update"), writeFile(t, dir, "all.csv", all.String()), dir)
	o.BatchSize, o.Concurrency, o.State = &batch, &conc, filepath.Join(dir, "state.db")
	r := runImporter(t, context.Background(), o)
	if r.code != ExitRowErrors {
		t.Fatalf("exit code %d, want %d: %v\n%s", r.code, ExitRowErrors, r.err, r.stderr)
	}

	// Rows finish in the order the fake answers: index the lines by row.
	journal := make([]map[string]string, rows)
	for _, line := range readJournal(t, o.Results) {
		n, err := strconv.Atoi(line["row"])
		if err != nil || n < 1 || n > rows || journal[n-1] != nil {
			t.Fatalf("journal line %v: a row out of range or seen before", line)
		}
		journal[n-1] = line
	}
	okKeys := make(map[string]bool)
	rejected := 0
	for i, line := range journal {
		n := i + 1
		if line == nil {
			t.Fatalf("row %d has no journal line", n)
		}
		email, _, phone := reuseRow(n)
		key := strings.ToLower(email)
		bad := email
		if n%13 != 0 {
			bad = phone
		}
		switch {
		case line["row"] != strconv.Itoa(n):
			t.Fatalf("journal line %d is row %s", n, line["row"])
		case n%13 == 0 || n%17 == 0:
			if line["status"] != "invalid" || !strings.Contains(line["error"], strconv.Quote(bad)) {
				t.Fatalf("row %d: %s %q, want invalid naming %q", n, line["status"], line["error"], bad)
			}
			rejected++
		case line["key"] != key:
			t.Fatalf("row %d: key %q, want %q", n, line["key"], key)
		case n%3 == 0:
			if line["status"] != "ok" || line["profile_id"] != ids[key] {
				t.Fatalf("row %d: %s, profile %q; want ok, profile %q of %s", n, line["status"], line["profile_id"], ids[key], key)
			}
			okKeys[key] = true
		default:
			if line["status"] != "failed" {
				t.Fatalf("row %d: %s, want failed (no such profile)", n, line["status"])
			}
			rejected++
		}
	}

	f, err := os.Open(o.Rejects)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rejects := readCSVMaps(t, f)
	if len(rejects) != rejected {
		t.Fatalf("rejects file has %d rows, want %d", len(rejects), rejected)
	}
	checkRejects(t, rejects, func(n int) bool { return n%3 != 0 || n%13 == 0 || n%17 == 0 })

	for _, p := range fake.Profiles() {
		var n int
		if _, err := fmt.Sscanf(fmt.Sprint(p.Fields["_fname"]), "Name %d", &n); err != nil {
			t.Fatalf("profile %v: %v", p.Fields, err)
		}
		if email, _, _ := reuseRow(n); p.Fields["email"] != strings.ToLower(email) {
			t.Fatalf("profile %s holds %v, the name of row %d", p.ID, p.Fields, n)
		}
	}

	var export strings.Builder
	if err := StateExport(StateOptions{State: o.State, File: "-"}, &export); err != nil {
		t.Fatal(err)
	}
	stored := readCSVMaps(t, strings.NewReader(export.String()))
	if len(stored) != len(okKeys) {
		t.Fatalf("the state holds %d keys, want the %d ok ones", len(stored), len(okKeys))
	}
	for _, s := range stored {
		if !okKeys[s["key"]] {
			t.Fatalf("the state holds %v, not an ok row's key", s)
		}
	}
}
