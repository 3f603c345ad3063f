package tui

import (
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"

	"github.com/collabstack/collabstack/steps/site"
)

// advancedPage asks what the site file otherwise fills with defaults: the
// image source, jump hosts and node labels, and for the Proxmox
// topologies the network ranges and every VM's size and address. Each
// field shows its default and is checked by the site validation.
type advancedPage struct {
	form   *huh.Form
	change bool
}

func (p *advancedPage) name() string { return "Advanced" }

// advancedIntro is the line above the form.
const advancedIntro = "Every value below is filled with its default; enter keeps it. The review lists what you change."

func (p *advancedPage) enter(w *wizard) tea.Cmd {
	d := w.d
	d.startAdvanced()
	a := &d.adv
	def := d.defaults()
	input := w.liveInput
	sources := []huh.Option[string]{
		huh.NewOption("pull from the registries (default)", site.ImagesPull),
		huh.NewOption("a registry mirror on your network", site.ImagesMirror),
		huh.NewOption("an offline bundle (collabstack images save)", site.ImagesBundle),
	}
	what := "jump hosts, node labels and the image source"
	if d.hasVMs() {
		what = "jump hosts, node labels, the image source, network ranges and every VM's size and address"
	}
	if nd := d.nonDefaults(); len(nd) > 0 {
		p.change = true
	}
	hide := func() bool { return !p.change }
	groups := []*huh.Group{
		huh.NewGroup(
			huh.NewConfirm().Title("Change the advanced settings?").
				Description(what + ": each has a default that suits most sites").
				Affirmative("Yes").Negative("No, keep the defaults").Value(&p.change),
		),
		huh.NewGroup(
			huh.NewSelect[string]().Title("Image source").Description("where the hosts get the container images; default: pull").
				Options(sources...).Value(&a.imageSource),
		).Title("Images").WithHideFunc(hide),
		huh.NewGroup(
			input("Registry mirror", "host:port of the mirror, such as registry.lan:5000", &a.mirror, d.checkMirror),
		).WithHideFunc(func() bool { return !p.change || a.imageSource != site.ImagesMirror }),
		huh.NewGroup(
			input("Bundle", "the file `collabstack images save` wrote", &a.bundle, d.checkBundle),
		).WithHideFunc(func() bool { return !p.change || a.imageSource != site.ImagesBundle }),
	}
	var hostFields []huh.Field
	for i, h := range d.hosts {
		if i >= len(a.jump) {
			a.jump = append(a.jump, h.Jump)
			a.labels = append(a.labels, labelsText(h.Labels))
		}
		defLabels := orDefault(labelsText(defaultLabels(h.Host)), "none")
		hostFields = append(hostFields,
			input(h.Name+": jump host", "a host of this site to reach "+h.Name+" through; default: none (direct)", &a.jump[i], d.checkJump(i)),
			input(h.Name+": node labels", "key=value, comma-separated; default: "+defLabels, &a.labels[i], d.checkLabels(i)),
		)
	}
	if len(hostFields) > 0 {
		groups = append(groups, huh.NewGroup(hostFields...).Title("Hosts").WithHideFunc(hide))
	}
	if d.hasVMs() && def.Network != nil && def.Proxmox != nil {
		groups = append(groups, huh.NewGroup(
			input("LAN range", "the swarm VMs' network; default: "+def.Network.LAN, &a.lan, d.checkLAN),
			input("VPN range", "the VPN clients' network, apart from the LAN; default: "+def.Network.VPN, &a.vpn, d.checkVPN),
		).Title("Network").WithHideFunc(hide))
		var vmFields []huh.Field
		for i, vm := range def.Proxmox.VMs {
			if i >= len(a.vmSize) {
				break
			}
			vmFields = append(vmFields,
				input(vm.Name+": size", "cores, memory MB, disk GB; default: "+sizeText(vm), &a.vmSize[i], d.checkVMSize(i)),
				input(vm.Name+": address", "on the LAN, with its prefix; empty: the default ("+vm.Address+" on the default LAN)", &a.vmAddr[i], d.checkVMAddr(i)),
			)
		}
		groups = append(groups, huh.NewGroup(vmFields...).Title("Virtual machines").WithHideFunc(hide))
	}
	p.form = w.newForm(groups...)
	return p.form.Init()
}

func (p *advancedPage) update(w *wizard, msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyMsg); ok && k.String() == "esc" {
		w.d.keepHostAnswers()
		if w.d.wantsAdmin() {
			return w.show(&adminPage{})
		}
		return w.show(&componentsPage{})
	}
	m, cmd := p.form.Update(msg)
	p.form = m.(*huh.Form)
	if p.form.State != huh.StateCompleted {
		return cmd
	}
	w.d.keepHostAnswers()
	return w.show(&reviewPage{})
}

func (p *advancedPage) view(w *wizard) string {
	return w.th.Muted.Render(w.wrap(advancedIntro)) + "\n\n" + formView(p.form)
}

func (p *advancedPage) help(w *wizard) string {
	return "enter next · shift+tab previous · esc back · ctrl+c quit"
}

func (p *advancedPage) currentForm() *huh.Form { return p.form }
func (p *advancedPage) formReserve() int       { return 2 }

// advancedSummary is the review's line of non-default answers.
func advancedSummary(d *draft) string {
	nd := d.nonDefaults()
	if len(nd) == 0 {
		return "all defaults"
	}
	return strings.Join(nd, "; ")
}
