package common

import (
	"regexp"
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

// Markdown renders a lesson's Markdown (CommonMark plus GFM tables)
// with glamour, wrapped to width. glamour is pure: it writes the colours
// of the style sheet as they are, and the program's renderer fits them to
// its terminal's profile.
func Markdown(st *Styles, md string, width int) string {
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
	return strings.Join(WrapLines(md, width), "\n")
}

// tidyRendered drops glamour's leading and trailing blank lines and the
// spaces it pads every line with, and cuts what still overruns width (a
// long word in a code block).
func tidyRendered(s string, width int) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Truncate(strings.TrimRight(l, " "), width)
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
	return strings.Join(hangItems(lines, width), "\n")
}

// itemStart matches a list item's first line as glamour draws it: its
// indent, then "• " or "N. ".
var itemStart = regexp.MustCompile(`^( *)(• |\d+\. )`)

// hangItems rewraps every list item so that its wrapped lines hang under
// its text, not under its bullet. glamour starts them at the margin, and
// keeps a soft line break of the source inside an item as a line break
// (a paragraph's it joins): both are undone here.
func hangItems(lines []string, width int) []string {
	var out []string
	for i := 0; i < len(lines); {
		m := itemStart.FindStringSubmatch(xansi.Strip(lines[i]))
		if m == nil {
			out = append(out, lines[i])
			i++
			continue
		}
		lead := len(m[1]) + Width(m[2])
		text := []string{xansi.Cut(lines[i], lead, Width(lines[i]))}
		for i++; i < len(lines); i++ {
			plain := xansi.Strip(lines[i])
			if strings.TrimSpace(plain) == "" || itemStart.MatchString(plain) {
				break
			}
			text = append(text, strings.TrimLeft(lines[i], " "))
		}
		wrapped := strings.Split(lipgloss.Wrap(strings.Join(text, " "), max(width-lead, 4), ""), "\n")
		for j, l := range wrapped {
			if j == 0 {
				out = append(out, m[1]+m[2]+l)
			} else {
				out = append(out, strings.Repeat(" ", lead)+l)
			}
		}
	}
	return out
}

// Inline renders a line of inline Markdown (**bold**, `code`) wrapped
// to width.
func Inline(st *Styles, s string, width int) []string {
	if !strings.ContainsAny(s, "*_`[]<>|#\\&") {
		// Nothing for a Markdown parser to do: spare building one.
		return WrapPlain(s, max(width, 4))
	}
	return strings.Split(Markdown(st, s, max(width, 4)), "\n")
}
