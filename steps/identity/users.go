package identity

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/secrets"
)

// UsersScript is the template of every users operation.
const UsersScript = "identity/users.sh"

// PasswordLength is the length of generated passwords; MinPassword the
// shortest one accepted (the directory's policy asks the same).
const (
	PasswordLength = 20
	MinPassword    = 12
)

// Errors of users operations; the CLI maps them to exit code 5.
var (
	ErrExists   = errors.New("already exists")
	ErrNotFound = errors.New("not found")
)

// FieldError is a bad value: which field, why, and how to fix it.
type FieldError struct {
	Field, Value, Problem, Fix string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s %q: %s; %s", e.Field, e.Value, e.Problem, e.Fix)
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9._-]*$`)

// reserved names would collide with accounts collabstack or apps make.
var reserved = map[string]bool{"admin": true, "root": true, "nobody": true}

// CheckName validates a user name (the uid, the login everywhere).
func CheckName(field, v string) error {
	fix := "use 1 to 32 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter (for example jane.doe)"
	switch {
	case v == "":
		return &FieldError{field, v, "is empty", fix}
	case len(v) > 32:
		return &FieldError{field, v, fmt.Sprintf("has %d characters", len(v)), fix}
	case !nameRE.MatchString(v):
		return &FieldError{field, v, "is not a valid name", fix}
	case reserved[v]:
		return &FieldError{field, v, "is reserved", "choose another name (admin, root and nobody are taken by the system)"}
	}
	return nil
}

// CheckGroup validates a group name.
func CheckGroup(v string) error {
	if v == "" || len(v) > 32 || !nameRE.MatchString(v) {
		return &FieldError{"group", v, "is not a valid group name", "use 1 to 32 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter (for example admins)"}
	}
	return nil
}

// checkText validates a display name.
func checkText(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return &FieldError{field, v, "is empty", "give the person's name, for example --name \"Jane Doe\""}
	}
	if !utf8.ValidString(v) || len(v) > 200 || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return &FieldError{field, v, "has control characters or is not UTF-8 (or is over 200 bytes)", "give a plain name on one line"}
	}
	return nil
}

// CheckFullName validates a person's full name (one line of text).
func CheckFullName(v string) error { return checkText("full name", v) }

// CheckEmail validates an e-mail address (empty is allowed: none).
func CheckEmail(v string) error {
	if v == "" {
		return nil
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" || strings.ContainsAny(v, " \t\r\n") {
		return &FieldError{"email", v, "is not an e-mail address", "give a bare address such as jane@example.org"}
	}
	return nil
}

// CheckPassword validates a password given by the user.
func CheckPassword(p string) error {
	switch {
	case utf8.RuneCountInString(p) < MinPassword:
		return &FieldError{"password", "(hidden)", fmt.Sprintf("has fewer than %d characters", MinPassword), "give a longer one, or let collabstack generate one (leave out --password-stdin)"}
	case !utf8.ValidString(p) || strings.IndexFunc(p, unicode.IsControl) >= 0:
		return &FieldError{"password", "(hidden)", "has control characters or is not UTF-8", "give a password on one line"}
	}
	return nil
}

// GeneratePassword makes a password from crypto/rand.
func GeneratePassword() (string, error) { return secrets.Random(PasswordLength) }

// User is a person in the directory.
type User struct {
	Name     string   `json:"name"` // the uid, the login
	FullName string   `json:"full_name"`
	Email    string   `json:"email,omitempty"`
	Disabled bool     `json:"disabled"`
	Groups   []string `json:"groups"`
}

// NewUser is what `users add` asks for.
type NewUser struct {
	Name, FullName, Email, Password string
	Groups                          []string
}

// Check validates every field of a new user.
func (u NewUser) Check() error {
	if err := CheckName("name", u.Name); err != nil {
		return err
	}
	if err := checkText("full name", u.FullName); err != nil {
		return err
	}
	if err := CheckEmail(u.Email); err != nil {
		return err
	}
	for _, g := range u.Groups {
		if err := CheckGroup(g); err != nil {
			return err
		}
	}
	return CheckPassword(u.Password)
}

// Directory runs users operations in the directory's container.
type Directory struct {
	Container Container
	Domain    string
}

func (d Directory) run(ctx context.Context, data map[string]any) (string, error) {
	base := map[string]any{"Base": BaseDN(d.Domain), "Op": "", "UID": "", "CN": "", "SN": "", "Mail": "",
		"Password": "", "Groups": []string(nil), "Leave": []string(nil)}
	for k, v := range data {
		base[k] = v
	}
	text, err := script.Render(UsersScript, base)
	if err != nil {
		return "", err
	}
	out, err := d.Container.exec(ctx, text, nil)
	var ee *host.ExitError
	if errors.As(err, &ee) {
		msg := lastLine(ee.Stderr)
		switch ee.Code {
		case 3:
			return out, fmt.Errorf("user %s %w (collabstack users list shows the users)", base["UID"], ErrExists)
		case 4:
			return out, fmt.Errorf("user %s %w (collabstack users list shows the users)", base["UID"], ErrNotFound)
		case 5:
			return out, fmt.Errorf("%s: group %w", msg, ErrNotFound)
		}
		if msg != "" {
			return out, fmt.Errorf("the directory refused %s: %s (exit status %d)", base["Op"], msg, ee.Code)
		}
	}
	return out, err
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// surname is the last word of a full name (inetOrgPerson needs an sn).
func surname(full string) string {
	f := strings.Fields(full)
	return f[len(f)-1]
}

// Add adds a person with a password and groups.
func (d Directory) Add(ctx context.Context, u NewUser) error {
	if err := u.Check(); err != nil {
		return err
	}
	_, err := d.run(ctx, map[string]any{"Op": "add", "UID": u.Name, "CN": strings.TrimSpace(u.FullName), "SN": surname(u.FullName),
		"Mail": u.Email, "Password": u.Password, "Groups": u.Groups})
	return err
}

// Passwd sets a person's password.
func (d Directory) Passwd(ctx context.Context, name, password string) error {
	if err := CheckName("name", name); err != nil {
		return err
	}
	if err := CheckPassword(password); err != nil {
		return err
	}
	_, err := d.run(ctx, map[string]any{"Op": "passwd", "UID": name, "Password": password})
	return err
}

// SetDisabled locks (every bind refused) or unlocks a person.
func (d Directory) SetDisabled(ctx context.Context, name string, disabled bool) error {
	if err := CheckName("name", name); err != nil {
		return err
	}
	op := "enable"
	if disabled {
		op = "disable"
	}
	_, err := d.run(ctx, map[string]any{"Op": op, "UID": name})
	return err
}

// Exists reports whether a person is in the directory.
func (d Directory) Exists(ctx context.Context, name string) (bool, error) {
	if err := CheckName("name", name); err != nil {
		return false, err
	}
	_, err := d.run(ctx, map[string]any{"Op": "exists", "UID": name})
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Remove deletes a person and their group memberships.
func (d Directory) Remove(ctx context.Context, name string) error {
	if err := CheckName("name", name); err != nil {
		return err
	}
	_, err := d.run(ctx, map[string]any{"Op": "remove", "UID": name})
	return err
}

// Groups adds a person to groups (made when new), takes them out of
// others (a group left empty goes), and returns their groups.
func (d Directory) Groups(ctx context.Context, name string, add, leave []string) ([]string, error) {
	if err := CheckName("name", name); err != nil {
		return nil, err
	}
	for _, g := range append(append([]string(nil), add...), leave...) {
		if err := CheckGroup(g); err != nil {
			return nil, err
		}
	}
	out, err := d.run(ctx, map[string]any{"Op": "groups", "UID": name, "Groups": add, "Leave": leave})
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}

// List returns the people of the directory, sorted by name.
func (d Directory) List(ctx context.Context) ([]User, error) {
	out, err := d.run(ctx, map[string]any{"Op": "list"})
	if err != nil {
		return nil, err
	}
	return parseList(out, BaseDN(d.Domain))
}

// parseList reads the list operation's LDIF: people, then groups.
func parseList(out, base string) ([]User, error) {
	users := map[string]*User{}
	byDN := map[string]*User{}
	for _, e := range parseLDIF(out) {
		switch {
		case len(e["uid"]) > 0:
			u := &User{Name: e["uid"][0], Groups: []string{}}
			if v := e["cn"]; len(v) > 0 {
				u.FullName = v[0]
			}
			if v := e["mail"]; len(v) > 0 {
				u.Email = v[0]
			}
			u.Disabled = len(e["pwdaccountlockedtime"]) > 0
			users[u.Name] = u
			byDN[strings.ToLower(e["dn"][0])] = u
		case len(e["cn"]) > 0:
			for _, m := range e["uniquemember"] {
				if u, ok := byDN[strings.ToLower(m)]; ok {
					u.Groups = append(u.Groups, e["cn"][0])
				}
			}
		}
	}
	var list []User
	for _, u := range users {
		sort.Strings(u.Groups)
		list = append(list, *u)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return list, nil
}

// parseLDIF reads unwrapped LDIF (ldapsearch -o ldif-wrap=no): entries
// separated by blank lines, "attr: value" or "attr:: base64"; attribute
// names lower-cased.
func parseLDIF(s string) []map[string][]string {
	var out []map[string][]string
	cur := map[string][]string{}
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
			cur = map[string][]string{}
		}
	}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			flush()
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.Index(line, ":")
		if i < 0 {
			continue
		}
		attr, val := strings.ToLower(line[:i]), line[i+1:]
		if strings.HasPrefix(val, ":") {
			b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(val[1:]))
			if err != nil {
				continue
			}
			val = string(b)
		} else {
			val = strings.TrimPrefix(val, " ")
		}
		cur[attr] = append(cur[attr], val)
	}
	flush()
	return out
}
