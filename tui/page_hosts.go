package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/site"
)

// connectTimeout bounds one connection test.
const connectTimeout = 30 * time.Second

// hostsPage lists the hosts, adds, edits and removes them, and tests the
// connection: the host key's fingerprint to confirm, then the facts.
type hostsPage struct {
	cursor  int
	note    string
	noteErr bool
	confirm *hostDraft // waiting for the fingerprint to be confirmed
	fp      string
}

// hostKeyMsg and probeMsg are the answers of a connection test.
type hostKeyMsg struct {
	h   *hostDraft
	fp  string
	err error
}

type probeMsg struct {
	h   *hostDraft
	f   HostFacts
	err error
}

func (p *hostsPage) name() string { return "Hosts" }

func (p *hostsPage) enter(w *wizard) tea.Cmd {
	p.cursor = min(p.cursor, len(w.d.hosts))
	return nil
}

func (p *hostsPage) update(w *wizard, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case hostKeyMsg:
		w.busy = ""
		if msg.err != nil {
			msg.h.TestErr = errWithHint(msg.err)
			p.say(true, "%s: %s", msg.h.Name, msg.h.TestErr)
			return nil
		}
		p.confirm, p.fp = msg.h, msg.fp
		return nil
	case keyInstalledMsg:
		if msg.err != nil {
			w.busy = ""
			msg.h.TestErr = errWithHint(msg.err)
			p.say(true, "%s: %s", msg.h.Name, msg.h.TestErr)
			return nil
		}
		h := msg.h
		h.Auth.KeyFile = msg.keyFile
		if !h.KeepPassword {
			h.Password = ""
		}
		p.say(false, "%s: collabstack's key %s is installed and logs in; the password is no longer needed", h.Name, msg.keyFile)
		return tea.Batch(w.wait("reading the facts of "+h.Name+" with the key…"), probeHost(w, h, h.Fingerprint))
	case probeMsg:
		w.busy = ""
		if msg.err != nil {
			msg.h.TestErr = errWithHint(msg.err)
			msg.h.Facts = nil
			p.say(true, "%s: %s", msg.h.Name, msg.h.TestErr)
			return nil
		}
		msg.h.TestErr, msg.h.Facts = "", &msg.f
		p.say(false, "%s answers: %s", msg.h.Name, factsLine(msg.f))
		return nil
	case tea.KeyMsg:
		return p.key(w, msg)
	}
	return nil
}

func (p *hostsPage) say(isErr bool, format string, args ...any) {
	p.note, p.noteErr = fmt.Sprintf(format, args...), isErr
}

func (p *hostsPage) key(w *wizard, k tea.KeyMsg) tea.Cmd {
	if p.confirm != nil {
		h := p.confirm
		switch k.String() {
		case "y", "Y":
			p.confirm = nil
			h.Fingerprint = p.fp
			if h.keyPending() {
				return tea.Batch(w.wait("logging in to "+h.Name+" once with the password to install collabstack's key…"), installKey(w, h, p.fp))
			}
			return tea.Batch(w.wait("logging in to "+h.Name+" and reading its facts…"), probeHost(w, h, p.fp))
		case "n", "N", "esc":
			p.confirm = nil
			h.Fingerprint, h.Facts = "", nil
			h.TestErr = "host key not trusted"
			p.say(true, "%s: the host key was not trusted; check the address, or compare the key on the host's console", h.Name)
		}
		return nil
	}
	if w.busy != "" {
		return nil
	}
	n := len(w.d.hosts)
	switch k.String() {
	case "up", "k":
		p.cursor = max(p.cursor-1, 0)
	case "down", "j":
		p.cursor = min(p.cursor+1, n)
	case "a", "+":
		return w.show(&hostFormPage{})
	case "enter", "e":
		if p.cursor == n {
			return w.show(&hostFormPage{})
		}
		return w.show(&hostFormPage{edit: w.d.hosts[p.cursor]})
	case "d", "delete", "x":
		if p.cursor < n {
			gone := w.d.hosts[p.cursor]
			w.d.hosts = append(w.d.hosts[:p.cursor], w.d.hosts[p.cursor+1:]...)
			p.say(false, "%s removed", gone.Name)
			p.cursor = min(p.cursor, len(w.d.hosts))
		}
	case "t":
		if p.cursor < n {
			h := w.d.hosts[p.cursor]
			h.TestErr, p.note = "", ""
			return tea.Batch(w.wait(fmt.Sprintf("connecting to %s (%s:%d)…", h.Name, h.Address, h.Port)), hostKey(w, h))
		}
	case "c", "tab":
		if prob := w.d.keyProblem(); prob != "" {
			p.say(true, "%s", prob)
			return nil
		}
		if prob := w.d.hostsProblem(); prob != "" {
			p.say(true, "%s", prob)
			return nil
		}
		return w.show(&domainPage{})
	case "esc":
		return w.show(&topologyPage{})
	}
	return nil
}

// hostKey asks the backend for a host's key fingerprint.
func hostKey(w *wizard, h *hostDraft) tea.Cmd {
	ctx, be, sh, sec := w.ctx, w.be, w.d.siteHost(h), w.d.secrets()
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, connectTimeout)
		defer cancel()
		fp, err := be.HostKey(ctx, sh, sec)
		return hostKeyMsg{h, fp, err}
	}
}

// keyInstalledMsg is the answer of installing the site's key on a host.
type keyInstalledMsg struct {
	h       *hostDraft
	keyFile string
	err     error
}

// installKey logs in once with the password, installs the site's key and
// then tests the host with it.
func installKey(w *wizard, h *hostDraft, fp string) tea.Cmd {
	ctx, be, sh, pw := w.ctx, w.be, w.d.siteHost(h), h.Password
	s := w.d.site()
	s.ResolveStateDir(w.path)
	stateDir := s.StateDir
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, connectTimeout)
		defer cancel()
		kf, err := be.InstallKey(ctx, stateDir, sh, pw, fp)
		return keyInstalledMsg{h, kf, err}
	}
}

// probeHost logs in with the confirmed key and reads the facts.
func probeHost(w *wizard, h *hostDraft, fp string) tea.Cmd {
	ctx, be, sh, sec := w.ctx, w.be, w.d.siteHost(h), w.d.secrets()
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, connectTimeout)
		defer cancel()
		f, err := be.Probe(ctx, sh, sec, fp)
		return probeMsg{h, f, err}
	}
}

// siteHost is a host as the site file will have it, with defaults.
func (d *draft) siteHost(h *hostDraft) site.Host {
	s := d.site()
	for i, x := range d.hosts {
		if x == h {
			sh := s.Hosts[i]
			one := &site.Site{Hosts: []site.Host{sh}}
			one.ApplyDefaults()
			return one.Hosts[0]
		}
	}
	return h.Host
}

// errWithHint is an error's text with its hint, if any.
func errWithHint(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer within " + connectTimeout.String() + ": check the address and that nothing blocks the port"
	}
	if h := engine.HintOf(err); h != "" {
		return err.Error() + ": " + h
	}
	return err.Error()
}

func (p *hostsPage) view(w *wizard) string {
	t := topologyOf(w.d.topology)
	var b strings.Builder
	b.WriteString(w.wrap(t.Title+": "+needsText(t)) + "\n\n")
	for i, h := range w.d.hosts {
		cur := "  "
		if i == p.cursor {
			cur = w.th.Accent.Render("▸ ")
		}
		line := fmt.Sprintf("%s · %s · %s@%s:%d · %s", h.Name, h.Role, orDefault(h.User, site.DefaultUser), h.Address, orPort(h.Port), authText(h))
		if i == p.cursor {
			line = w.th.Selected.Render(line)
		}
		b.WriteString(cur + line + "\n")
		b.WriteString("    " + hostStatus(w, h) + "\n")
	}
	cur := "  "
	add := "+ add a host"
	if p.cursor == len(w.d.hosts) {
		cur = w.th.Accent.Render("▸ ")
		add = w.th.Selected.Render(add)
	}
	b.WriteString(cur + add + "\n")
	if p.confirm != nil {
		h := p.confirm
		b.WriteString("\n" + w.th.Box.Width(w.formWidth()-2).Render(
			w.th.Subtitle.Render("Trust this host key?")+"\n"+
				fmt.Sprintf("%s (%s:%d) shows the key\n  %s\n", h.Name, h.Address, orPort(h.Port), w.th.Accent.Render(p.fp))+
				w.th.Muted.Render("Compare it on the host: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub")+"\n"+
				w.th.Key.Render("y")+" trust and log in   "+w.th.Key.Render("n")+" do not trust"))
	}
	if p.note != "" {
		style := w.th.OK
		icon := iconDone
		if p.noteErr {
			style, icon = w.th.Error, iconFailed
		}
		b.WriteString("\n" + style.Render(w.wrap(icon+" "+p.note)))
	}
	return strings.TrimRight(b.String(), "\n")
}

func needsText(t topologyInfo) string {
	var parts []string
	for _, r := range t.Roles {
		n := "any"
		if containsStr(t.Required, r) {
			n = "exactly 1"
		} else if r == site.RoleStandby {
			n = "at most 1"
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", r, n))
	}
	return "hosts with the roles " + strings.Join(parts, ", ") + "."
}

func hostStatus(w *wizard, h *hostDraft) string {
	switch {
	case h.TestErr != "":
		return w.th.Error.Render(iconFailed + " " + h.TestErr)
	case h.Facts != nil:
		return w.th.OK.Render(iconDone+" ") + factsLine(*h.Facts)
	}
	if h.keyPending() {
		return w.th.Muted.Render(iconPending + " key not installed: press t to log in once with the password")
	}
	return w.th.Muted.Render(iconPending + " not tested: press t to test the connection")
}

func authText(h *hostDraft) string {
	if h.keyPending() {
		return "password once, then the site's key"
	}
	if h.Bootstrap {
		return "the site's key"
	}
	switch h.Auth.Method {
	case site.AuthAgent:
		return "ssh-agent"
	case site.AuthPassword:
		return "password"
	}
	return "key " + orDefault(h.Auth.KeyFile, site.DefaultKeyFile)
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func orPort(p int) int {
	if p == 0 {
		return site.DefaultSSHPort
	}
	return p
}

func (p *hostsPage) help(w *wizard) string {
	if p.confirm != nil {
		return "y trust · n do not trust"
	}
	return "↑/↓ host · a add · enter edit · d remove · t test connection · c continue · esc back"
}
