package importer

import (
	"context"
	"os"
	"strings"
	"testing"

	"importer/internal/fakeapi"
)

// TestAPIURLForms: the API URL may be given as the host or as the docs
// write it, ending in /api/v1.1; either reaches the same methods.
func TestAPIURLForms(t *testing.T) {
	for _, suffix := range []string{"", "/", "/api/v1.1", "/api/v1.1/", "/api/v1.1/profiles"} {
		t.Run("base"+suffix, func(t *testing.T) {
			dir := t.TempDir()
			fake, url := startFake(t, fakeapi.Options{})
			o := baseOptions(ModeRun, writeFile(t, dir, "c.yaml", simpleConfig), genCSV(t, dir, 3, 3, false), dir)
			o.APIURL = url + suffix
			if r := runImporter(t, context.Background(), o); r.code != ExitOK {
				t.Fatalf("--api-url %s: exit %d: %v\n%s", o.APIURL, r.code, r.err, r.stderr)
			}
			if n := fake.Stats().Requests; n != 3 {
				t.Errorf("the API got %d requests, want 3", n)
			}
		})
	}
}

// TestTokenRules: a token too short to be masked reliably is refused, and
// so is an API URL that carries the token; neither message shows it.
func TestTokenRules(t *testing.T) {
	tests := []struct {
		name, token, urlSuffix, want string
	}{
		{"Short", "x1", "", "ALTCRAFT_TOKEN has 2 characters, want at least 8"},
		{"InURLPath", testToken, "/" + testToken, "the API URL contains the API token"},
		{"InURLPathAnyCase", testToken, "/" + strings.ToUpper(testToken), "the API URL contains the API token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			fake, url := startFake(t, fakeapi.Options{})
			o := baseOptions(ModeRun, writeFile(t, dir, "c.yaml", simpleConfig), genCSV(t, dir, 3, 3, false), dir)
			o.APIURL = url + tt.urlSuffix
			o.Getenv = func(k string) string {
				if k == EnvToken {
					return tt.token
				}
				return ""
			}
			r := runImporter(t, context.Background(), o)
			if r.code != ExitFatal || r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
				t.Fatalf("exit %d, error %v; want exit 1 saying %q", r.code, r.err, tt.want)
			}
			if strings.Contains(strings.ToLower(r.err.Error()+r.stderr), strings.ToLower(tt.token)) {
				t.Errorf("the token shows in the output:\n%v\n%s", r.err, r.stderr)
			}
			if n := fake.Stats().Requests; n != 0 {
				t.Errorf("the API got %d requests", n)
			}
		})
	}
}

// TestLimit: --limit N takes the first N data rows, for a trial run, in
// run and in validate; the run is not marked finished, so --resume goes on
// with the rest.
func TestLimit(t *testing.T) {
	for _, mode := range []Mode{ModeValidate, ModeRun} {
		t.Run(string(mode), func(t *testing.T) {
			dir := t.TempDir()
			fake, url := startFake(t, fakeapi.Options{})
			o := baseOptions(mode, writeFile(t, dir, "c.yaml", simpleConfig), genCSV(t, dir, 50, 50, false), dir)
			o.APIURL, o.Limit = url, 7
			r := runImporter(t, context.Background(), o)
			if r.code != ExitOK || r.sum.Rows != 7 {
				t.Fatalf("--limit 7: exit %d, %d rows: %v\n%s", r.code, r.sum.Rows, r.err, r.stderr)
			}
			seen := map[string]bool{}
			for _, row := range readJournal(t, o.Results) {
				seen[row["row"]] = true
			}
			if len(seen) != 7 || !seen["1"] || !seen["7"] {
				t.Errorf("journal rows %v, want rows 1–7", seen)
			}
			if mode == ModeValidate {
				return
			}
			if n := fake.Stats().Requests; n != 7 {
				t.Errorf("the API got %d requests, want 7", n)
			}
			o.Limit, o.Resume = 0, true
			r = runImporter(t, context.Background(), o)
			if r.code != ExitOK || r.sum.OK != 43 || r.sum.Skipped != 7 {
				t.Errorf("--resume after --limit: exit %d, %d ok, %d skipped; want 43 and 7\n%s", r.code, r.sum.OK, r.sum.Skipped, r.stderr)
			}
		})
	}
}

// TestRejectsKeepTitleLines: a file with title lines before its header
// (input.skip_lines) gets a rejects file with the same lines first, so the
// same config reads it back: same header, same rows.
func TestRejectsKeepTitleLines(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", "request: {db_id: 1, matching: email}\ninput: {skip_lines: 2, delimiter: \";\"}\n"+
		"fields:\n  email: {column: E-mail, validate: email, required: true}\n  company: Организация\n")
	in := writeFile(t, dir, "in.csv", "Выгрузка контрагентов\nДата: 15.06.2026\nE-mail;Организация;\n"+
		"a@example.com;ООО \"Ромашка\";\nnot-an-email;ЗАО \"Вектор\";\n")
	o := baseOptions(ModeValidate, cfg, in, dir)
	if r := runImporter(t, context.Background(), o); r.code != ExitRowErrors || r.sum.Invalid != 1 {
		t.Fatalf("exit %d, %d invalid: %v\n%s", r.code, r.sum.Invalid, r.err, r.stderr)
	}
	rej := string(readFileT(t, o.Rejects))
	if !strings.HasPrefix(rej, "\ufeffВыгрузка контрагентов\nДата: 15.06.2026\nE-mail;Организация;_error\n") ||
		!strings.Contains(rej, `not-an-email;"ЗАО ""Вектор""";`) {
		t.Fatalf("rejects file:\n%s", rej)
	}
	again := baseOptions(ModeValidate, cfg, o.Rejects, t.TempDir())
	r := runImporter(t, context.Background(), again)
	if r.code != ExitRowErrors || r.sum.Rows != 1 || r.sum.Invalid != 1 {
		t.Errorf("the rejects file read back: exit %d, %d rows, %d invalid; want the one bad row\n%s", r.code, r.sum.Rows, r.sum.Invalid, r.stderr)
	}
}

func readFileT(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAllErrorsOfARow: a row wrong in two columns names both in its
// journal line, and counts in both groups of the summary.
func TestAllErrorsOfARow(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", "request: {db_id: 1, matching: email}\nfields:\n"+
		"  email: {column: Email, validate: email, required: true}\n  _bdate: {column: Born, type: date, layout: \"02.01.2006\"}\n"+
		"  score: {column: Score, type: int}\n")
	in := writeFile(t, dir, "in.csv", "Email,Born,Score\nok@example.com,01.01.1990,1\nbad-mail,31.02.1990,x\n")
	o := baseOptions(ModeValidate, cfg, in, dir)
	r := runImporter(t, context.Background(), o)
	if r.code != ExitRowErrors {
		t.Fatalf("exit %d: %v\n%s", r.code, r.err, r.stderr)
	}
	rows := readJournal(t, o.Results)
	if e := rows[1]["error"]; strings.Count(e, "; ") != 2 || !strings.Contains(e, `"bad-mail"`) || !strings.Contains(e, "31.02.1990") || !strings.Contains(e, `"x"`) {
		t.Errorf("row 2's error = %q, want its three problems joined with \"; \"", e)
	}
	groups := r.sum.Groups()
	if len(groups) != 3 || r.sum.Invalid != 1 {
		t.Errorf("summary: %d invalid rows, groups %+v; want 1 row in 3 groups", r.sum.Invalid, groups)
	}
}
