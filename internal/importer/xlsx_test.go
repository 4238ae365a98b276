package importer

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// TestXLSXInput: a workbook is read from its sheet, with the sheet's row
// numbers in the journal, leading zeros and dates as Excel shows them; its
// rejects file is a CSV that the same config reads back.
func TestXLSXInput(t *testing.T) {
	dir := t.TempDir()
	book := filepath.Join(dir, "clients.xlsx")
	f := excelize.NewFile()
	f.SetSheetName("Sheet1", "Notes")
	f.NewSheet("Clients")
	rows := [][]any{
		{"Client list, exported 2026-06-15"},
		{"Email", "Code", "Born"},
		{"ann@example.com", "00123", 33000},
		{"not-an-email", "00124", 33001},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Clients", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	style, _ := f.NewStyle(&excelize.Style{NumFmt: 14}) // a date
	f.SetCellStyle("Clients", "C3", "C4", style)
	text, _ := f.NewStyle(&excelize.Style{NumFmt: 49}) // text: "00123" stays
	f.SetCellStyle("Clients", "B3", "B4", text)
	if err := f.SaveAs(book); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, dir, "c.yaml", "request: {db_id: 1, matching: email}\ninput: {sheet: Clients, skip_lines: 1}\n"+
		"fields:\n  email: {column: Email, validate: email, required: true}\n  code: Code\n  _bdate: {column: Born, type: date}\n")
	o := baseOptions(ModeValidate, cfg, book, dir)
	o.Payloads = filepath.Join(dir, "payloads.jsonl")
	r := runImporter(t, context.Background(), o)
	if r.code != ExitRowErrors || r.sum.Valid != 1 || r.sum.Invalid != 1 {
		t.Fatalf("exit %d, %d valid, %d invalid: %v\n%s", r.code, r.sum.Valid, r.sum.Invalid, r.err, r.stderr)
	}
	j := readJournal(t, o.Results)
	if j[0]["line"] != "3" || j[1]["line"] != "4" {
		t.Errorf("journal lines %s, %s; want the sheet's rows 3 and 4", j[0]["line"], j[1]["line"])
	}
	body := string(readFileT(t, o.Payloads))
	if !strings.Contains(body, `"code":"00123"`) || !strings.Contains(body, `"_bdate":"1990-05-07"`) {
		t.Errorf("payload %s: want the text code with its zeros and the date cell as a date", body)
	}
	rej := string(readFileT(t, o.Rejects))
	if !strings.HasPrefix(rej, "\ufeffClient list, exported 2026-06-15\nEmail,Code,Born,_error\n") || !strings.Contains(rej, "not-an-email,00124,") {
		t.Fatalf("rejects:\n%s", rej)
	}
	// The same config reads it: input.sheet means nothing to a CSV file,
	// and skip_lines skips the title the rejects file kept.
	again := baseOptions(ModeValidate, cfg, o.Rejects, t.TempDir())
	if r := runImporter(t, context.Background(), again); r.sum.Rows != 1 || r.sum.Invalid != 1 {
		t.Errorf("rejects read back: %d rows, %d invalid: %v\n%s", r.sum.Rows, r.sum.Invalid, r.err, r.stderr)
	}
}
