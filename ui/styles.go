package ui

import (
	"io"
	"os"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Styles is every style the ui draws with, in one place. Colours are
// adaptive (one value for light backgrounds, one for dark), and every
// difference that colour shows is also shown by a symbol or a word, so the
// screens read the same without colour.
type Styles struct {
	r *lipgloss.Renderer

	Title     lipgloss.Style // screen titles
	Subtle    lipgloss.Style // secondary text
	Heading   lipgloss.Style // Markdown headings, pane titles
	Bold      lipgloss.Style
	Italic    lipgloss.Style
	Code      lipgloss.Style // inline code and code blocks
	Selected  lipgloss.Style // the selected row of a list
	Current   lipgloss.Style // the current part in the step bar
	Done      lipgloss.Style // finished parts, passed facts, a right answer
	Warn      lipgloss.Style // warnings
	Error     lipgloss.Style // errors and failed checks
	Locked    lipgloss.Style // locked lessons
	Same      lipgloss.Style // a view row equal on both sides
	Changed   lipgloss.Style // a value that differs
	OnlyHost  lipgloss.Style // an entry only the host has
	OnlySB    lipgloss.Style // an entry only the sandbox has
	ColHeader lipgloss.Style // HOST / SANDBOX headers
	Rule      lipgloss.Style // separators
	Help      help.Styles
}

// Symbols mark what colour also marks, so that colour is never the only cue.
const (
	symSame     = "="
	symChanged  = "≠"
	symOnlySB   = "+"
	symOnlyHost = "-"
	symOK       = "✓"
	symFail     = "✗"
	symLocked   = "⊘"
	symCursor   = "▸"
)

// NoColorEnv reports whether the environment asks for no colour
// (https://no-color.org: NO_COLOR set to anything non-empty).
func NoColorEnv() bool {
	return os.Getenv("NO_COLOR") != ""
}

// NewStyles builds the styles for output w. With noColor (or NO_COLOR in
// the environment) no colour escape is ever emitted; bold and italic stay
// because they carry no colour.
func NewStyles(w io.Writer, noColor bool) *Styles {
	return stylesFor(lipgloss.NewRenderer(w), noColor)
}

// stylesFor builds the styles on r, turning colour off when asked.
func stylesFor(r *lipgloss.Renderer, noColor bool) *Styles {
	if noColor || NoColorEnv() {
		r.SetColorProfile(termenv.Ascii)
	}
	return newStyles(r)
}

func newStyles(r *lipgloss.Renderer) *Styles {
	c := func(light, dark string) lipgloss.AdaptiveColor {
		return lipgloss.AdaptiveColor{Light: light, Dark: dark}
	}
	// 256-colour indices, not hex: on a 256-colour terminal (tmux, most
	// xterms) termenv converts a hex colour by a perceptual search on
	// every Render, which was most of the idle CPU.
	accent := c("55", "141")
	green := c("28", "114")
	red := c("124", "204")
	yellow := c("130", "221")
	blue := c("25", "117")
	subtle := c("241", "248")
	s := &Styles{r: r}
	s.Title = r.NewStyle().Bold(true).Foreground(accent)
	s.Subtle = r.NewStyle().Foreground(subtle)
	s.Heading = r.NewStyle().Bold(true).Foreground(accent)
	s.Bold = r.NewStyle().Bold(true)
	s.Italic = r.NewStyle().Italic(true)
	s.Code = r.NewStyle().Foreground(blue)
	s.Selected = r.NewStyle().Bold(true).Foreground(accent)
	s.Current = r.NewStyle().Bold(true).Foreground(accent)
	s.Done = r.NewStyle().Foreground(green)
	s.Warn = r.NewStyle().Foreground(yellow)
	s.Error = r.NewStyle().Bold(true).Foreground(red)
	s.Locked = r.NewStyle().Foreground(yellow)
	s.Same = r.NewStyle().Foreground(subtle)
	s.Changed = r.NewStyle().Bold(true).Foreground(yellow)
	s.OnlyHost = r.NewStyle().Foreground(red)
	s.OnlySB = r.NewStyle().Bold(true).Foreground(green)
	s.ColHeader = r.NewStyle().Bold(true).Underline(true)
	s.Rule = r.NewStyle().Foreground(subtle)
	key := r.NewStyle().Bold(true).Foreground(accent)
	desc := r.NewStyle().Foreground(subtle)
	sep := r.NewStyle().Foreground(subtle)
	s.Help = help.Styles{
		Ellipsis: sep, ShortKey: key, ShortDesc: desc, ShortSeparator: sep,
		FullKey: key, FullDesc: desc, FullSeparator: sep,
	}
	return s
}

// NewStyle is a blank style bound to the same renderer (and colour profile).
func (s *Styles) NewStyle() lipgloss.Style { return s.r.NewStyle() }

// newHelp is a bubbles/help model drawn with these styles.
func (s *Styles) newHelp() help.Model {
	h := help.New()
	h.Styles = s.Help
	return h
}
