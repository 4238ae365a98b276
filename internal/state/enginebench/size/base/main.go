package main

import (
	"fmt"
	"os"
)

func main() {
	f, err := os.Create(os.Args[1])
	fmt.Println(f, err)
}
