package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"importer/internal/fakeapi"
)

// firstHour is one step of a new user's first hour with the binary: the
// files they have, the command they type, what they must see.
type firstHour struct {
	name   string
	config string            // the mapping config
	files  map[string][]byte // files in the work directory; "in" is the input
	args   []string          // after the command; INPUT and -c are added
	cmd    string            // run (default), validate or check
	code   int
	out    []string // each must appear in stdout+stderr
	files2 map[string][]string
}

func cp1251(t *testing.T, s string) []byte {
	t.Helper()
	b, err := charmap.Windows1251.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNewUsersFirstHour walks through what a new user meets with real
// exports, each step through the real binary: a 1C export (title lines, a
// trailing ;, bare quotes in company names, blank-looking lines), trial
// runs with --limit, Excel and Unix dates, every error of a row, a JSONL
// feed with a mistyped path, objects where strings are expected, the API
// URL as the docs write it, validate's own files, and the summary JSON.
func TestNewUsersFirstHour(t *testing.T) {
	const base = "request: {db_id: 1, matching: email}\napi: {endpoint: import, rate: 0}\n"
	oneC := "Выгрузка контрагентов из 1С:Предприятие 8.3\r\nДата выгрузки: 15.06.2026 10:42\r\n" +
		"Фамилия;Имя;E-mail;Организация;\r\n" +
		"Иванов;Иван;ivanov@example.ru;ООО \"Ромашка\";\r\n" +
		"   \t \r\n" +
		"Петрова;Мария;m.petrova@example.ru;ЗАО \"Вектор\" и партнёры;\r\n" +
		";;;;\r\n" +
		"Сидоров;Пётр;sidorov@example.ru;37°36'37.8\"N;\r\n"
	oneCConfig := base + "input: {encoding: windows-1251, skip_lines: 2}\nfields:\n" +
		"  _lname: Фамилия\n  _fname: Имя\n  email: {column: E-mail, validate: email, required: true}\n  company: Организация\n"
	steps := []firstHour{
		{name: "1C export: title lines, trailing ;, bare quotes, blank lines", config: oneCConfig,
			files: map[string][]byte{"in": cp1251(t, oneC)}, cmd: "validate", code: 0,
			out:    []string{"3 rows", "3 valid, 0 invalid", "column 5 of the header (line 3) has no name: ignored"},
			files2: map[string][]string{"payloads.jsonl": {`"company":"ООО \"Ромашка\""`, `"company":"37°36'37.8\"N"`}}},
		{name: "a value under the nameless column is an error naming its position", config: oneCConfig,
			files: map[string][]byte{"in": cp1251(t, strings.Replace(oneC, "ООО \"Ромашка\";", "ООО \"Ромашка\";лишнее", 1))},
			cmd:   "validate", code: 2, out: []string{"value in a column with no name", "1 invalid"},
			files2: map[string][]string{"in.csv.validate.csv": {"column 5", `""лишнее""`}}},
		{name: "--limit runs the first rows only", config: oneCConfig,
			files: map[string][]byte{"in": cp1251(t, oneC)}, args: []string{"--limit", "2"}, code: 0,
			out: []string{"2 rows", "2 ok", "--limit"}},
		{name: "Excel and Unix dates, ints written 3.0", config: base +
			"fields:\n  email: {column: Email, validate: email}\n  _bdate: {column: Born, type: date, layout: excel}\n" +
			"  _regdate: {column: Since, type: datetime, layout: unix}\n  visits: {column: Visits, type: int}\n",
			files: map[string][]byte{"in": []byte("Email,Born,Since,Visits\na@example.com,33000,1700000000,3.0\n")},
			cmd:   "validate", code: 0,
			files2: map[string][]string{"payloads.jsonl": {`"_bdate":"1990-05-07"`, `"_regdate":"2023-11-14T22:13:20Z"`, `"visits":3`}}},
		{name: "every problem of a row, each in its group", config: base +
			"fields:\n  email: {column: Email, validate: email, required: true}\n  visits: {column: Visits, type: int}\n" +
			"  _bdate: {column: Born, type: date, layout: \"02.01.2006\"}\n",
			files: map[string][]byte{"in": []byte("Email,Visits,Born\nbad-mail,x,31.02.1990\n")},
			cmd:   "validate", code: 2,
			out:    []string{`invalid email in column "Email"`, `invalid int in column "Visits"`, `invalid date in column "Born"`, "1 invalid"},
			files2: map[string][]string{"in.csv.validate.csv": {`""bad-mail"" is not a valid e-mail address; `, `column ""Visits""`, `column ""Born""`}}},
		{name: "check names a mistyped JSONL path and the closest real one", config: base +
			"fields:\n  email: {column: contact.email}\n  _fname: {column: profile.name.frist}\n",
			files: map[string][]byte{"in.jsonl": []byte(`{"contact":{"email":"a@example.com"},"profile":{"name":{"first":"Ann"}}}` + "\n")},
			cmd:   "check", code: 1, out: []string{`"profile.name.frist"`, `closest: "profile.name.first"`}},
		{name: "an object where a string is expected is an invalid row naming the path", config: base +
			"fields:\n  email: {column: contact.email}\n  city: {column: address}\n",
			files: map[string][]byte{"in.jsonl": []byte(`{"contact":{"email":"a@example.com"},"address":{"city":"Omsk"}}` + "\n")},
			cmd:   "validate", code: 2, out: []string{`column "address"`, "1 invalid"},
			files2: map[string][]string{"in.jsonl.validate.jsonl": {"address", "an object"}}},
		{name: "the API URL as the docs write it", config: base + "fields:\n  email: Email\n",
			files: map[string][]byte{"in": []byte("Email\na@example.com\n")}, args: []string{"--api-url", "{url}/api/v1.1"},
			code: 0, out: []string{"1 ok"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			f := newFixture(t, 0, fakeapi.Options{})
			dir := t.TempDir()
			cfg := filepath.Join(dir, "c.yaml")
			if err := os.WriteFile(cfg, []byte(st.config), 0o644); err != nil {
				t.Fatal(err)
			}
			in := ""
			for name, data := range st.files {
				if name == "in" {
					name = "in.csv"
				}
				in = filepath.Join(dir, name)
				if err := os.WriteFile(in, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmdName := st.cmd
			if cmdName == "" {
				cmdName = "run"
			}
			args := []string{cmdName, "-c", cfg}
			if cmdName != "check" {
				args = append(args, "--progress", "none", "--payloads", filepath.Join(dir, "payloads.jsonl"))
				if cmdName == "run" {
					args = append(args, "--api-url", f.url)
				}
			}
			for _, a := range st.args {
				args = append(args, strings.ReplaceAll(a, "{url}", f.url))
			}
			args = append(args, in)
			cmd, out := f.command(args...)
			if code := exitCode(t, cmd.Run()); code != st.code {
				t.Fatalf("importer %s: exit %d, want %d\n%s", strings.Join(args, " "), code, st.code, out)
			}
			for _, want := range st.out {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			for name, wants := range st.files2 {
				b, _ := os.ReadFile(filepath.Join(dir, name))
				for _, want := range wants {
					if !strings.Contains(string(b), want) {
						t.Errorf("%s lacks %q:\n%s", name, want, b)
					}
				}
			}
		})
	}
}

// TestValidateKeepsItsOwnFiles: a dry run never overwrites a real run's
// journal or rejects, and the summary JSON says what ran, how it ended and
// when.
func TestValidateKeepsItsOwnFiles(t *testing.T) {
	f := newFixture(t, 3, fakeapi.Options{})
	run := func(args ...string) {
		t.Helper()
		cmd, out := f.command(args...)
		if code := exitCode(t, cmd.Run()); code != 0 {
			t.Fatalf("importer %v: exit %d\n%s", args, code, out)
		}
	}
	summary := filepath.Join(f.dir, "summary.json")
	run(f.runArgs("--summary", summary)...)
	journal, _ := os.ReadFile(f.results)
	run("validate", "-c", f.cfg, "--progress", "none", f.in)
	if after, _ := os.ReadFile(f.results); string(after) != string(journal) {
		t.Error("validate changed the run's journal")
	}
	for _, name := range []string{f.in + ".validate.csv", f.in + ".validate-rejects.csv"} {
		if _, err := os.Stat(name); err != nil {
			t.Errorf("validate wrote no %s: %v", filepath.Base(name), err)
		}
	}
	var sum map[string]any
	b, err := os.ReadFile(summary)
	if err == nil {
		err = json.Unmarshal(b, &sum)
	}
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{"input": f.in, "config": f.cfg, "exit_code": 0.0, "interrupted": false, "ok": 3.0} {
		if sum[key] != want {
			t.Errorf("summary %s = %v, want %v", key, sum[key], want)
		}
	}
	for _, key := range []string{"started_at", "finished_at"} {
		if s, _ := sum[key].(string); len(s) < 20 || !strings.HasSuffix(s, "Z") {
			t.Errorf("summary %s = %v, want an RFC 3339 time", key, sum[key])
		}
	}
}
