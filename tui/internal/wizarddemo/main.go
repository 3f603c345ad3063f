// Command wizarddemo runs the wizard against tui.FakeBackend: nothing is
// dialled and the install is a scripted run of a few seconds. It exists for
// the tmux test (tui/tmux_test.go) and to try the screens by hand:
//
//	go run ./tui/internal/wizarddemo -site /tmp/demo.yaml
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/collabstack/collabstack/tui"
)

func main() {
	path := flag.String("site", "collabstack.yaml", "the site file to write")
	plain := flag.Bool("plain", false, "ask line by line")
	apply := flag.Bool("apply", false, "show the run view of an existing site file only")
	delay := flag.Duration("delay", 150*time.Millisecond, "pause between the fake run's events")
	fail := flag.String("fail", "", "ID of a step that fails on the first run")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	be := tui.NewFakeBackend()
	be.Delay, be.FailStep = *delay, *fail
	opts := tui.Options{Backend: be, SitePath: *path, Plain: *plain}
	var err error
	if *apply {
		_, err = tui.RunApply(ctx, opts, *path)
	} else {
		_, err = tui.RunWizard(ctx, opts)
	}
	switch {
	case errors.Is(err, tui.ErrAborted), errors.Is(err, context.Canceled):
		fmt.Fprintln(os.Stderr, err)
		os.Exit(130)
	case err != nil:
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
