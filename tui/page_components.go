package tui

import (
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/collabstack/collabstack/steps/site"
)

// componentsPage chooses the components by category. What a component
// needs is added with it, and a budget bar keeps the choice within the
// memory and disk of the tested hosts: an over-commit is refused with the
// reason.
type componentsPage struct {
	// probe reads the facts of hosts not tested in this session, trusting
	// the keys pinned for the site (adding components to a site).
	probe   bool
	cursor  int
	top     int
	note    string
	noteErr bool
}

func (p *componentsPage) name() string { return "Components" }

func (p *componentsPage) enter(w *wizard) tea.Cmd {
	var cmds []tea.Cmd
	if w.d.topology == site.TopologyLab && len(w.d.hosts) == 0 {
		cmds = append(cmds, w.fetchLocalFacts())
	}
	if p.probe {
		for _, h := range w.d.hosts {
			if h.Facts == nil && appRoles[h.Role] {
				cmds = append(cmds, probeHost(w, h, h.Fingerprint))
			}
		}
		if len(cmds) > 0 {
			cmds = append(cmds, w.wait("reading the hosts' memory and disk…"))
		}
	}
	return tea.Batch(cmds...)
}

func (p *componentsPage) update(w *wizard, msg tea.Msg) tea.Cmd {
	apps := w.d.cat.grouped()
	switch msg := msg.(type) {
	case localFactsMsg:
		if msg.err == nil {
			w.d.localFacts = &msg.f
		}
	case probeMsg:
		if msg.err != nil {
			msg.h.TestErr = errWithHint(msg.err)
			p.say(true, "%s: %s", msg.h.Name, msg.h.TestErr)
		} else {
			msg.h.Facts = &msg.f
		}
		if p.pendingProbes(w) == 0 {
			w.busy = ""
		}
	case tea.KeyMsg:
		switch msg.String() {
		case "up", "k":
			p.cursor = max(p.cursor-1, 0)
		case "down", "j":
			p.cursor = min(p.cursor+1, len(apps)-1)
		case " ", "x":
			if len(apps) == 0 {
				return nil
			}
			a := apps[p.cursor]
			was := w.d.cat.isSelected(a.Name)
			add := without(w.d.cat.added(a.Name), a.Name)
			if err := w.d.cat.toggle(a.Name, w.d.hardware()); err != nil {
				p.say(true, "%s", err)
				return nil
			}
			p.note = ""
			if !was && len(add) > 0 {
				p.say(false, "%s brings %s", w.d.cat.title(a.Name), w.d.cat.titles(add))
			}
		case "enter", "c", "tab":
			if err := w.d.cat.budget(w.d.hardware()).overError(); err != nil {
				p.say(true, "%s", err)
				return nil
			}
			if w.d.wantsAdmin() {
				return w.show(&adminPage{})
			}
			return w.show(&advancedPage{})
		case "esc":
			if p.probe {
				return w.show(&startPage{})
			}
			return w.show(&domainPage{})
		}
	}
	return nil
}

// pendingProbes counts app hosts still without facts or error.
func (p *componentsPage) pendingProbes(w *wizard) int {
	n := 0
	for _, h := range w.d.hosts {
		if appRoles[h.Role] && h.Facts == nil && h.TestErr == "" {
			n++
		}
	}
	return n
}

func (p *componentsPage) say(isErr bool, format string, args ...any) {
	p.note, p.noteErr = fmt.Sprintf(format, args...), isErr
}

func (p *componentsPage) view(w *wizard) string {
	c := w.d.cat
	width := w.formWidth()
	var lines []string
	cursorLine := 0
	cats, byCat := c.categories()
	idx := 0
	apps := c.grouped()
	titleW, descW := 18, max(width-18-26, 10)
	for _, cat := range cats {
		lines = append(lines, w.th.Subtitle.Render(cat))
		for _, a := range byCat[cat] {
			i := idx
			box := "[ ]"
			extra := ""
			switch {
			case c.chosen[a.Name]:
				box = w.th.OK.Render("[x]")
			case c.isSelected(a.Name):
				box = w.th.OK.Render("[+]")
				extra = " needed by " + c.titles(c.neededBy(a.Name))
			}
			need := fmt.Sprintf("%7s %3d GB", mb(a.RAMMB), a.DiskGB)
			row := fmt.Sprintf("%s %-*s %s %s", box, titleW, ansi.Truncate(a.Title, titleW, "…"),
				padRight(ansi.Truncate(a.Description, descW, "…"), descW), w.th.Muted.Render(need))
			cur := "  "
			if i == p.cursor {
				cur = w.th.Accent.Render("▸ ")
				row = w.th.Selected.Render(row)
				cursorLine = len(lines)
			}
			lines = append(lines, ansi.Truncate(cur+row+w.th.Muted.Render(extra), max(w.width, 40), "…"))
			idx++
		}
	}
	// Keep the cursor in view when the list is taller than the screen.
	room := max(w.height-16, 5)
	if cursorLine < p.top {
		p.top = cursorLine
	}
	if cursorLine >= p.top+room {
		p.top = cursorLine - room + 1
	}
	p.top = max(0, min(p.top, len(lines)-room))
	end := min(len(lines), p.top+room)
	list := strings.Join(lines[p.top:end], "\n")
	if p.top > 0 {
		list = w.th.Muted.Render("  ↑ more") + "\n" + list
	}
	if end < len(lines) {
		list += "\n" + w.th.Muted.Render("  ↓ more")
	}

	var b strings.Builder
	b.WriteString(w.th.Muted.Render("Choose with space; what a component needs is added with it.") + "\n\n")
	b.WriteString(list + "\n\n")
	if len(apps) > 0 {
		a := apps[min(p.cursor, len(apps)-1)]
		desc := a.Title + ": " + a.Description
		if len(a.Requires) > 0 {
			desc += " (needs " + c.titles(a.Requires) + ")"
		}
		b.WriteString(w.wrap(desc) + "\n\n")
	}
	b.WriteString(p.budgetView(w))
	if p.note != "" {
		style := w.th.OK
		if p.noteErr {
			style = w.th.Error
		}
		icon := iconDone
		if p.noteErr {
			icon = iconFailed
		}
		b.WriteString("\n" + style.Render(w.wrap(icon+" "+p.note)))
	}
	return b.String()
}

// budgetView draws the memory and disk bars against the hardware.
func (p *componentsPage) budgetView(w *wizard) string {
	hw := w.d.hardware()
	bg := w.d.cat.budget(hw)
	if !bg.Known {
		who := strings.Join(hw.Untested, ", ")
		if who == "" {
			who = "the hosts"
		}
		return fmt.Sprintf("Needs %s of memory and %d GB of disk (with %s and %d GB per host for the system).\n",
			mb(bg.NeedRAMMB), bg.NeedDiskGB, mb(reserveRAMMB), reserveDiskGB) +
			w.th.Warn.Render(iconWarn+" The hardware of "+who+" is not known: test the connection to check the budget.")
	}
	barW := max(min(w.formWidth()-36, 40), 10)
	style := func(over bool) func(...string) string {
		if over {
			return w.th.Error.Render
		}
		return w.th.OK.Render
	}
	line := func(label string, used, have int, text string, over bool) string {
		return fmt.Sprintf("%-6s %s %s", label, style(over)(bar(used, have, barW)), text)
	}
	out := line("Memory", bg.NeedRAMMB, bg.HaveRAMMB, fmt.Sprintf("%s of %s", mb(bg.NeedRAMMB), mb(bg.HaveRAMMB)), bg.overRAM()) + "\n" +
		line("Disk", bg.NeedDiskGB, bg.HaveDiskGB, fmt.Sprintf("%d of %d GB free", bg.NeedDiskGB, bg.HaveDiskGB), bg.overDisk())
	out += "\n" + w.th.Muted.Render(w.wrap(fmt.Sprintf("on %s; each keeps %s and %d GB for its system", strings.Join(hw.Hosts, ", "), mb(reserveRAMMB), reserveDiskGB)))
	if len(hw.Untested) > 0 {
		out += "\n" + w.th.Warn.Render(iconWarn+" not tested: "+strings.Join(hw.Untested, ", "))
	}
	return out
}

func padRight(s string, n int) string {
	if pad := n - ansi.StringWidth(s); pad > 0 {
		return s + strings.Repeat(" ", pad)
	}
	return s
}

func (p *componentsPage) help(w *wizard) string {
	return "↑/↓ move · space choose · enter continue · esc back · ctrl+c quit"
}
