package results_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"importer/internal/results"
)

func ExampleReadJournal() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "customers.csv.results.csv")

	j, err := results.OpenJournal(path, false)
	if err != nil {
		log.Fatal(err)
	}
	j.Write(&results.Row{Row: 1, Line: 2, Key: "ivan@example.com", Status: results.StatusOK, ProfileID: "p1", Attempts: 1})
	j.Write(&results.Row{Row: 2, Line: 3, Key: "petr@example.com", Status: results.StatusFailed, ErrorCode: "500", Attempts: 5})
	if err := j.Close(); err != nil {
		log.Fatal(err)
	}

	prev, err := results.ReadJournal(path)
	if err != nil {
		log.Fatal(err)
	}
	c := prev.Count()
	fmt.Println("skip row 1:", prev.OK(1))
	fmt.Println("skip row 2:", prev.OK(2))
	fmt.Println("ok", c.OK, "other", c.Unknown+c.Other)
	// Output:
	// skip row 1: true
	// skip row 2: false
	// ok 1 other 1
}

func ExampleSummary_WriteText() {
	s := results.NewSummary()
	s.Add(&results.Row{Row: 1, Status: results.StatusOK}, "", "")
	s.Add(&results.Row{Row: 2, Status: results.StatusInvalid}, "invalid phone", "Phone")
	s.Add(&results.Row{Row: 3, Status: results.StatusFailed, ErrorCode: "404", Error: "Profile not found"}, "", "")
	s.Add(&results.Row{Row: 4, Status: results.StatusInvalid}, "invalid phone", "Phone")
	s.Requests, s.Retries, s.Duration = 2, 0, 1500*time.Millisecond
	s.WriteText(os.Stdout)
	// Output:
	// 4 rows in 1.5s (2.7 rows/s): 1 ok, 1 failed, 2 invalid, 0 unknown
	// errors:
	//   2 rows: invalid phone in column "Phone" — rows 2, 4
	//   1 row: 404 Profile not found — row 3
	// requests 2, retries 0
}
