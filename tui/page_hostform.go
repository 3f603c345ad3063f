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
	sudo, keepPassword                  bool
	sudoPassword                        string
}

// authOnce is the host form's "I only have a password": collabstack makes
// a key for the site and installs it with one password login. It is never
// written to a site file: the host gets auth.method key.
const authOnce = "password-once"

func (p *hostFormPage) name() string { return "Hosts" }

func (p *hostFormPage) enter(w *wizard) tea.Cmd {
	if h := p.edit; h != nil {
		p.hostName, p.role, p.address = h.Name, h.Role, h.Address
		p.port = strconv.Itoa(orPort(h.Port))
		p.user = orDefault(h.User, site.DefaultUser)
		p.auth = orDefault(h.Auth.Method, site.AuthKey)
		p.keyFile = orDefault(h.Auth.KeyFile, site.DefaultKeyFile)
		p.password, p.sudoPassword = h.Password, h.SudoPassword
		if h.keyPending() {
			p.auth, p.keyFile, p.keepPassword = authOnce, site.DefaultKeyFile, h.KeepPassword
			p.sudoPassword = ""
		}
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
		if !defaultKeyExists() && !w.d.anyKeyFile() {
			// No key yet: most likely a hosting provider's password.
			p.auth = authOnce
		}
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
		huh.NewOption("a password, kept in the secrets file", site.AuthPassword),
		huh.NewOption("I only have a password: make a key and install it", authOnce),
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
			huh.NewSelect[string]().Title("Log in with").Options(auths...).Value(&p.auth).
				DescriptionFunc(func() string { return authExplain[p.auth] }, &p.auth),
		),
		huh.NewGroup(
			input("Private key file", "checked to exist and parse", &p.keyFile, checkKeyFile),
		).WithHideFunc(func() bool { return p.auth != site.AuthKey }),
		huh.NewGroup(
			input("Password", "kept in the site's secrets file (0600), never in the site file", &p.password, checkSecret).
				EchoMode(huh.EchoModePassword),
		).WithHideFunc(func() bool { return p.auth != site.AuthPassword }),
		huh.NewGroup(
			input("Password", "used once, when you test the connection, to install the key; not stored", &p.password, checkSecret).
				EchoMode(huh.EchoModePassword),
		).WithHideFunc(func() bool { return p.auth != authOnce }),
		huh.NewGroup(
			huh.NewConfirm().Title("Keep it as the sudo password?").
				DescriptionFunc(func() string { return user.Get() + " is not root: sudo may ask for this password; No forgets it" }, user).
				Affirmative("Yes").Negative("No").Value(&p.keepPassword),
		).WithHideFunc(func() bool { return p.auth != authOnce || p.user == "root" }),
		huh.NewGroup(
			huh.NewConfirm().Title("Use sudo for privileged commands?").
				DescriptionFunc(func() string { return user.Get() + " is not root: sudo runs what needs root" }, user).Affirmative("Yes").Negative("No").Value(&p.sudo),
		).WithHideFunc(func() bool { return p.user == "root" }),
		huh.NewGroup(
			huh.NewInput().Title("sudo password").Description("leave empty when sudo asks for none; kept in the secrets file").
				EchoMode(huh.EchoModePassword).Value(&p.sudoPassword),
		).WithHideFunc(func() bool {
			return p.user == "root" || !p.sudo || p.auth == site.AuthPassword || (p.auth == authOnce && p.keepPassword)
		}),
	)
	return p.form.Init()
}

// authExplain says what each way of logging in means.
var authExplain = map[string]string{
	site.AuthKey:      "the key's public half is already in the host's authorized_keys",
	site.AuthAgent:    "ssh-agent holds the key (a key with a passphrase)",
	site.AuthPassword: "every run logs in with the password",
	authOnce:          "collabstack makes a key for this site, logs in once with the password to install it, then uses the key",
}

// defaultKeyExists reports whether the user has a usable key at the
// default path (tests pin it: the answer depends on the machine).
var defaultKeyExists = func() bool { return checkKeyFile(site.DefaultKeyFile) == nil }

// anyKeyFile reports whether a host of the draft names a key file.
func (d *draft) anyKeyFile() bool {
	for _, h := range d.hosts {
		if h.Auth.Method == site.AuthKey && !h.Bootstrap {
			return true
		}
	}
	return false
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
	once := p.auth == authOnce
	method := p.auth
	if once {
		method = site.AuthKey
	}
	next := site.Host{
		Name: p.hostName, Role: p.role, Address: p.address, Port: port, User: p.user,
		Auth: site.Auth{Method: method}, Sudo: &sudo, Labels: h.Labels, Jump: h.Jump,
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
	if reach(h.Host) != reach(next) || h.Password != p.password || once != h.keyPending() {
		h.Facts, h.Fingerprint, h.TestErr = nil, "", ""
	}
	h.Host = next
	h.Bootstrap, h.KeepPassword = once, once && p.keepPassword && p.user != "root"
	h.Password = ""
	if p.auth == site.AuthPassword || once {
		h.Password = p.password
	}
	h.SudoPassword = ""
	if sudo && p.auth != site.AuthPassword {
		h.SudoPassword = p.sudoPassword
	}
	if h.KeepPassword && sudo {
		h.SudoPassword = p.password
	}
	hp := &hostsPage{cursor: w.hostIndex(h)}
	hp.say(false, "%s saved; press t to test the connection", h.Name)
	if once {
		hp.say(false, "%s saved; press t to log in once with the password and install collabstack's key", h.Name)
	}
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
