package main

import (
	"database/sql"
	"fmt"
	"os"

	_ "modernc.org/sqlite"
)

func main() {
	db, err := sql.Open("sqlite", os.Args[1])
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = db.Exec(`CREATE TABLE IF NOT EXISTS k(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID`)
	fmt.Println(err)
	var v []byte
	fmt.Println(db.QueryRow(`SELECT v FROM k WHERE k = ?`, []byte("a")).Scan(&v))
	fmt.Println(db.Close())
}
