package cli

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/secrets"
	"github.com/collabstack/collabstack/steps/site"
)

func (a *app) secretCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "secret", Short: "Set or list the secrets of a site (values are never printed)"}
	set := &cobra.Command{
		Use:   "set NAME",
		Short: "Store a secret the site file refers to (a host password), read from standard input",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := a.secretStore()
			if err != nil {
				return err
			}
			var value string
			if f, ok := a.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				fmt.Fprintf(a.stderr, "value of %s (not shown): ", args[0])
				b, err := term.ReadPassword(int(f.Fd()))
				fmt.Fprintln(a.stderr)
				if err != nil {
					return err
				}
				value = string(b)
			} else {
				line, err := bufio.NewReader(a.stdin).ReadString('\n')
				if err != nil && line == "" {
					return usageError{errors.New("no value on standard input")}
				}
				value = strings.TrimRight(line, "\r\n")
			}
			if value == "" {
				return usageError{errors.New("empty value: nothing stored")}
			}
			if err := store.Set(args[0], value); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "stored %s in %s\n", args[0], store.Path())
			return nil
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the names of the stored secrets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := a.secretStore()
			if err != nil {
				return err
			}
			for _, n := range store.Names() {
				fmt.Fprintln(a.stdout, n)
			}
			return nil
		},
	}
	a.addConfigFlag(set)
	a.addConfigFlag(list)
	cmd.AddCommand(set, list)
	return cmd
}

// secretStore opens the store without needing the password refs resolved
// (setting them is how they get resolved).
func (a *app) secretStore() (*secrets.Store, error) {
	s, err := site.Load(a.config, nil)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.StateDir, 0o700); err != nil {
		return nil, err
	}
	return secrets.Open(s.StateDir + "/" + install.SecretsFile)
}
