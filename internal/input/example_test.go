package input_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"strings"

	"importer/internal/input"
)

// A Russian-Excel style export: ; between fields, CRLF, a quoted comma, and
// a row with one field too many, which comes back as a row error while
// reading goes on.
func ExampleNewReader() {
	const export = "Name;Email\r\n" +
		"Ivanov;ivanov@example.ru\r\n" +
		"Petrov;petrov@example.ru;extra\r\n" +
		"\"Sidorova, Anna\";anna@example.ru\r\n"
	f, err := input.NewReader(strings.NewReader(export), "crm.csv", input.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	fmt.Println(f.Format(), string(f.Delimiter()), f.Encoding(), f.Header())
	for {
		rec, err := f.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		if rec.Err != nil {
			fmt.Println("row", rec.Row, "invalid:", rec.Err)
			continue
		}
		fmt.Printf("row %d (line %d): %q\n", rec.Row, rec.Line, rec.Fields)
	}
	// Output:
	// csv ; utf-8 [Name Email]
	// row 1 (line 2): ["Ivanov" "ivanov@example.ru"]
	// row 2 invalid: line 3, column 3: wrong number of fields: want 2, got 3
	// row 3 (line 4): ["Sidorova, Anna" "anna@example.ru"]
}

// JSON Lines: numbers stay exact (json.Number), so a 17-digit CRM id is not
// rounded to a float.
func ExampleFile_Read_jsonl() {
	const feed = `{"id": 12345678901234567, "contact": {"email": "a@example.ru"}}` + "\n" +
		`[1, 2]` + "\n"
	f, err := input.NewReader(strings.NewReader(feed), "feed.jsonl", input.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for {
		rec, err := f.Read()
		if err != nil {
			break
		}
		if rec.Err != nil {
			fmt.Println("row", rec.Row, "invalid:", rec.Err)
			continue
		}
		fmt.Println("row", rec.Row, rec.Object["id"], rec.Object["contact"])
	}
	// Output:
	// row 1 12345678901234567 map[email:a@example.ru]
	// row 2 invalid: line 2: line is not a JSON object: it is an array
}
