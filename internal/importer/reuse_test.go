package importer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
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
	seen := make(map[int]bool)
	for _, rej := range rejects {
		// A row whose memory was reused too early shows the cells of a
		// later row, which then comes twice.
		var n int
		if _, err := fmt.Sscanf(rej["Name"], "Name %d", &n); err != nil {
			t.Fatalf("rejects row %v: %v", rej, err)
		}
		email, name, phone := reuseRow(n)
		switch {
		case seen[n] || n%13 != 0 && n%17 != 0:
			t.Fatalf("rejects row %v: row %d is there twice, or is valid", rej, n)
		case rej["Email"] != email || rej["Name"] != name || rej["Phone"] != phone:
			t.Fatalf("rejects row %v, want row %d: %q %q %q", rej, n, email, name, phone)
		}
		seen[n] = true
	}

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
