package tui

import (
	"strings"
	"sync"

	"github.com/charmbracelet/huh"
)

// newForm makes a huh form the wizard's way: its theme, no help line (the
// wizard draws its own), errors shown in place by liveInput, and all the
// height the page leaves it, so that huh scrolls a group only when the
// terminal is too short for it (an exact height would cut the top off a
// group whose error message makes a field taller); formView trims the
// padding.
func (w *wizard) newForm(groups ...*huh.Group) *huh.Form {
	return huh.NewForm(groups...).WithTheme(w.th.Huh).WithShowHelp(false).WithShowErrors(false).
		WithWidth(w.formWidth()).WithHeight(w.formHeight())
}

// formHeight is the height left for the form of the page shown: the body
// less what the page draws besides the form.
func (w *wizard) formHeight() int {
	reserve := 0
	if fp, ok := w.page.(formPage); ok {
		reserve = fp.formReserve()
	}
	return max(w.height-6-reserve, 8)
}

// formView renders a form without the blank lines below it.
func formView(f *huh.Form) string {
	lines := strings.Split(f.View(), "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
}

// liveValue is a field's value that its description can read. huh
// computes dynamic descriptions in a command, on another goroutine than
// the one that sets the value, so the value is kept behind a lock; the
// exported fields are what huh hashes to know when to describe again.
// Set also writes the target (a field of the draft), which only the
// program's goroutine reads.
type liveValue struct {
	mu     *sync.Mutex // a pointer: huh's hashing copies the struct
	V      string
	Tried  bool // the user tried to go on with an invalid value
	target *string
}

func newLive(target *string) *liveValue {
	return &liveValue{mu: new(sync.Mutex), V: *target, target: target}
}

// Get and Set make a liveValue a huh.Accessor.
func (l *liveValue) Get() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.V
}

func (l *liveValue) Set(v string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.V = v
	*l.target = v
}

func (l *liveValue) read() (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.V, l.Tried
}

func (l *liveValue) tried() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.Tried = true
}

// liveInput is an input validated as it is typed: its description is its
// help, or the validator's error shown in place. An empty field shows its
// error only once the user tried to go on.
func (w *wizard) liveInput(title, help string, value *string, check func(string) error) *huh.Input {
	return w.liveField(title, help, newLive(value), check)
}

// liveField is liveInput on a liveValue that other fields read too.
func (w *wizard) liveField(title, help string, lv *liveValue, check func(string) error) *huh.Input {
	errStyle := w.th.Error
	return huh.NewInput().Title(title).Accessor(lv).
		Validate(func(v string) error {
			err := check(v)
			if err != nil {
				lv.tried()
			}
			return err
		}).
		DescriptionFunc(func() string {
			v, tried := lv.read()
			if v != "" || tried {
				if err := check(v); err != nil {
					return errStyle.Render(iconFailed + " " + err.Error())
				}
			}
			return help
		}, lv)
}
