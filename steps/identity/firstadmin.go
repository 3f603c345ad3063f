package identity

import (
	"context"
	"fmt"

	"github.com/collabstack/collabstack/steps/apps"
	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/site"
)

// FirstAdminID is the step that makes the site's first administrator.
const FirstAdminID = "identity/first-admin"

// FirstAdminSecret holds the first administrator's first password.
var FirstAdminSecret = apps.SecretName(App, "first-admin-password")

// FirstAdmin reads the first administrator from the directory's options
// (first_admin, first_admin_name, first_admin_email; the wizard writes
// them): ok is false when none is asked for. A bad value is a FieldError
// naming the option.
func FirstAdmin(s *site.Site) (u NewUser, ok bool, err error) {
	c, has := s.Components[App]
	if !has {
		return NewUser{}, false, nil
	}
	str := func(k string) string { v, _ := c.Options[k].(string); return v }
	u = NewUser{Name: str("first_admin"), FullName: str("first_admin_name"), Email: str("first_admin_email"), Groups: []string{AdminsGroup}}
	if u.Name == "" {
		return NewUser{}, false, nil
	}
	field := "components." + App + ".options."
	if err := CheckName(field+"first_admin", u.Name); err != nil {
		return NewUser{}, false, err
	}
	if u.FullName == "" {
		u.FullName = u.Name
	}
	if err := checkText(field+"first_admin_name", u.FullName); err != nil {
		return NewUser{}, false, err
	}
	if err := CheckEmail(u.Email); err != nil {
		fe := err.(*FieldError)
		fe.Field = field + "first_admin_email"
		return NewUser{}, false, fe
	}
	return u, true, nil
}

// FirstAdminStep makes the first administrator once, in the admins group,
// with a generated password kept in the secrets file (FirstAdminSecret):
// Check finds the person in the directory; a person who exists is never
// changed again (their password may have been changed since).
func FirstAdminStep(domain string, u NewUser, manager string) engine.Step {
	return &engine.Func{
		StepID: FirstAdminID, Name: "Add the first administrator " + u.Name + " to the directory", On: manager, Comp: App,
		Needs: []string{DirectoryID},
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			c, found, err := Find(ctx, env.Host, env.Hosts)
			if err != nil || !found {
				return false, err
			}
			return Directory{Container: c, Domain: domain}.Exists(ctx, u.Name)
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			c, err := waitFor(ctx, env)
			if err != nil {
				return err
			}
			d := Directory{Container: c, Domain: domain}
			if ok, err := d.Exists(ctx, u.Name); err != nil || ok {
				return err
			}
			pw, err := env.Secrets.Password(FirstAdminSecret, PasswordLength)
			if err != nil {
				return err
			}
			nu := u
			nu.Password = pw
			if err := d.Add(ctx, nu); err != nil {
				return engine.WithHint(fmt.Errorf("add the first administrator %s: %w", u.Name, err), "`collabstack users list` shows the directory's people")
			}
			return nil
		},
	}
}
