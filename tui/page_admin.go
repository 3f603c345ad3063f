package tui

import (
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"
)

// adminPage asks, when the directory (openldap) is chosen, for the site's
// first administrator: apply makes the account, in the admins group, and
// it logs in to every app wired to the directory.
type adminPage struct {
	form *huh.Form
}

func (p *adminPage) name() string { return "Administrator" }

func (p *adminPage) enter(w *wizard) tea.Cmd {
	d := w.d
	if d.admin.Email == "" {
		d.admin.Email = d.email
	}
	if d.admin.User == "" {
		d.admin.User = userNameFrom(d.admin.Email)
	}
	p.form = w.newForm(huh.NewGroup(
		w.liveInput("Full name", "the first administrator of the site's directory", &d.admin.Name, checkPersonName),
		w.liveInput("E-mail", "where the apps write to them", &d.admin.Email, checkEmail),
		w.liveInput("User name", "the login in every app wired to the directory", &d.admin.User, checkUserName),
	))
	return p.form.Init()
}

func (p *adminPage) update(w *wizard, msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyMsg); ok && k.String() == "esc" {
		return w.show(&componentsPage{})
	}
	m, cmd := p.form.Update(msg)
	p.form = m.(*huh.Form)
	if p.form.State == huh.StateCompleted {
		return w.show(&advancedPage{})
	}
	return cmd
}

func (p *adminPage) view(w *wizard) string {
	return formView(p.form) + "\n\n" + w.wrap(w.th.Muted.Render(
		"One account for every app: apply adds this person to the directory, in the admins group, with a generated password kept in the secrets file (openldap-first-admin-password). `collabstack users add` adds the others."))
}

func (p *adminPage) help(w *wizard) string {
	return "enter next · shift+tab previous · esc back · ctrl+c quit"
}

func (p *adminPage) currentForm() *huh.Form { return p.form }
func (p *adminPage) formReserve() int       { return 4 }
