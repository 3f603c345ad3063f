package tui

import (
	"strconv"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"

	"github.com/collabstack/collabstack/steps/site"
)

// hostFormPage asks for one host: name, role, address, SSH port, user,
// how to log in, and sudo. Every field is checked as it is typed.
type hostFormPage struct {
	edit *hostDraft // nil: a new host
	form *huh.Form

	hostName, role, address, port, user string
	auth, keyFile, password             string
	sudo                                bool
	sudoPassword                        string
}

func (p *hostFormPage) name() string { return "Hosts" }

func (p *hostFormPage) enter(w *wizard) tea.Cmd {
	if h := p.edit; h != nil {
		p.hostName, p.role, p.address = h.Name, h.Role, h.Address
		p.port = strconv.Itoa(orPort(h.Port))
		p.user = orDefault(h.User, site.DefaultUser)
		p.auth = orDefault(h.Auth.Method, site.AuthKey)
		p.keyFile = orDefault(h.Auth.KeyFile, site.DefaultKeyFile)
		p.password, p.sudoPassword = h.Password, h.SudoPassword
		p.sudo = p.user != "root"
		if h.Sudo != nil {
			p.sudo = *h.Sudo
		}
	} else {
		p.role = w.d.nextRole()
		p.hostName = w.d.nextName(p.role)
		p.port = strconv.Itoa(site.DefaultSSHPort)
		p.user = site.DefaultUser
		p.auth = site.AuthKey
		p.keyFile = site.DefaultKeyFile
	}
	others := w.d.hostNames(p.edit)
	checkName := func(v string) error { return checkUniqueName(v, others) }

	t := topologyOf(w.d.topology)
	roles := make([]huh.Option[string], len(t.Roles))
	for i, r := range t.Roles {
		roles[i] = huh.NewOption(r+" — "+roleExplain[r], r)
	}
	auths := []huh.Option[string]{
		huh.NewOption("a private key file", site.AuthKey),
		huh.NewOption("ssh-agent (keys with a passphrase)", site.AuthAgent),
		huh.NewOption("a password", site.AuthPassword),
	}
	input := w.liveInput
	user := newLive(&p.user)
	p.form = w.newForm(
		huh.NewGroup(
			input("Name", "how the site file and the logs call it", &p.hostName, checkName),
			huh.NewSelect[string]().Title("Role").Options(roles...).Value(&p.role),
			input("Address", "IP address or DNS name", &p.address, checkAddress),
			input("SSH port", "the port sshd listens on", &p.port, checkPort).CharLimit(5),
			w.liveField("User", "the login name", user, checkUser),
		).Title(p.formTitle()),
		huh.NewGroup(
			huh.NewSelect[string]().Title("Log in with").Options(auths...).Value(&p.auth),
		),
		huh.NewGroup(
			input("Private key file", "checked to exist and parse", &p.keyFile, checkKeyFile),
		).WithHideFunc(func() bool { return p.auth != site.AuthKey }),
		huh.NewGroup(
			input("Password", "kept in the site's secrets file (0600), never in the site file", &p.password, checkSecret).
				EchoMode(huh.EchoModePassword),
		).WithHideFunc(func() bool { return p.auth != site.AuthPassword }),
		huh.NewGroup(
			huh.NewConfirm().Title("Use sudo for privileged commands?").
				DescriptionFunc(func() string { return user.Get() + " is not root: sudo runs what needs root" }, user).Affirmative("Yes").Negative("No").Value(&p.sudo),
		).WithHideFunc(func() bool { return p.user == "root" }),
		huh.NewGroup(
			huh.NewInput().Title("sudo password").Description("leave empty when sudo asks for none; kept in the secrets file").
				EchoMode(huh.EchoModePassword).Value(&p.sudoPassword),
		).WithHideFunc(func() bool { return p.user == "root" || !p.sudo || p.auth == site.AuthPassword }),
	)
	return p.form.Init()
}

func (p *hostFormPage) formTitle() string {
	if p.edit != nil {
		return "Edit host " + p.edit.Name
	}
	return "New host"
}

func (p *hostFormPage) update(w *wizard, msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyMsg); ok && k.String() == "esc" {
		return w.show(&hostsPage{cursor: w.hostIndex(p.edit)})
	}
	m, cmd := p.form.Update(msg)
	p.form = m.(*huh.Form)
	if p.form.State != huh.StateCompleted {
		return cmd
	}
	h := p.edit
	if h == nil {
		h = &hostDraft{}
		w.d.hosts = append(w.d.hosts, h)
	}
	port, _ := strconv.Atoi(p.port)
	sudo := p.sudo && p.user != "root"
	next := site.Host{
		Name: p.hostName, Role: p.role, Address: p.address, Port: port, User: p.user,
		Auth: site.Auth{Method: p.auth}, Sudo: &sudo, Labels: h.Labels, Jump: h.Jump,
	}
	if p.auth == site.AuthKey {
		next.Auth.KeyFile = p.keyFile
	}
	if p.auth == site.AuthPassword {
		next.Auth.PasswordRef = h.Auth.PasswordRef
	}
	reach := func(x site.Host) string {
		return x.Address + ":" + strconv.Itoa(orPort(x.Port)) + "/" + x.User + "/" + x.Auth.Method + "/" + x.Auth.KeyFile
	}
	if reach(h.Host) != reach(next) || h.Password != p.password {
		h.Facts, h.Fingerprint, h.TestErr = nil, "", ""
	}
	h.Host = next
	h.Password = ""
	if p.auth == site.AuthPassword {
		h.Password = p.password
	}
	h.SudoPassword = ""
	if sudo && p.auth != site.AuthPassword {
		h.SudoPassword = p.sudoPassword
	}
	hp := &hostsPage{cursor: w.hostIndex(h)}
	hp.say(false, "%s saved; press t to test the connection", h.Name)
	return w.show(hp)
}

// hostIndex is the index of h in the list (the "add" row for nil).
func (w *wizard) hostIndex(h *hostDraft) int {
	for i, x := range w.d.hosts {
		if x == h {
			return i
		}
	}
	return len(w.d.hosts)
}

func (p *hostFormPage) view(w *wizard) string { return formView(p.form) }

func (p *hostFormPage) help(w *wizard) string {
	return "enter next · shift+tab previous · esc cancel · ctrl+c quit"
}

func (p *hostFormPage) currentForm() *huh.Form { return p.form }
func (p *hostFormPage) formReserve() int       { return 0 }
