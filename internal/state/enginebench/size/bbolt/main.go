package main

import (
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

func main() {
	db, err := bolt.Open(os.Args[1], 0o600, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("k"))
		if err != nil {
			return err
		}
		if err := b.Put([]byte("a"), []byte("b")); err != nil {
			return err
		}
		fmt.Println(b.Get([]byte("a")))
		return b.ForEach(func(k, v []byte) error { return nil })
	})
	fmt.Println(err, db.Close())
}
