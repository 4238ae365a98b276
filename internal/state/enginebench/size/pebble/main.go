package main

import (
	"fmt"
	"os"

	"github.com/cockroachdb/pebble/v2"
)

func main() {
	db, err := pebble.Open(os.Args[1], &pebble.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	b := db.NewBatch()
	b.Set([]byte("a"), []byte("b"), nil)
	fmt.Println(b.Commit(pebble.Sync))
	v, c, err := db.Get([]byte("a"))
	fmt.Println(v, err)
	if c != nil {
		c.Close()
	}
	it, _ := db.NewIter(nil)
	for it.First(); it.Valid(); it.Next() {
	}
	it.Close()
	fmt.Println(db.Close())
}
