package tui

import (
	"fmt"
	"sort"
	"strings"
)

// catalog is the component list with the choice the user is making.
type catalog struct {
	apps  []App
	index map[string]int
	// chosen are the components the user picked; needed ones follow.
	chosen map[string]bool
}

func newCatalog(apps []App) *catalog {
	c := &catalog{apps: apps, index: map[string]int{}, chosen: map[string]bool{}}
	for i, a := range apps {
		c.index[a.Name] = i
	}
	return c
}

// app returns the component of that name.
func (c *catalog) app(name string) (App, bool) {
	i, ok := c.index[name]
	if !ok {
		return App{}, false
	}
	return c.apps[i], true
}

// Has and Names let the catalog check component names (site.Catalog).
func (c *catalog) Has(name string) bool { _, ok := c.index[name]; return ok }

// Names lists every component.
func (c *catalog) Names() []string {
	out := make([]string, len(c.apps))
	for i, a := range c.apps {
		out[i] = a.Name
	}
	return out
}

// categories returns the categories in catalog order, each with its apps.
func (c *catalog) categories() (names []string, apps map[string][]App) {
	apps = map[string][]App{}
	for _, a := range c.apps {
		cat := a.Category
		if cat == "" {
			cat = "Other"
		}
		if _, ok := apps[cat]; !ok {
			names = append(names, cat)
		}
		apps[cat] = append(apps[cat], a)
	}
	return names, apps
}

// grouped lists the apps category by category, as the wizard shows them.
func (c *catalog) grouped() []App {
	cats, byCat := c.categories()
	out := make([]App, 0, len(c.apps))
	for _, cat := range cats {
		out = append(out, byCat[cat]...)
	}
	return out
}

// closure returns names and everything they need, in catalog order.
func (c *catalog) closure(names map[string]bool) []string {
	all := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		if all[n] {
			return
		}
		all[n] = true
		if a, ok := c.app(n); ok {
			for _, r := range a.Requires {
				visit(r)
			}
		}
	}
	for n, on := range names {
		if on {
			visit(n)
		}
	}
	out := make([]string, 0, len(all))
	for n := range all {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return c.order(out[i]) < c.order(out[j]) })
	return out
}

func (c *catalog) order(name string) int {
	if i, ok := c.index[name]; ok {
		return i
	}
	return len(c.apps)
}

// selected lists the chosen components and what they need.
func (c *catalog) selected() []string { return c.closure(c.chosen) }

// isSelected reports whether name is chosen or needed.
func (c *catalog) isSelected(name string) bool {
	for _, n := range c.selected() {
		if n == name {
			return true
		}
	}
	return false
}

// neededBy lists the selected components that need name directly.
func (c *catalog) neededBy(name string) []string {
	var out []string
	for _, n := range c.selected() {
		if a, _ := c.app(n); n != name && containsStr(a.Requires, name) {
			out = append(out, n)
		}
	}
	return out
}

// added lists what choosing name would add beyond what is selected.
func (c *catalog) added(name string) []string {
	with := map[string]bool{name: true}
	for k, v := range c.chosen {
		with[k] = v
	}
	before := map[string]bool{}
	for _, n := range c.selected() {
		before[n] = true
	}
	var out []string
	for _, n := range c.closure(with) {
		if !before[n] {
			out = append(out, n)
		}
	}
	return out
}

// toggle chooses or drops name, keeping the budget: it refuses to drop a
// component others need, and to add one the hardware cannot hold.
func (c *catalog) toggle(name string, hw hardware) error {
	if c.chosen[name] {
		delete(c.chosen, name)
		if by := c.neededBy(name); len(by) > 0 {
			c.chosen[name] = true
			return fmt.Errorf("%s is needed by %s: deselect %s first", c.title(name), c.titles(by), c.titles(by))
		}
		return nil
	}
	if c.isSelected(name) {
		// Needed by another: choosing it too only pins it.
		if by := c.neededBy(name); len(by) > 0 {
			return fmt.Errorf("%s is needed by %s, so it is already in", c.title(name), c.titles(by))
		}
	}
	add := c.added(name)
	with := map[string]bool{name: true}
	for k, v := range c.chosen {
		with[k] = v
	}
	b := c.budgetWith(c.closure(with), hw)
	if err := b.refuse(c, name, add); err != nil {
		return err
	}
	c.chosen[name] = true
	return nil
}

// set replaces the choice (a site file read back, plain mode's list),
// checking names and the budget.
func (c *catalog) set(names []string, hw hardware) error {
	next := map[string]bool{}
	for _, n := range names {
		if !c.Has(n) {
			return fmt.Errorf("%q is not a component: %s", n, suggest(n, c.Names()))
		}
		next[n] = true
	}
	old := c.chosen
	c.chosen = map[string]bool{}
	b := c.budgetWith(c.closure(next), hw)
	if err := b.refuse(c, strings.Join(names, ", "), c.closure(next)); err != nil {
		c.chosen = old
		return err
	}
	c.chosen = next
	return nil
}

func (c *catalog) title(name string) string {
	if a, ok := c.app(name); ok && a.Title != "" {
		return a.Title
	}
	return name
}

func (c *catalog) titles(names []string) string {
	t := make([]string, len(names))
	for i, n := range names {
		t[i] = c.title(n)
	}
	return strings.Join(t, ", ")
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest says "did you mean" for a mistyped name, or lists the names.
func suggest(got string, names []string) string {
	best, bestD := "", 4
	for _, n := range names {
		if d := levenshtein(got, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best != "" {
		return fmt.Sprintf("did you mean %s?", best)
	}
	return "choose from " + strings.Join(names, ", ")
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
