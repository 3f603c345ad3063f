// Command labimage builds the lab's base image (debootstrap, once) before
// the tests run, so test packages running in parallel do not each start
// the same debootstrap: scripts/test runs it before go test.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/collabstack/collabstack/steps/lab"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	start := time.Now()
	tag, err := lab.BaseImage(ctx, lab.Options{Out: func(line string) { fmt.Println(line) }})
	if err != nil {
		fmt.Fprintln(os.Stderr, "labimage:", err)
		os.Exit(1)
	}
	fmt.Printf("lab base image %s ready (%s)\n", tag, time.Since(start).Round(time.Second))
}
