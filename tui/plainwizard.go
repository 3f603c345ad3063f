package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/collabstack/collabstack/steps/site"
)

// maxRetries bounds the answers tried for one question, so a wrong script
// stops instead of feeding the next answers to the wrong question.
const maxRetries = 5

// prompter asks questions line by line: no colours, no cursor movement,
// one question per line, errors on a line of their own. Screen readers
// and scripts both read it.
type prompter struct {
	in  *lineReader
	out io.Writer
	// echo writes each answer after its question, so the log of a
	// scripted run (input not a terminal) reads like a conversation.
	echo bool
}

// read reads an answer, echoing it when the input is a script.
func (p *prompter) read(secret bool) (string, error) {
	var line string
	var err error
	if secret {
		line, err = p.in.ReadSecret()
	} else {
		line, err = p.in.ReadLine()
	}
	switch {
	case err == nil && p.echo && secret:
		fmt.Fprintln(p.out, "(hidden)")
	case err == nil && p.echo:
		fmt.Fprintln(p.out, line)
	case err != nil || secret:
		// A terminal echoes the line's end, except for a password.
		fmt.Fprintln(p.out)
	}
	return line, err
}

func (p *prompter) say(format string, args ...any) { fmt.Fprintf(p.out, format+"\n", args...) }

// ask reads a value, re-asking while check rejects it; empty takes def.
func (p *prompter) ask(question, def string, check func(string) error) (string, error) {
	for try := 0; try < maxRetries; try++ {
		if def != "" {
			fmt.Fprintf(p.out, "%s [%s]: ", question, def)
		} else {
			fmt.Fprintf(p.out, "%s: ", question)
		}
		line, err := p.read(false)
		if err != nil {
			return "", err
		}
		v := strings.TrimSpace(line)
		if v == "" {
			v = def
		}
		if check != nil {
			if err := check(v); err != nil {
				p.say("  error: %s", err)
				continue
			}
		}
		return v, nil
	}
	return "", fmt.Errorf("%s: no valid answer after %d tries", question, maxRetries)
}

// secret reads a password (not echoed on a terminal).
func (p *prompter) secret(question string, check func(string) error) (string, error) {
	for try := 0; try < maxRetries; try++ {
		fmt.Fprintf(p.out, "%s (not shown): ", question)
		v, err := p.read(true)
		if err != nil {
			return "", err
		}
		if check != nil {
			if err := check(v); err != nil {
				p.say("  error: %s", err)
				continue
			}
		}
		return v, nil
	}
	return "", fmt.Errorf("%s: no valid answer after %d tries", question, maxRetries)
}

// choice is an option of choose.
type choice struct {
	value, label string
}

// choose asks for one of options by number or value.
func (p *prompter) choose(question string, options []choice, def string) (string, error) {
	p.say("%s", question)
	defN := ""
	for i, o := range options {
		p.say("  %d) %s", i+1, o.label)
		if o.value == def {
			defN = strconv.Itoa(i + 1)
		}
	}
	var picked string
	_, err := p.ask(fmt.Sprintf("Choose 1-%d", len(options)), defN, func(v string) error {
		if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= len(options) {
			picked = options[n-1].value
			return nil
		}
		for _, o := range options {
			if strings.EqualFold(v, o.value) {
				picked = o.value
				return nil
			}
		}
		return fmt.Errorf("%q is not one of the choices: give a number from 1 to %d", v, len(options))
	})
	return picked, err
}

// confirm asks a yes/no question.
func (p *prompter) confirm(question string, def bool) (bool, error) {
	d := "y/N"
	if def {
		d = "Y/n"
	}
	var yes bool
	_, err := p.ask(question+" ("+d+")", "", func(v string) error {
		switch strings.ToLower(v) {
		case "":
			yes = def
		case "y", "yes":
			yes = true
		case "n", "no":
			yes = false
		default:
			return fmt.Errorf("%q: answer y or n", v)
		}
		return nil
	})
	return yes, err
}

// plainWizard asks the wizard's questions line by line.
type plainWizard struct {
	ctx  context.Context
	be   Backend
	p    *prompter
	path string
	d    *draft
}

func runPlainWizard(ctx context.Context, o Options) (string, error) {
	p := &prompter{in: newLineReader(o.In), out: o.Out, echo: !isTerminal(o.In)}
	w := &plainWizard{ctx: ctx, be: o.Backend, p: p, path: o.SitePath}
	path, err := w.run()
	if errors.Is(err, errInputEnded) && path == "" {
		return "", fmt.Errorf("%w: %w", ErrAborted, err)
	}
	return path, err
}

func (w *plainWizard) run() (string, error) {
	p := w.p
	p.say("collabstack: a new site in %s", w.path)
	w.d = newDraft(w.be.Catalog())
	e, err := w.be.Existing(w.path)
	if err != nil {
		p.say("note: the file at %s cannot be read (%s); a new site replaces it when you confirm.", w.path, oneLine(err.Error()))
	}
	if e != nil && e.Site != nil {
		p.say("%s", existingText(w.path, e))
		var opts []choice
		for _, o := range startOptions(e) {
			opts = append(opts, choice{o.Value, o.Key})
		}
		what, err := p.choose("What do you want to do?", opts, opts[0].value)
		if err != nil {
			return "", err
		}
		switch what {
		case startResume:
			return w.path, w.apply()
		case startAdd:
			w.d = draftFrom(e.Site, w.be.Catalog())
			w.probeAll()
			return w.fromComponents()
		}
	}
	if err := w.topology(); err != nil {
		return "", err
	}
	if w.d.topology == site.TopologyLab {
		n, err := p.ask("How many lab nodes (1 to 9; 2 make a manager and a worker)", strconv.Itoa(w.d.labNodes), checkLabNodes)
		if err != nil {
			return "", err
		}
		w.d.labNodes, _ = strconv.Atoi(n)
		if f, err := w.be.LocalFacts(w.ctx); err == nil {
			w.d.localFacts = &f
			p.say("This machine: %s", factsLine(f))
		}
	} else if err := w.hosts(); err != nil {
		return "", err
	}
	if err := w.domain(); err != nil {
		return "", err
	}
	return w.fromComponents()
}

func (w *plainWizard) fromComponents() (string, error) {
	if err := w.components(); err != nil {
		return "", err
	}
	if err := w.firstAdmin(); err != nil {
		return "", err
	}
	if err := w.advanced(); err != nil {
		return "", err
	}
	return w.review()
}

// advanced asks, when the user wants to, what the site otherwise fills
// with defaults; each question shows the default and takes it on enter.
func (w *plainWizard) advanced() error {
	p, d := w.p, w.d
	d.startAdvanced()
	a := &d.adv
	what := "jump hosts, node labels and the image source"
	if d.hasVMs() {
		what = "jump hosts, node labels, the image source, network ranges and every VM's size and address"
	}
	change, err := p.confirm("Change the advanced settings ("+what+")?", false)
	if err != nil || !change {
		return err
	}
	if a.imageSource, err = p.choose("Image source", []choice{
		{site.ImagesPull, "pull from the registries (default)"},
		{site.ImagesMirror, "a registry mirror on your network"},
		{site.ImagesBundle, "an offline bundle (collabstack images save)"},
	}, orDefault(a.imageSource, site.ImagesPull)); err != nil {
		return err
	}
	switch a.imageSource {
	case site.ImagesMirror:
		if a.mirror, err = p.ask("Registry mirror (host:port)", a.mirror, d.checkMirror); err != nil {
			return err
		}
	case site.ImagesBundle:
		if a.bundle, err = p.ask("Bundle (the file `collabstack images save` wrote)", a.bundle, d.checkBundle); err != nil {
			return err
		}
	}
	for i, h := range d.hosts {
		if i >= len(a.jump) {
			a.jump = append(a.jump, h.Jump)
			a.labels = append(a.labels, labelsText(h.Labels))
		}
		if a.jump[i], err = p.ask(h.Name+": jump host (empty: direct)", a.jump[i], d.checkJump(i)); err != nil {
			return err
		}
		if a.labels[i], err = p.ask(h.Name+": node labels (key=value, comma-separated)", a.labels[i], d.checkLabels(i)); err != nil {
			return err
		}
	}
	d.keepHostAnswers()
	if !d.hasVMs() {
		return nil
	}
	if a.lan, err = p.ask("LAN range", a.lan, d.checkLAN); err != nil {
		return err
	}
	if a.vpn, err = p.ask("VPN range", a.vpn, d.checkVPN); err != nil {
		return err
	}
	def := d.defaults()
	for i, vm := range def.Proxmox.VMs {
		if i >= len(a.vmSize) {
			break
		}
		if a.vmSize[i], err = p.ask(vm.Name+": size (cores, memory MB, disk GB)", a.vmSize[i], d.checkVMSize(i)); err != nil {
			return err
		}
		if a.vmAddr[i], err = p.ask(vm.Name+": address (empty: "+vm.Address+", following the LAN)", a.vmAddr[i], d.checkVMAddr(i)); err != nil {
			return err
		}
	}
	return nil
}

func (w *plainWizard) topology() error {
	var opts []choice
	for _, t := range topologies {
		opts = append(opts, choice{t.Name, t.Title + ": " + t.Explain})
	}
	def := w.d.topology
	if def == "" {
		def = site.TopologyLab
	}
	t, err := w.p.choose("Where does the site run?", opts, def)
	if err != nil {
		return err
	}
	w.d.topology = t
	w.p.say("%s", topologyOf(t).Drawing)
	if w.d.tls == "" || w.d.domain == "" {
		w.d.tls = site.TLSLetsEncrypt
		if t == site.TopologyLab {
			w.d.tls = site.TLSSelfSigned
		}
	}
	return nil
}

func (w *plainWizard) hosts() error {
	p := w.p
	t := topologyOf(w.d.topology)
	p.say("Hosts: %s", needsText(t))
	for {
		if err := w.host(); err != nil {
			return err
		}
		prob := w.d.hostsProblem()
		if prob != "" {
			p.say("Still needed: %s", prob)
			continue
		}
		more, err := p.confirm("Add another host?", false)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
}

// host asks for one host and offers to test the connection.
func (w *plainWizard) host() error {
	p, d := w.p, w.d
	h := &hostDraft{}
	p.say("Host %d", len(d.hosts)+1)
	t := topologyOf(d.topology)
	var roles []choice
	for _, r := range t.Roles {
		roles = append(roles, choice{r, r + ": " + roleExplain[r]})
	}
	role, err := p.choose("Role", roles, d.nextRole())
	if err != nil {
		return err
	}
	others := d.hostNames(nil)
	name, err := p.ask("Name", d.nextName(role), func(v string) error { return checkUniqueName(v, others) })
	if err != nil {
		return err
	}
	addr, err := p.ask("Address (IP or DNS name)", "", checkAddress)
	if err != nil {
		return err
	}
	port, err := p.ask("SSH port", strconv.Itoa(site.DefaultSSHPort), checkPort)
	if err != nil {
		return err
	}
	user, err := p.ask("User", site.DefaultUser, checkUser)
	if err != nil {
		return err
	}
	defAuth := site.AuthKey
	if !defaultKeyExists() && !d.anyKeyFile() {
		defAuth = authOnce
	}
	auth, err := p.choose("Log in with", []choice{
		{site.AuthKey, "a private key file"}, {site.AuthAgent, "ssh-agent"}, {site.AuthPassword, "a password, kept in the secrets file"},
		{authOnce, "I only have a password: make a key and install it"},
	}, defAuth)
	if err != nil {
		return err
	}
	n, _ := strconv.Atoi(port)
	method := auth
	if auth == authOnce {
		method = site.AuthKey
	}
	h.Host = site.Host{Name: name, Role: role, Address: addr, Port: n, User: user, Auth: site.Auth{Method: method}}
	switch auth {
	case authOnce:
		h.Bootstrap = true
		if h.Password, err = p.secret("Password (used once to install collabstack's key; not stored)", checkSecret); err != nil {
			return err
		}
		if user != "root" {
			if h.KeepPassword, err = p.confirm("Keep it as the sudo password?", false); err != nil {
				return err
			}
		}
	case site.AuthKey:
		if h.Auth.KeyFile, err = p.ask("Private key file", site.DefaultKeyFile, checkKeyFile); err != nil {
			return err
		}
	case site.AuthPassword:
		if h.Password, err = p.secret("Password (kept in the secrets file, never in the site file)", checkSecret); err != nil {
			return err
		}
	}
	sudo := user != "root"
	if sudo {
		if sudo, err = p.confirm("Use sudo for privileged commands?", true); err != nil {
			return err
		}
		if sudo && h.KeepPassword {
			h.SudoPassword = h.Password
		} else if sudo && auth != site.AuthPassword {
			if h.SudoPassword, err = p.secret("sudo password (empty when sudo asks for none)", nil); err != nil {
				return err
			}
		}
	}
	h.Sudo = &sudo
	d.hosts = append(d.hosts, h)
	if h.Bootstrap {
		return w.installKey(h)
	}
	test, err := p.confirm("Test the connection to "+name+" now?", true)
	if err != nil || !test {
		return err
	}
	return w.test(h)
}

// installKey logs in once with the password and installs the site's key,
// until it works or the user keeps the password instead.
func (w *plainWizard) installKey(h *hostDraft) error {
	p := w.p
	p.say("collabstack logs in to %s once with the password to install its key.", h.Name)
	for {
		if err := w.test(h); err != nil {
			return err
		}
		if !h.keyPending() {
			return nil
		}
		again, err := p.confirm("Try again?", true)
		if err != nil {
			return err
		}
		if again {
			continue
		}
		h.Bootstrap, h.Auth = false, site.Auth{Method: site.AuthPassword}
		p.say("%s logs in with the password, kept in the secrets file; `collabstack hosts add-key %s` installs a key later.", h.Name, h.Name)
		return nil
	}
}

// test shows the host key, asks to trust it and reads the facts.
func (w *plainWizard) test(h *hostDraft) error {
	p := w.p
	p.say("Connecting to %s (%s:%d)…", h.Name, h.Address, orPort(h.Port))
	ctx, cancel := context.WithTimeout(w.ctx, connectTimeout)
	defer cancel()
	fp, err := w.be.HostKey(ctx, w.d.siteHost(h), w.d.secrets())
	if err != nil {
		h.TestErr = errWithHint(err)
		p.say("  error: %s", h.TestErr)
		return nil
	}
	p.say("%s shows the host key %s", h.Name, fp)
	p.say("Compare it on the host: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub")
	ok, err := p.confirm("Trust this host key?", false)
	if err != nil {
		return err
	}
	if !ok {
		h.TestErr = "host key not trusted"
		p.say("Not trusted: check the address before you install.")
		return nil
	}
	h.Fingerprint = fp
	if h.keyPending() {
		s := w.d.site()
		s.ResolveStateDir(w.path)
		kf, err := w.be.InstallKey(ctx, s.StateDir, w.d.siteHost(h), h.Password, fp)
		if err != nil {
			h.TestErr = errWithHint(err)
			p.say("  error: %s", h.TestErr)
			return nil
		}
		h.Auth.KeyFile = kf
		if !h.KeepPassword {
			h.Password = ""
		}
		p.say("  collabstack's key %s is installed and logs in; the password is no longer needed", kf)
	}
	f, err := w.be.Probe(ctx, w.d.siteHost(h), w.d.secrets(), fp)
	if err != nil {
		h.TestErr = errWithHint(err)
		p.say("  error: %s", h.TestErr)
		return nil
	}
	h.Facts = &f
	p.say("  %s: %s", h.Name, factsLine(f))
	return nil
}

// probeAll reads the facts of the site's hosts with their pinned keys.
func (w *plainWizard) probeAll() {
	for _, h := range w.d.hosts {
		if !appRoles[h.Role] {
			continue
		}
		ctx, cancel := context.WithTimeout(w.ctx, connectTimeout)
		f, err := w.be.Probe(ctx, w.d.siteHost(h), w.d.secrets(), "")
		cancel()
		if err != nil {
			w.p.say("  %s: %s", h.Name, errWithHint(err))
			continue
		}
		h.Facts = &f
		w.p.say("  %s: %s", h.Name, factsLine(f))
	}
	if w.d.topology == site.TopologyLab && len(w.d.hosts) == 0 {
		if f, err := w.be.LocalFacts(w.ctx); err == nil {
			w.d.localFacts = &f
		}
	}
}

func (w *plainWizard) domain() error {
	p, d := w.p, w.d
	var err error
	if d.domain, err = p.ask("Domain", d.domain, checkDomain); err != nil {
		return err
	}
	if d.topology != site.TopologyLab {
		ctx, cancel := context.WithTimeout(w.ctx, 10*time.Second)
		addrs, rerr := w.be.Resolve(ctx, d.domain)
		cancel()
		dp := &domainPage{lookup: &resolveMsg{d.domain, addrs, rerr}}
		p.say("%s", dp.hint(&wizard{d: d, th: plainTheme(), width: 1000}))
	}
	if d.email, err = p.ask("Admin e-mail", d.email, checkEmail); err != nil {
		return err
	}
	d.tls, err = p.choose("TLS certificates", []choice{
		{site.TLSLetsEncrypt, "Let's Encrypt (the domain must reach this site on port 80)"},
		{site.TLSLetsEncryptStaging, "Let's Encrypt staging (for tests; browsers warn)"},
		{site.TLSSelfSigned, "self-signed (labs and private networks; browsers warn)"},
	}, d.tls)
	if err != nil {
		return err
	}
	for try := 0; ; try++ {
		cerr := checkTLS(d.tls, d.domain)
		if cerr == nil {
			return nil
		}
		p.say("  error: %s", cerr)
		if try >= maxRetries {
			return cerr
		}
		if d.tls, err = p.choose("TLS certificates", []choice{{site.TLSSelfSigned, "self-signed"}, {site.TLSLetsEncrypt, "Let's Encrypt"}}, site.TLSSelfSigned); err != nil {
			return err
		}
	}
}

func (w *plainWizard) components() error {
	p, c := w.p, w.d.cat
	p.say("Components (what a component needs is added with it):")
	cats, byCat := c.categories()
	for _, cat := range cats {
		p.say("  %s", cat)
		for _, a := range byCat[cat] {
			mark := " "
			if c.isSelected(a.Name) {
				mark = "x"
			}
			need := ""
			if len(a.Requires) > 0 {
				need = "; needs " + strings.Join(a.Requires, ", ")
			}
			p.say("    [%s] %-12s %s (%s, %d GB%s)", mark, a.Name, a.Description, mb(a.RAMMB), a.DiskGB, need)
		}
	}
	hw := w.d.hardware()
	if hw.known() {
		p.say("Hardware: %s of memory and %d GB free on %s.", mb(hw.RAMMB), hw.DiskGB, strings.Join(hw.Hosts, ", "))
	} else {
		p.say("The hardware is not known (no host tested): the budget is not checked.")
	}
	cur := strings.Join(c.selected(), ",")
	_, err := p.ask("Components, separated by commas (- for none)", orDefault(cur, "-"), func(v string) error {
		var names []string
		if v != "-" {
			for _, n := range strings.Split(v, ",") {
				if n = strings.TrimSpace(n); n != "" {
					names = append(names, n)
				}
			}
		}
		return c.set(names, hw)
	})
	if err != nil {
		return err
	}
	b := c.budget(hw)
	p.say("Chosen: %s", w.d.componentsLine())
	if b.Known {
		p.say("Budget: %s of %s memory, %d of %d GB disk.", mb(b.NeedRAMMB), mb(b.HaveRAMMB), b.NeedDiskGB, b.HaveDiskGB)
	}
	return nil
}

// firstAdmin asks, when the directory is chosen, for the person apply
// makes first: in the admins group, able to log in to every app wired to
// the directory (its password goes into the secrets file).
func (w *plainWizard) firstAdmin() error {
	p, d := w.p, w.d
	if !d.wantsAdmin() {
		return nil
	}
	p.say("The directory (openldap) holds one account for every app: who is the first administrator?")
	var err error
	if d.admin.Name, err = p.ask("Full name", d.admin.Name, checkPersonName); err != nil {
		return err
	}
	if d.admin.Email, err = p.ask("E-mail", orDefault(d.admin.Email, d.email), checkEmail); err != nil {
		return err
	}
	if d.admin.User, err = p.ask("User name (the login everywhere)", orDefault(d.admin.User, userNameFrom(d.admin.Email)), checkUserName); err != nil {
		return err
	}
	return nil
}

func (w *plainWizard) review() (string, error) {
	p, d := w.p, w.d
	if err := w.be.Validate(d.withDefaults()); err != nil {
		return "", fmt.Errorf("the site is not complete: %w", err)
	}
	p.say("Review")
	p.say("  Site file:  %s (mode 0600, written before the install starts)", w.path)
	p.say("  Site:       %s", d.summary())
	p.say("  Advanced:   %s", advancedSummary(d))
	p.say("  Components: %s", d.componentsLine())
	ctx, cancel := context.WithTimeout(w.ctx, 2*time.Minute)
	ps, err := w.be.Plan(ctx, d.withDefaults(), d.secrets())
	cancel()
	if err != nil {
		p.say("  The hosts could not be checked: %s", errWithHint(err))
	} else {
		var est time.Duration = ps.Estimate
		for _, hp := range ps.Hosts {
			p.say("  %s:", hp.Host)
			for _, s := range hp.Steps {
				state := "done"
				switch {
				case s.Unknown:
					state = "?"
				case s.Change:
					state = "change"
				}
				p.say("    %-6s %s", state, s.Title)
			}
		}
		if est > 0 {
			p.say("  Estimated time: about %s", roundDur(est))
		}
	}
	what, err := p.choose("Write the site file and install?", []choice{
		{"install", "write the site file and install now"},
		{"write", "write the site file only (install later with collabstack apply)"},
		{"quit", "quit without writing anything"},
	}, "install")
	if err != nil {
		return "", err
	}
	if what == "quit" {
		return "", ErrAborted
	}
	if err := w.be.Save(d.site(), d.secrets(), w.path); err != nil {
		return "", err
	}
	p.say("Wrote %s.", w.path)
	if what == "write" {
		p.say("Install with: collabstack apply -c %s", w.path)
		return w.path, nil
	}
	return w.path, w.apply()
}

// apply runs the install with plain progress lines.
func (w *plainWizard) apply() error {
	res, err := w.be.Run(w.ctx, w.path, PlainPrinter(w.p.out))
	if err != nil {
		fmt.Fprint(w.p.out, resumeText(w.path, err))
		return err
	}
	fmt.Fprint(w.p.out, resultText(w.path, res))
	return nil
}
