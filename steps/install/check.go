package install

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/collabstack/collabstack/steps/secrets"
	"github.com/collabstack/collabstack/steps/site"
)

// SiteError is a problem of the site file found while composing its plan
// (an app option, a budget, a combination of components): the plan could
// not be made, so nothing was changed. The CLI exits 2 on it.
type SiteError struct{ Err error }

func (e *SiteError) Error() string { return e.Err.Error() }
func (e *SiteError) Unwrap() error { return e.Err }

// Check runs every check of a site file that needs no host: the schema
// and every field, key files, the references to secrets, the app options,
// the budgets and the plan itself. It creates and changes nothing; it is
// what `validate` runs and what Open runs first.
func Check(path string, opts Options) (*site.Site, error) {
	s, _, err := check(path, opts)
	return s, err
}

func check(path string, opts Options) (*site.Site, *secrets.Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, err
	}
	s, err := site.Load(abs, opts.Catalog)
	if err != nil {
		return nil, nil, err
	}
	if err := s.Preflight(); err != nil {
		return nil, nil, err
	}
	// Reading the secrets file creates nothing when it is not there.
	store, err := secrets.Open(filepath.Join(s.StateDir, SecretsFile))
	if err != nil {
		return nil, nil, err
	}
	if err := checkRefs(s, store); err != nil {
		return nil, nil, err
	}
	build := opts.Build
	if build == nil {
		build = defaultBuild
	}
	p, err := build(&Session{Site: s, Path: abs, Secrets: store, Redactor: secrets.NewRedactor(store)})
	if err == nil {
		err = p.Validate()
	}
	if err != nil {
		var fe site.FieldError
		var es site.Errors
		if errors.As(err, &fe) || errors.As(err, &es) {
			return nil, nil, err
		}
		return nil, nil, &SiteError{Err: err}
	}
	return s, store, nil
}

// checkRefs resolves every password reference of the site's hosts; a
// missing one is an error naming the field, which never repeats the
// reference's value (it might be a password typed in the wrong place).
func checkRefs(s *site.Site, store *secrets.Store) error {
	var es site.Errors
	for i, h := range s.Hosts {
		for _, r := range []struct{ field, ref string }{
			{fmt.Sprintf("hosts[%d].auth.password_ref", i), refIf(h.Auth.Method == site.AuthPassword, h.Auth.PasswordRef)},
			{fmt.Sprintf("hosts[%d].sudo_password_ref", i), h.SudoPasswordRef},
		} {
			if r.ref == "" {
				continue
			}
			if _, err := site.ResolveRef(r.ref, store.Get); err != nil {
				if v, ok := strings.CutPrefix(r.ref, "env:"); ok {
					es = append(es, site.FieldError{Field: r.field, Problem: "the environment variable " + v + " is not set", Fix: "export it before running collabstack"})
				} else {
					es = append(es, site.FieldError{Field: r.field, Problem: "names a secret that is not in the secrets file " + store.Path(),
						Fix: "set it with `collabstack secret set NAME --config SITE-FILE`, NAME being the value of the field"})
				}
			}
		}
	}
	if len(es) == 0 {
		return nil
	}
	return es
}

func refIf(ok bool, ref string) string {
	if ok {
		return ref
	}
	return ""
}
