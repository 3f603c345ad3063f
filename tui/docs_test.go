package tui

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
)

// docsPath is the page the captures go to.
const docsPath = "../docs/wizard.md"

// Size of the terminal the captures are taken on.
const docsWidth, docsHeight = 90, 30

// TestDocs draws every screen of the wizard and the run view and checks
// docs/wizard.md shows them as they are. Regenerate the page with
//
//	go test ./tui -run TestDocs -update
func TestDocs(t *testing.T) {
	var b strings.Builder
	b.WriteString(docsIntro)
	for _, s := range docScreens(t) {
		b.WriteString("\n## " + s.title + "\n\n" + s.text + "\n\n```text\n" + s.screen + "```\n")
	}
	b.WriteString(docsPlainIntro)
	b.WriteString("\n```text\n" + plainTranscript(t) + "```\n")
	b.WriteString(docsOutro)
	page := b.String()

	if updateGolden() {
		if err := os.WriteFile(docsPath, []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatalf("%v: run go test ./tui -run TestDocs -update", err)
	}
	if string(old) != page {
		a, b := strings.Split(string(old), "\n"), strings.Split(page, "\n")
		for i := 0; i < min(len(a), len(b)); i++ {
			if a[i] != b[i] {
				t.Fatalf("docs/wizard.md is stale from line %d:\n  page: %q\n  now:  %q\nrun go test ./tui -run TestDocs -update", i+1, a[i], b[i])
			}
		}
		t.Fatalf("docs/wizard.md is stale (%d lines, now %d): run go test ./tui -run TestDocs -update", len(a), len(b))
	}
}

type docScreen struct{ title, text, screen string }

// squeeze keeps at most one blank line in a row, so the captures do not
// show the empty rows of the terminal.
func squeeze(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l == "" && len(out) > 0 && out[len(out)-1] == "" {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// docWizard drives the wizard on the page p, with the draft d.
func docWizard(t *testing.T, be *FakeBackend, d *draft, p page, existing *ExistingSite) *driver {
	w := testWizard(be, "/home/me/collabstack.yaml")
	w.d, w.first, w.existing = d, p, existing
	return newDriver(t, w, docsWidth, docsHeight)
}

func docScreens(t *testing.T) []docScreen {
	var out []docScreen
	add := func(title, text string, d *driver) {
		out = append(out, docScreen{title, text, squeeze(d.view())})
	}
	addView := func(title, text, view string) {
		out = append(out, docScreen{title, text, squeeze(screenText(view))})
	}
	be := NewFakeBackend()
	key := writeKey(t, t.TempDir())
	tested := func() *draft {
		d := testedDraft(be, key)
		d.hosts[0].Auth.KeyFile = "~/.ssh/id_ed25519"
		return d
	}

	// Start: a site file with an interrupted install.
	s := tested().site()
	s.Components = nil
	existing := &ExistingSite{Site: s, Interrupted: true, Done: 12, Total: 40,
		LastRun: time.Date(2025, 3, 14, 9, 26, 0, 0, time.Local)}
	d := docWizard(t, be, newDraft(be.Catalog()), &startPage{}, existing)
	add("Start: a site is already there",
		"When a site file is at the path, the wizard first says what it found and offers to resume the interrupted install (the journal knows how far it got), to add components to that site, or to start a new one. Resuming runs the same plan again: steps already done check as done.", d)

	// Topology.
	d = docWizard(t, be, newDraft(be.Catalog()), &topologyPage{}, nil)
	d.keys("down")
	add("Topology",
		"Four shapes of site, each with a short explanation and a drawing of what runs where; the box follows the cursor.", d)

	// Host form with a mistake.
	dr := newDraft(be.Catalog())
	dr.topology = "kopnik"
	d = docWizard(t, be, dr, &hostFormPage{}, nil)
	d.keys("enter", "enter")
	d.typ("10.0.0.300")
	add("A host, checked as it is typed",
		"Name, role, address, SSH port and user, then how to log in (a key file, checked to exist and parse; ssh-agent; a password, which goes to the secrets file and never into the site file; or \"I only have a password\") and sudo. Every field is checked by the site file's own validators as it is typed, and the error shows in place, under the field.", d)

	// Only a password.
	dr = newDraft(be.Catalog())
	dr.topology = "kopnik"
	d = docWizard(t, be, dr, &hostFormPage{}, nil)
	d.keys("enter", "enter")
	d.typ("203.0.113.10")
	d.keys("enter", "enter", "enter", "down", "down", "down")
	add("Only a password",
		"A hosting provider often gives a server's root password and nothing else. \"I only have a password\" (the choice offered first when you have no key at ~/.ssh/id_ed25519) asks for the password without showing it; when you test the connection, collabstack makes an SSH key for the site (in its state folder, mode 0600), logs in once with the password, adds the key to the user's ~/.ssh/authorized_keys, checks that the key logs in, and from then on uses the key. The password is not stored, unless you keep it as the sudo password of a user who is not root. For a site file, `collabstack hosts add-key HOST` does the same.", d)

	// Hosts with a connection test.
	dr = tested()
	dr.hosts = append(dr.hosts, &hostDraft{Host: hostOf("standby", "standby", "203.0.113.11", "~/.ssh/id_ed25519", nil)})
	hp := &hostsPage{cursor: 1, confirm: dr.hosts[1], fp: be.Fingerprint}
	d = docWizard(t, be, dr, hp, nil)
	add("Hosts and the connection test",
		"`t` tests a host: collabstack connects without trusting the host key and shows its fingerprint to compare; once trusted, it logs in with that key pinned and reads the OS, cores, memory and free disk. The budget of the components is checked against what it finds.", d)

	// Domain with the DNS hint.
	dr = tested()
	d = docWizard(t, be, dr, &domainPage{}, nil)
	d.send(resolveMsg{domain: "example.org", addrs: []string{"203.0.113.10"}})
	add("Domain, e-mail and TLS",
		"The domain and the admin e-mail are checked as typed; a moment after the domain is complete the wizard looks it up and says whether it points at one of the site's hosts. Let's Encrypt is refused for names that cannot get a public certificate (such as .test).", d)

	// Components with the budget.
	be4 := NewFakeBackend()
	dr = tested()
	dr.hosts[0].Facts.RAMMB = 4096
	d = docWizard(t, be4, dr, &componentsPage{}, nil)
	d.keys("down", "space", "down", "down", "down", "space")
	add("Components and the budget",
		"The catalog by category. Choosing a component brings what it needs (Nextcloud brings PostgreSQL and Redis, marked [+]); a component others need cannot be dropped alone. The bars add up memory and disk against the tested hosts, keeping 1 GB and 10 GB per host for the system, and a choice that does not fit is refused with the reason.", d)

	// The first administrator, when the directory is chosen.
	beID := NewFakeBackend()
	beID.Apps = append(DemoCatalog(), App{Name: "openldap", Title: "OpenLDAP", Description: "the site's directory", Category: "Identity", RAMMB: 128, DiskGB: 1})
	dr = tested()
	dr.email = "jane.doe@example.org"
	dr.admin.Name = "Jane Doe"
	dr.cat = newCatalog(beID.Catalog())
	dr.cat.chosen = map[string]bool{"openldap": true, "keycloak": true}
	d = docWizard(t, beID, dr, &adminPage{}, nil)
	add("The first administrator",
		"With the directory (openldap) among the components, this page comes next: the site's first administrator. The e-mail is the admin e-mail by default and the user name is proposed from it; a name `collabstack users` would refuse is refused here, with the fix. Apply makes the account in the admins group with a generated password in the secrets file (openldap-first-admin-password); with it the person logs in to every app wired to the directory. The plain wizard asks the same three questions. See [identity.md](identity.md).", d)

	// Advanced.
	dr = tested()
	d = docWizard(t, be, dr, &advancedPage{}, nil)
	add("Advanced: what otherwise takes its default",
		"One question first: change the advanced settings? No (enter) keeps every default. Yes shows, one screen each, the image source (pull, a registry mirror, or an offline bundle made by `collabstack images save`), every host's jump host and node labels, and on the Proxmox topologies the LAN and VPN ranges and every VM's size and address. Each field shows its default, is filled with it, and is checked by the site file's validation as it is typed. The review lists every value that is not the default.", d)
	d.keys("left", "enter")
	add("Advanced: the image source",
		"Yes chosen: the first screen, the image source. A mirror or a bundle asks for its address or file next.", d)
	d.keys("enter")
	add("Advanced: jump hosts and node labels",
		"Every host's jump host (a host of the site to tunnel through; none by default) and node labels (the manager's default is role=infra, a worker's role=common: the apps' placement follows them).", d)

	// Review.
	dr = tested()
	dr.cat.chosen = map[string]bool{"nextcloud": true}
	d = docWizard(t, be, dr, &reviewPage{}, nil)
	add("Review",
		"The site in a few lines and the plan per host: the hosts are checked (nothing is changed) and each step says whether it will change something. Enter writes the site file (mode 0600, passwords to the secrets file) and starts the install; `s` writes it only, for a later `collabstack apply`.", d)

	// Run view.
	runView := func(width, height int) *runView {
		m := testRunView(nil, width, height)
		m.path = "/home/me/collabstack.yaml"
		return m
	}
	m := runView(docsWidth+10, docsHeight)
	m.Update(eventsMsg(scriptedEvents(false)))
	addView("Install",
		"The steps with their state (spinner while running, ✓ already done, ✔ changed, ✗ failed, ⊘ blocked), the overall progress, the elapsed time and an estimate, and the log of the selected step (↑/↓ to choose, `f` to follow the running one; the last 500 lines of each step are kept). On a terminal narrower than 100 columns the log goes under the list.", m.View())

	m = runView(docsWidth+10, docsHeight)
	m.Update(eventsMsg(scriptedEvents(true)))
	m.Update(runDoneMsg{err: engine.WithHint(errors.New("1 step failed"), "fix what it says and run apply again")})
	addView("A failure",
		"A failed step shows its error and the hint of what to do. The steps that need it are blocked; the others go on. Then `r` runs the plan again (done steps check as done, so this resumes) and `q` leaves with the journal kept. A failed step is not skipped: every step after it needs it, and the engine runs the plan as a whole.", m.View())

	m = runView(docsWidth, 20)
	m.Update(eventsMsg(scriptedEvents(false)))
	m.Update(keyMsg("ctrl+c"))
	addView("Ctrl-C",
		"Ctrl-C asks first. Confirmed, it cancels the running steps; the journal records what was done and `collabstack apply` resumes. A second Ctrl-C leaves at once.", m.View())

	m = runView(docsWidth, docsHeight)
	m.Update(eventsMsg(scriptedEvents(false)))
	m.Update(eventsMsg{
		{Kind: engine.StepDone, Step: "prepare/docker/main", Title: "Install Docker", Host: "main", Changed: true, Elapsed: 40 * time.Second},
		{Kind: engine.StepDone, Step: "prepare/packages/standby", Title: "Install base packages", Host: "standby", Changed: true, Elapsed: 20 * time.Second},
	})
	m.Update(runDoneMsg{res: Result{
		URLs:        map[string]string{"nextcloud": "https://nextcloud.example.org/", "kopnik": "https://example.org/"},
		SecretsPath: "/home/me/collabstack.yaml.state/secrets.yaml",
	}})
	addView("Done",
		"The address of every deployed service and where the generated credentials are. The same lines stay on the terminal after the wizard closes.", m.View())
	return out
}

// plainTranscript is a scripted plain run, answers echoed.
func plainTranscript(t *testing.T) string {
	dir := t.TempDir()
	key := writeKey(t, dir)
	path := filepath.Join(dir, "collabstack.yaml")
	be := NewFakeBackend()
	be.OutputLines = 1
	be.DNS = map[string][]string{"example.org": {"203.0.113.10"}}
	var out bytes.Buffer
	_, err := RunWizard(context.Background(), Options{Backend: be, SitePath: path,
		In: strings.NewReader(plainScript(key)), Out: &out, Plain: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	text := strings.ReplaceAll(out.String(), key, "~/.ssh/id_ed25519")
	return strings.ReplaceAll(text, dir, "/home/me")
}

const docsIntro = `# The wizard

<!-- Generated by TestDocs in tui/docs_test.go: edit the texts there and
run ` + "`go test ./tui -run TestDocs -update`" + `; the test fails when this page is stale. -->

Run ` + "`collabstack`" + ` with no arguments on a terminal. The wizard asks for
the site a screen at a time, writes the site file (mode 0600) before
anything runs, and then shows the install. Everything it asks is in the
site file, so ` + "`collabstack apply -c collabstack.yaml`" + ` repeats it
exactly, headless.

Keys: ↑/↓ move, enter goes on, shift+tab goes back a field, esc goes back
a screen, ctrl+c leaves (before the site file is written nothing is
changed).

The captures below are taken by the tests on a terminal of 90×30 (the
install screens 100 wide; blank rows left out); colours adapt to light and
dark terminals.
`

const docsPlainIntro = `
## Plain mode and screen readers

With ` + "`--plain`" + `, when standard input or output is not a terminal, or in
accessible mode for screen readers, the same questions come one per line,
choices are numbered, errors are on a line of their own and nothing uses
colours or cursor movement. Answers can be piped in: each question reads
exactly one line. Passwords are read without echo on a terminal and as a
line from a script. The install prints one plain line per step (` + "`ok`" + `
changed something, ` + "`done`" + ` was already done). A scripted run (answers
echoed after each question because the input is not a terminal):
`

const docsOutro = `
Headless runs never need a terminal: write the site file once (with the
wizard or ` + "`collabstack init`" + `) and run ` + "`collabstack apply -c FILE`" + `.
`
