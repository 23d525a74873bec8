package common

import (
	"strings"

	"charm.land/lipgloss/v2"
	xansi "github.com/charmbracelet/x/ansi"
)

// WrapPlain word-wraps unstyled text.
func WrapPlain(s string, width int) []string {
	if width < 4 {
		width = 4
	}
	var lines []string
	var cur string
	for _, w := range strings.Fields(s) {
		if lipgloss.Width(w) > width {
			w = Truncate(w, width)
		}
		switch {
		case cur == "":
			cur = w
		case lipgloss.Width(cur)+1+lipgloss.Width(w) > width:
			lines = append(lines, cur)
			cur = w
		default:
			cur += " " + w
		}
	}
	if cur != "" || len(lines) == 0 {
		lines = append(lines, cur)
	}
	return lines
}

// Truncate cuts text (plain or styled) to width display cells, marking
// the cut with …
func Truncate(s string, width int) string {
	if width <= 0 {
		return ""
	}
	return xansi.Truncate(s, width, "…")
}

// Pad fills plain or styled text with spaces up to width cells.
func Pad(s string, width int) string {
	if w := lipgloss.Width(s); w < width {
		return s + strings.Repeat(" ", width-w)
	}
	return s
}

// Width is the display width of plain or styled text.
func Width(s string) int { return xansi.StringWidth(s) }

// WrapLines word-wraps every line of s to w cells.
func WrapLines(s string, w int) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		out = append(out, WrapPlain(l, max(w, 4))...)
	}
	return out
}

// JoinEnds puts left and right on one line of width w.
func JoinEnds(left, right string, w int) string {
	lw, rw := Width(left), Width(right)
	if lw+rw+1 > w {
		return Truncate(left, w)
	}
	return left + strings.Repeat(" ", w-lw-rw) + right
}

// FitLines cuts every line of s to w cells (bubbles/help can overrun its
// width by one item).
func FitLines(s string, w int) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Truncate(l, w)
	}
	return strings.Join(lines, "\n")
}

// Rule is a titled separator line of width w.
func Rule(st *Styles, title string, w int) string {
	t := "─ " + title + " "
	return st.Rule.Render(Truncate(t+strings.Repeat("─", max(w-Width(t), 0)), w))
}
