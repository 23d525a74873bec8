package common

import (
	"image/color"

	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"

	"github.com/nslab/nslab/lessons"
)

// Styles is every style the ui draws with, in one place. Colours are
// adaptive (one value for light backgrounds, one for dark), and every
// difference that colour shows is also shown by a symbol or a word, so the
// screens read the same without colour.
type Styles struct {
	// NoColor: no colour is set on any style.
	NoColor bool
	// Dark: the colours suit a dark background.
	Dark bool

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

// Symbols mark what colour also marks, so that colour is never the only
// cue. The delta symbols are the lessons' (lessons.DeltaSymbol), named
// here for the ui's legends.
const (
	SymSame     = lessons.SymSame
	SymChanged  = lessons.SymChanged
	SymOnlySB   = lessons.SymOnlySB
	SymOnlyHost = lessons.SymOnlyHost
	SymOK       = "✓"
	SymFail     = "✗"
	SymLocked   = "⊘"
	SymCursor   = "▸"
)

// NewStyles builds the styles for a terminal with a dark (or light)
// background. With noColor no colour is set on any style; bold and italic
// stay because they carry no colour. (Whether a terminal wants colour is
// the program's to read from that terminal's environment, not this
// process's.)
//
// lipgloss v2 has no Renderer: a style is a plain value, and the colour
// profile is applied by each tea.Program when it writes a frame (it detects
// the profile from its own output and environment). What differs between
// two programs in one process — their background and whether colour is
// wanted — is an argument here, so each program builds its own Styles.
func NewStyles(dark, noColor bool) *Styles {
	ld := lipgloss.LightDark(dark)
	c := func(light, darkc string) color.Color {
		if noColor {
			return nil
		}
		return ld(lipgloss.Color(light), lipgloss.Color(darkc))
	}
	// 256-colour indices, not hex: a 256-colour terminal (tmux, most
	// xterms) shows them as they are, where a hex colour would be
	// converted by a perceptual search.
	accent := c("55", "141")
	green := c("28", "114")
	red := c("124", "204")
	yellow := c("130", "221")
	blue := c("25", "117")
	subtle := c("241", "248")
	fg := func(st lipgloss.Style, c color.Color) lipgloss.Style {
		if c == nil {
			return st
		}
		return st.Foreground(c)
	}
	r := lipgloss.NewStyle()
	s := &Styles{NoColor: noColor, Dark: dark}
	s.Title = fg(r.Bold(true), accent)
	s.Subtle = fg(r, subtle)
	s.Heading = fg(r.Bold(true), accent)
	s.Bold = r.Bold(true)
	s.Italic = r.Italic(true)
	s.Code = fg(r, blue)
	s.Selected = fg(r.Bold(true), accent)
	s.Current = fg(r.Bold(true), accent)
	s.Done = fg(r, green)
	s.Warn = fg(r, yellow)
	s.Error = fg(r.Bold(true), red)
	s.Locked = fg(r, yellow)
	s.Same = fg(r, subtle)
	s.Changed = fg(r.Bold(true), yellow)
	s.OnlyHost = fg(r, red)
	s.OnlySB = fg(r.Bold(true), green)
	s.ColHeader = r.Bold(true).Underline(true)
	s.Rule = fg(r, subtle)
	key := fg(r.Bold(true), accent)
	desc := fg(r, subtle)
	sep := fg(r, subtle)
	s.Help = help.Styles{
		Ellipsis: sep, ShortKey: key, ShortDesc: desc, ShortSeparator: sep,
		FullKey: key, FullDesc: desc, FullSeparator: sep,
	}
	return s
}

// NewHelp is a bubbles/help model drawn with these styles.
func (s *Styles) NewHelp() help.Model {
	h := help.New()
	h.Styles = s.Help
	return h
}
