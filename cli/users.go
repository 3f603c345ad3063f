package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/identity"
)

// usersCommand manages the people of the site's directory over SSH: the
// work is a script fed on stdin to sh in the OpenLDAP container, so a
// password is never on a command line nor in a log.
func (a *app) usersCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "users",
		Short: "Add, list, disable and remove the people of the site's directory (OpenLDAP)",
		Long: `Manage the accounts of the site's directory: one account for every app
wired to it (Keycloak, FreeRADIUS, apps with LDAP login). The site needs
the openldap component, applied. A new password is generated and shown
once, or read from standard input with --password-stdin; it never goes
into a log or a command line.

Exit codes: 0 done, 1 the directory could not be reached or refused,
2 a bad name or option (the message names the field and the fix),
5 the user already exists, or no such user or group.`,
	}
	cmd.AddCommand(a.usersAdd(), a.usersList(), a.usersPasswd(), a.usersLock("disable", true), a.usersLock("enable", false), a.usersRemove(), a.usersGroups())
	return cmd
}

// directory connects to the site's manager and finds the directory.
func (a *app) directory(ctx context.Context) (identity.Directory, func(), error) {
	sess, err := a.open()
	if err != nil {
		return identity.Directory{}, nil, err
	}
	if _, ok := sess.Site.Components[identity.App]; !ok {
		sess.Close()
		return identity.Directory{}, nil, usageError{fmt.Errorf("%s has no directory: add `openldap: {}` to its components and run collabstack apply", a.config)}
	}
	mgr, _, err := sess.Manager(ctx)
	if err != nil {
		sess.Close()
		return identity.Directory{}, nil, err
	}
	c, found, err := identity.Find(ctx, mgr, sess.Hosts)
	if err != nil {
		sess.Close()
		return identity.Directory{}, nil, err
	}
	if !found {
		sess.Close()
		return identity.Directory{}, nil, engine.WithHint(identity.ErrNoDirectory, "run `collabstack apply`; `collabstack status` shows whether openldap runs")
	}
	return identity.Directory{Container: c, Domain: sess.Site.Domain}, func() { sess.Close() }, nil
}

// password reads one from standard input (--password-stdin), or makes one.
func (a *app) password(fromStdin bool) (pw string, generated bool, err error) {
	if !fromStdin {
		pw, err = identity.GeneratePassword()
		return pw, true, err
	}
	if f, ok := a.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(a.stderr, "password (not shown): ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", false, err
		}
		pw = string(b)
	} else {
		line, err := bufio.NewReader(a.stdin).ReadString('\n')
		if err != nil && line == "" {
			return "", false, usageError{errors.New("--password-stdin: no password on standard input")}
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if err := identity.CheckPassword(pw); err != nil {
		return "", false, usageError{err}
	}
	return pw, false, nil
}

// showOnce prints a generated password once, on standard output only.
func (a *app) showOnce(user, pw string) {
	fmt.Fprintf(a.stdout, "The password of %s (shown this once; `collabstack users passwd %s` sets a new one):\n\n    %s\n\n", user, user, pw)
}

func checkNameArg(name string) error {
	if err := identity.CheckName("name", name); err != nil {
		return usageError{err}
	}
	return nil
}

func (a *app) usersAdd() *cobra.Command {
	var full, email string
	var groups []string
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "add NAME --name \"FULL NAME\" [--email ADDRESS] [--group GROUP]... [--password-stdin]",
		Short: "Add a person; the password is generated and shown once, or read from standard input",
		Example: `  collabstack users add jane.doe --name "Jane Doe" --email jane@example.org
  collabstack users add sam --name "Sam Smith" --group admins
  printf '%s\n' "$PASSWORD" | collabstack users add bob --name Bob --password-stdin`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u := identity.NewUser{Name: args[0], FullName: full, Email: email, Groups: groups, Password: strings.Repeat("x", identity.MinPassword)}
			if err := u.Check(); err != nil {
				return usageError{err}
			}
			pw, generated, err := a.password(fromStdin)
			if err != nil {
				return err
			}
			u.Password = pw
			d, done, err := a.directory(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			if err := d.Add(cmd.Context(), u); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "added %s (%s)\n", u.Name, identity.UserDN(d.Domain, u.Name))
			if generated {
				a.showOnce(u.Name, pw)
			}
			return nil
		},
	}
	a.addConfigFlag(cmd)
	cmd.Flags().StringVar(&full, "name", "", "the person's full name (required)")
	cmd.Flags().StringVar(&email, "email", "", "the person's e-mail address")
	cmd.Flags().StringArrayVar(&groups, "group", nil, "a group to join (made when new); admins is the site's administrators")
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from standard input instead of generating one")
	return cmd
}

func (a *app) usersList() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the people of the directory with their groups",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d, done, err := a.directory(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			users, err := d.List(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				if users == nil {
					users = []identity.User{}
				}
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(users)
			}
			if len(users) == 0 {
				fmt.Fprintln(a.stdout, "no users yet: collabstack users add NAME --name \"FULL NAME\"")
				return nil
			}
			fmt.Fprintf(a.stdout, "%-20s %-28s %-30s %-9s %s\n", "NAME", "FULL NAME", "E-MAIL", "STATE", "GROUPS")
			for _, u := range users {
				state := "active"
				if u.Disabled {
					state = "disabled"
				}
				fmt.Fprintf(a.stdout, "%-20s %-28s %-30s %-9s %s\n", u.Name, u.FullName, u.Email, state, strings.Join(u.Groups, ","))
			}
			return nil
		},
	}
	a.addConfigFlag(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) usersPasswd() *cobra.Command {
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "passwd NAME [--password-stdin]",
		Short: "Set a new password; generated and shown once, or read from standard input",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkNameArg(args[0]); err != nil {
				return err
			}
			pw, generated, err := a.password(fromStdin)
			if err != nil {
				return err
			}
			d, done, err := a.directory(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			if err := d.Passwd(cmd.Context(), args[0], pw); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "set a new password for %s\n", args[0])
			if generated {
				a.showOnce(args[0], pw)
			}
			return nil
		},
	}
	a.addConfigFlag(cmd)
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from standard input instead of generating one")
	return cmd
}

func (a *app) usersLock(verb string, disable bool) *cobra.Command {
	short := "Lock a person out of every app (the directory refuses their password) until enable"
	if !disable {
		short = "Let a disabled person log in again"
	}
	cmd := &cobra.Command{
		Use:   verb + " NAME",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkNameArg(args[0]); err != nil {
				return err
			}
			d, done, err := a.directory(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			if err := d.SetDisabled(cmd.Context(), args[0], disable); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "%sd %s\n", verb, args[0])
			return nil
		},
	}
	a.addConfigFlag(cmd)
	return cmd
}

func (a *app) usersRemove() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "remove NAME",
		Short: "Delete a person from the directory and from their groups (data they made in apps stays)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkNameArg(args[0]); err != nil {
				return err
			}
			d, done, err := a.directory(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			if err := d.Remove(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "removed %s\n", args[0])
			return nil
		},
	}
	a.addConfigFlag(cmd)
	return cmd
}

func (a *app) usersGroups() *cobra.Command {
	var add, leave []string
	cmd := &cobra.Command{
		Use:   "groups NAME [--add GROUP]... [--remove GROUP]...",
		Short: "Show a person's groups, or add them to groups and take them out of others",
		Example: `  collabstack users groups jane.doe
  collabstack users groups jane.doe --add admins --remove staff`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkNameArg(args[0]); err != nil {
				return err
			}
			for _, g := range append(append([]string(nil), add...), leave...) {
				if err := identity.CheckGroup(g); err != nil {
					return usageError{err}
				}
			}
			d, done, err := a.directory(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			groups, err := d.Groups(cmd.Context(), args[0], add, leave)
			if err != nil {
				return err
			}
			if len(groups) == 0 {
				fmt.Fprintf(a.stdout, "%s is in no group\n", args[0])
				return nil
			}
			fmt.Fprintln(a.stdout, strings.Join(groups, "\n"))
			return nil
		},
	}
	a.addConfigFlag(cmd)
	cmd.Flags().StringArrayVar(&add, "add", nil, "a group to join (made when new)")
	cmd.Flags().StringArrayVar(&leave, "remove", nil, "a group to leave (a group left empty goes)")
	return cmd
}
