package ui

import (
	"strings"

	"charm.land/glamour/v2"
	"charm.land/glamour/v2/ansi"
	"charm.land/lipgloss/v2"
	xansi "github.com/charmbracelet/x/ansi"
)

// markdownStyle is glamour's style sheet in nslab's palette: no document
// margin (the panes have their own), headings without their "##", and no
// colour at all when the styles have none.
func markdownStyle(st *Styles) ansi.StyleConfig {
	col := func(light, dark string) *string {
		if st.NoColor {
			return nil
		}
		if st.Dark {
			return &dark
		}
		return &light
	}
	yes := true
	zero, two := uint(0), uint(2)
	bar, sep := "│ ", "│"
	accent, blue := col("55", "141"), col("25", "117")
	return ansi.StyleConfig{
		Document:   ansi.StyleBlock{Margin: &zero},
		BlockQuote: ansi.StyleBlock{Indent: new(uint(1)), IndentToken: &bar},
		List:       ansi.StyleList{LevelIndent: 2},
		Heading: ansi.StyleBlock{StylePrimitive: ansi.StylePrimitive{
			BlockSuffix: "\n", Color: accent, Bold: &yes,
		}},
		Emph:        ansi.StylePrimitive{Italic: &yes},
		Strong:      ansi.StylePrimitive{Bold: &yes},
		Item:        ansi.StylePrimitive{BlockPrefix: "• "},
		Enumeration: ansi.StylePrimitive{BlockPrefix: ". "},
		Code:        ansi.StyleBlock{StylePrimitive: ansi.StylePrimitive{Color: blue}},
		CodeBlock: ansi.StyleCodeBlock{StyleBlock: ansi.StyleBlock{
			StylePrimitive: ansi.StylePrimitive{Color: blue}, Margin: &two,
		}},
		Table:          ansi.StyleTable{CenterSeparator: new("┼"), ColumnSeparator: &sep, RowSeparator: new("─")},
		HorizontalRule: ansi.StylePrimitive{Color: col("241", "248"), Format: "\n────────\n"},
		Link:           ansi.StylePrimitive{Underline: &yes},
	}
}

// renderMarkdown renders a lesson's Markdown (CommonMark plus GFM tables)
// with glamour, wrapped to width. glamour is pure: it writes the colours
// of the style sheet as they are, and the program's renderer fits them to
// its terminal's profile.
func renderMarkdown(st *Styles, md string, width int) string {
	width = max(width, 10)
	r, err := glamour.NewTermRenderer(glamour.WithStyles(markdownStyle(st)), glamour.WithWordWrap(width))
	if err == nil {
		var out string
		if out, err = r.Render(md); err == nil {
			return tidyRendered(out, width)
		}
	}
	// glamour fails only on a broken style sheet; the text is still
	// worth showing.
	return strings.Join(wrapLines(md, width), "\n")
}

// tidyRendered drops glamour's leading and trailing blank lines and the
// spaces it pads every line with, and cuts what still overruns width (a
// long word in a code block).
func tidyRendered(s string, width int) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = truncate(strings.TrimRight(l, " "), width)
		if xansi.Strip(lines[i]) != "" && strings.TrimSpace(xansi.Strip(lines[i])) == "" {
			lines[i] = ""
		}
	}
	for len(lines) > 0 && strings.TrimSpace(xansi.Strip(lines[0])) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(xansi.Strip(lines[len(lines)-1])) == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
}

// wrapInline renders a line of inline Markdown (**bold**, `code`) wrapped
// to width.
func wrapInline(st *Styles, s string, width int) []string {
	return strings.Split(renderMarkdown(st, s, max(width, 4)), "\n")
}

// wrapPlain word-wraps unstyled text.
func wrapPlain(s string, width int) []string {
	if width < 4 {
		width = 4
	}
	var lines []string
	var cur string
	for _, w := range strings.Fields(s) {
		if lipgloss.Width(w) > width {
			w = truncate(w, width)
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

// truncate cuts text (plain or styled) to width display cells, marking
// the cut with …
func truncate(s string, width int) string {
	if width <= 0 {
		return ""
	}
	return xansi.Truncate(s, width, "…")
}

// pad fills plain or styled text with spaces up to width cells.
func pad(s string, width int) string {
	if w := lipgloss.Width(s); w < width {
		return s + strings.Repeat(" ", width-w)
	}
	return s
}

// widthOf is the display width of plain or styled text.
func widthOf(s string) int { return xansi.StringWidth(s) }
