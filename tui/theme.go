package tui

import (
	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Colours that read well on light and dark terminals alike.
var (
	colText   = lipgloss.AdaptiveColor{Light: "235", Dark: "252"}
	colMuted  = lipgloss.AdaptiveColor{Light: "243", Dark: "245"}
	colAccent = lipgloss.AdaptiveColor{Light: "#5A56E0", Dark: "#7571F9"}
	colOK     = lipgloss.AdaptiveColor{Light: "#028A62", Dark: "#02BF87"}
	colWarn   = lipgloss.AdaptiveColor{Light: "#A35D00", Dark: "#E8A33D"}
	colError  = lipgloss.AdaptiveColor{Light: "#D7263D", Dark: "#ED567A"}
	colBorder = lipgloss.AdaptiveColor{Light: "250", Dark: "238"}
	colSelBg  = lipgloss.AdaptiveColor{Light: "254", Dark: "236"}
)

// theme is every style the wizard and the run view use, made once for the
// terminal they draw on.
type theme struct {
	r        *lipgloss.Renderer
	Title    lipgloss.Style
	Subtitle lipgloss.Style
	Text     lipgloss.Style
	Muted    lipgloss.Style
	Accent   lipgloss.Style
	OK       lipgloss.Style
	Warn     lipgloss.Style
	Error    lipgloss.Style
	Key      lipgloss.Style // a key in the help line
	Selected lipgloss.Style // the line under the cursor
	Box      lipgloss.Style // a framed panel
	ErrBox   lipgloss.Style // the failure panel
	Drawing  lipgloss.Style
	Huh      *huh.Theme
}

// newTheme makes the styles for a terminal written through r; nil uses
// lipgloss's default renderer (stdout).
func newTheme(r *lipgloss.Renderer) *theme {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	s := r.NewStyle
	t := &theme{
		r:        r,
		Title:    s().Bold(true).Foreground(colAccent),
		Subtitle: s().Bold(true).Foreground(colText),
		Text:     s().Foreground(colText),
		Muted:    s().Foreground(colMuted),
		Accent:   s().Foreground(colAccent),
		OK:       s().Foreground(colOK),
		Warn:     s().Foreground(colWarn),
		Error:    s().Foreground(colError),
		Key:      s().Bold(true).Foreground(colText),
		Selected: s().Background(colSelBg).Bold(true),
		Box:      s().Border(lipgloss.RoundedBorder()).BorderForeground(colBorder).Padding(0, 1),
		ErrBox:   s().Border(lipgloss.RoundedBorder()).BorderForeground(colError).Padding(0, 1),
		Drawing:  s().Foreground(colAccent),
		Huh:      huh.ThemeCharm(),
	}
	return t
}

// plainTheme is a theme without colours, for tests and captures.
func plainTheme() *theme {
	r := lipgloss.NewRenderer(nil)
	r.SetColorProfile(termenv.Ascii)
	r.SetHasDarkBackground(true)
	return newTheme(r)
}

// State icons of the run view and the host list.
const (
	iconPending = "·"
	iconDone    = "✓"
	iconChanged = "✔"
	iconFailed  = "✗"
	iconBlocked = "⊘"
	iconWarn    = "!"
)
