// Package cli is collabstack's command line: it parses flags, opens the
// site, and connects the engine's events to the wizard or plain output.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/collabstack/collabstack/steps/apps"
	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/site"
)

// Version is set at build time with -ldflags "-X .../cli.Version=...".
var Version = "dev"

// app holds what every command shares; there is no global state.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	plain          bool
	config         string
	// acceptNewKeys trusts a host's key on first contact when the site
	// file gives no host_key for it (--accept-new-host-keys).
	acceptNewKeys bool

	appCatalog *apps.Catalog
	appErr     error
}

// Main runs the command line and returns the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// A second Ctrl-C after the first stops at once; the journal is
		// consistent after every record, so nothing is lost.
		<-ctx.Done()
		stop()
	}()
	err := root.ExecuteContext(ctx)
	if err != nil {
		a.printError(err)
	}
	return exitCode(err)
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "collabstack",
		Short: "Stand up a self-hosted collaboration environment on your own hardware",
		Long: `collabstack installs a complete self-hosted collaboration environment
(an exact copy of kopnik.org, or a suite of 44 collaboration apps) on your
hosts over
SSH. Run it with no arguments on a terminal for the wizard, or write a site
file (collabstack init) and run collabstack apply.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !a.interactive() && !a.plain {
				return usageError{errors.New("no command given and no terminal for the wizard: use `collabstack apply --config FILE`, or `collabstack wizard --plain` to answer line by line (see `collabstack --help`)")}
			}
			return a.runWizard(cmd.Context(), false)
		},
	}
	a.addConfigFlag(root)
	root.PersistentFlags().BoolVar(&a.acceptNewKeys, "accept-new-host-keys", false, "trust the SSH key a host offers the first time when the site file gives no host_key for it (without it, such a host is refused)")
	root.PersistentFlags().BoolVar(&a.plain, "plain", false, "plain line output without colours or full-screen UI (automatic when stdout is not a terminal)")
	root.AddCommand(a.wizardCommand(), a.appsCommand(), a.initCommand(), a.validateCommand(), a.planCommand(), a.applyCommand(), a.statusCommand(), a.logsCommand(), a.secretCommand(), a.labCommand(), a.rollbackCommand(), a.imagesCommand(), a.dnsCommand(), a.hostsCommand(), a.caCommand())
	root.AddCommand(a.backupCommand(), a.restoreCommand(), a.failoverCommand(), a.failbackCommand())
	root.AddCommand(a.lifecycleCommands()...)
	root.AddCommand(a.usersCommand())
	return root
}

func (a *app) addConfigFlag(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&a.config, "config", "c", "collabstack.yaml", "the site file")
}

// interactive reports whether the full-screen UI can be used.
func (a *app) interactive() bool {
	if a.plain || os.Getenv("CI") != "" {
		return false
	}
	in, iok := a.stdin.(*os.File)
	out, ook := a.stdout.(*os.File)
	return iok && ook && term.IsTerminal(int(in.Fd())) && term.IsTerminal(int(out.Fd()))
}

func (a *app) printError(err error) {
	var es site.Errors
	if errors.As(err, &es) && len(es) > 1 {
		fmt.Fprintf(a.stderr, "error: the site file has %d problems; nothing was changed:\n", len(es))
		for _, e := range es {
			fmt.Fprintf(a.stderr, "  - %v\n", e)
		}
		return
	}
	fmt.Fprintf(a.stderr, "error: %v\n", err)
	if hint := engine.HintOf(err); hint != "" {
		fmt.Fprintf(a.stderr, "hint: %s\n", hint)
	}
}
