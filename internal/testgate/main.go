package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	allow := flag.String("allow", ".ci/skips.txt", "the allow-list of skips: TestName<TAB>package<TAB>reason per line")
	ci := flag.Bool("ci", os.Getenv("CI") == "true", "fail the run on a skip the allow-list does not name (default: CI=true)")
	verbose := flag.Bool("v", false, "print every line of every test, as go test -v does")
	module := flag.String("module", "", "the module path, to match allow-list paths inside it (default: from ./go.mod)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go test -json ./... | testgate [-allow .ci/skips.txt] [-ci] [-v]")
		flag.PrintDefaults()
	}
	flag.Parse()
	g := &Gate{Out: os.Stdout, Verbose: *verbose, CI: *ci, Module: *module}
	if g.Module == "" {
		g.Module = modulePath("go.mod")
	}
	f, err := os.Open(*allow)
	switch {
	case os.IsNotExist(err):
	case err != nil:
		fmt.Fprintln(os.Stderr, "testgate:", err)
		os.Exit(2)
	default:
		g.Allow, err = ParseAllowList(f, *allow)
		f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "testgate:", err)
			os.Exit(2)
		}
	}
	if err := g.Feed(os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "testgate:", err)
		os.Exit(2)
	}
	if !g.Finish() {
		os.Exit(1)
	}
}

func modulePath(gomod string) string {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
