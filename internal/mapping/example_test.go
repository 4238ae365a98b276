package mapping_test

import (
	"errors"
	"fmt"

	"importer/internal/input"
	"importer/internal/mapping"
)

func ExampleMapper_Map() {
	cfg, err := mapping.Parse([]byte(`
request: {db_id: 1, skip_triggers: true}
fields:
  email: {column: Email, transform: [lower], validate: email}
  _fname: Name
  phones: Phone
  _bdate: {column: Born, type: date, layout: "02.01.2006"}
`), "example.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := mapping.Compile(cfg, []string{"Email", "Name", "Phone", "Born"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, rec := range []*input.Record{
		{Row: 1, Line: 2, Fields: []string{"Anna@Example.com", "Анна", "8 (916) 123-45-67", "22.02.1990"}},
		{Row: 2, Line: 3, Fields: []string{"bob@example.com", "Bob", "12345", "31.02.1990"}},
	} {
		req, err := m.Map(rec)
		var re mapping.RowErrors
		if errors.As(err, &re) {
			// Every problem of the row, each bad column once.
			for _, fe := range re {
				fmt.Printf("row %d invalid (%s): %v\n", fe.Row, fe.Kind, fe)
			}
			continue
		}
		body := append([]byte(`{"token":"***",`), m.AppendEnvelope(nil, false)...)
		body = append(req.AppendSingle(append(body, ',')), '}')
		fmt.Printf("row %d key %s: %s\n", req.Row, req.Key, body)
	}
	// Output:
	// row 1 key anna@example.com: {"token":"***","db_id":1,"matching":"email","skip_triggers":true,"email":"anna@example.com","data":{"email":"anna@example.com","_fname":"Анна","phones":["+79161234567"],"_bdate":"1990-02-22"}}
	// row 2 invalid (invalid phone): column "Phone": "12345" is not a valid phone number for region RU
	// row 2 invalid (invalid date): column "Born": "31.02.1990" is not a valid date: day out of range
}
