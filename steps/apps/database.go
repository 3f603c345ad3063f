package apps

import (
	"fmt"
	"text/template"
)

// dbSQL is what the database SQL templates get.
type dbSQL struct {
	App, Name, User, Password string
	CollateC                  bool
}

// sqlFuncs: the SQL templates quote with the loader's sql escaper.
var sqlFuncs = template.FuncMap{}

// DatabaseSQL renders the SQL that creates app's database and user on its
// engine (create) and the SQL that prints "present" when they exist
// (check). password is the app's database password.
func (c *Catalog) DatabaseSQL(app, password string) (create, check []byte, err error) {
	a, ok := c.apps[app]
	if !ok || a.Database == nil {
		return nil, nil, fmt.Errorf("%s has no database", app)
	}
	e := c.apps[a.Database.Engine]
	d := dbSQL{App: a.Name, Name: a.Database.Name, User: a.Database.User, Password: password, CollateC: a.Database.CollateC}
	for _, f := range []struct {
		file string
		out  *[]byte
	}{{e.Provides.CreateDB, &create}, {e.Provides.CheckDB, &check}} {
		t, err := c.parse(e.Name, f.file, sqlFuncs)
		if err != nil {
			return nil, nil, err
		}
		if *f.out, err = execute(t, f.file, d); err != nil {
			return nil, nil, err
		}
	}
	return create, check, nil
}
