package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"

	"github.com/collabstack/collabstack/steps/site"
)

// resolveDelay waits for the typing to pause before looking the domain up.
const resolveDelay = 400 * time.Millisecond

// domainPage asks for the domain, the admin e-mail and the TLS mode, and
// says whether the domain resolves to one of the site's hosts.
type domainPage struct {
	form *huh.Form

	seq     int
	asked   string // the domain a lookup was scheduled for
	lookup  *resolveMsg
	pending bool
}

type resolveTickMsg struct {
	seq    int
	domain string
}

type resolveMsg struct {
	domain string
	addrs  []string
	err    error
}

func (p *domainPage) name() string { return "Domain" }

func (p *domainPage) enter(w *wizard) tea.Cmd {
	if w.d.tls == "" {
		w.d.tls = site.TLSLetsEncrypt
	}
	modes := []huh.Option[string]{
		huh.NewOption("Let's Encrypt (the domain must reach this site on port 80)", site.TLSLetsEncrypt),
		huh.NewOption("Let's Encrypt staging (for tests; browsers warn)", site.TLSLetsEncryptStaging),
		huh.NewOption("self-signed (labs and private networks; browsers warn)", site.TLSSelfSigned),
	}
	d := w.d
	domain, tls, errStyle := newLive(&d.domain), newLive(&d.tls), w.th.Error
	p.form = w.newForm(huh.NewGroup(
		w.liveField("Domain", "the name the site answers on, such as example.org", domain, checkDomain),
		w.liveInput("Admin e-mail", "Let's Encrypt and the apps send notices here", &d.email, checkEmail),
		huh.NewSelect[string]().Title("TLS certificates").Options(modes...).Accessor(tls).
			Validate(func(mode string) error { return checkTLS(mode, domain.Get()) }).
			DescriptionFunc(func() string {
				if err := checkTLS(tls.Get(), domain.Get()); err != nil {
					return errStyle.Render(iconFailed + " " + err.Error())
				}
				return "how the edge gets its certificates"
			}, []*liveValue{tls, domain}),
	))
	return tea.Batch(p.form.Init(), p.maybeResolve(w))
}

// maybeResolve schedules a lookup when the domain changed and is valid.
func (p *domainPage) maybeResolve(w *wizard) tea.Cmd {
	dom := w.d.domain
	if dom == p.asked || checkDomain(dom) != nil || w.d.topology == site.TopologyLab {
		return nil
	}
	p.asked = dom
	p.seq++
	seq := p.seq
	return tea.Tick(resolveDelay, func(time.Time) tea.Msg { return resolveTickMsg{seq, dom} })
}

func (p *domainPage) update(w *wizard, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case resolveTickMsg:
		if msg.seq != p.seq {
			return nil
		}
		p.pending = true
		ctx, be := w.ctx, w.be
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			addrs, err := be.Resolve(ctx, msg.domain)
			return resolveMsg{msg.domain, addrs, err}
		}
	case resolveMsg:
		if msg.domain == w.d.domain {
			p.pending = false
			p.lookup = &msg
		}
		return nil
	case tea.KeyMsg:
		if msg.String() == "esc" {
			if w.d.topology == site.TopologyLab {
				return w.show(&labPage{})
			}
			return w.show(&hostsPage{})
		}
	}
	m, cmd := p.form.Update(msg)
	p.form = m.(*huh.Form)
	if p.form.State == huh.StateCompleted {
		return w.show(&componentsPage{})
	}
	return tea.Batch(cmd, p.maybeResolve(w))
}

func (p *domainPage) view(w *wizard) string {
	return formView(p.form) + "\n\n" + w.wrap(p.hint(w))
}

// hint says whether the domain resolves to one of the site's hosts.
func (p *domainPage) hint(w *wizard) string {
	d := w.d
	if d.topology == site.TopologyLab {
		return w.th.Muted.Render("The lab answers on this machine: the domain need not resolve, and the certificate is self-signed.")
	}
	if checkDomain(d.domain) != nil {
		return ""
	}
	l := p.lookup
	if l == nil || l.domain != d.domain {
		return w.th.Muted.Render("checking whether " + d.domain + " resolves…")
	}
	hosts := map[string]string{}
	var list []string
	for _, h := range d.hosts {
		hosts[h.Address] = h.Name
		list = append(list, h.Name+" "+h.Address)
	}
	if d.base != nil && d.base.Network != nil && d.base.Network.PublicIPv4 != "" {
		hosts[d.base.Network.PublicIPv4] = "the public address"
	}
	switch {
	case l.err != nil:
		return w.th.Warn.Render(iconWarn + " cannot look " + d.domain + " up: " + l.err.Error())
	case len(l.addrs) == 0:
		return w.th.Warn.Render(iconWarn+" "+d.domain+" does not resolve yet.") +
			" Before apply, point its A record at the site's public address" + letsEncryptNote(d.tls)
	}
	for _, a := range l.addrs {
		if n, ok := hosts[a]; ok {
			return w.th.OK.Render(fmt.Sprintf("%s %s resolves to %s, the address of %s.", iconDone, d.domain, a, n))
		}
	}
	return w.th.Warn.Render(fmt.Sprintf("%s %s resolves to %s, not to a host of this site (%s).", iconWarn, d.domain, strings.Join(l.addrs, ", "), strings.Join(list, ", "))) +
		" Behind NAT that may be your public address; otherwise fix the DNS record" + letsEncryptNote(d.tls)
}

func letsEncryptNote(mode string) string {
	if mode == site.TLSSelfSigned {
		return "."
	}
	return ": Let's Encrypt checks the domain from the internet."
}

func (p *domainPage) help(w *wizard) string {
	return "enter next · shift+tab previous · esc back · ctrl+c quit"
}

func (p *domainPage) currentForm() *huh.Form { return p.form }
func (p *domainPage) formReserve() int       { return 4 }
