package ui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// renderMarkdown renders the small Markdown subset lesson texts use —
// headings, paragraphs, bullets and numbered items, fenced code blocks,
// block quotes, **bold**, *italic* and `code` — wrapped to width. glamour
// would pull a large dependency tree for what fits in a page of code.
func renderMarkdown(st *Styles, md string, width int) string {
	if width < 10 {
		width = 10
	}
	var out []string
	lines := strings.Split(strings.ReplaceAll(md, "\r\n", "\n"), "\n")
	var para []string // lines of the paragraph or item being gathered
	var prefix, indent string

	flush := func() {
		if len(para) == 0 {
			return
		}
		text := strings.Join(para, " ")
		w := width - lipgloss.Width(prefix)
		for i, l := range wrapInline(st, text, w) {
			if i == 0 {
				out = append(out, prefix+l)
			} else {
				out = append(out, indent+l)
			}
		}
		para, prefix, indent = nil, "", ""
	}
	blank := func() {
		if len(out) > 0 && out[len(out)-1] != "" {
			out = append(out, "")
		}
	}

	inCode := false
	for _, raw := range lines {
		line := strings.TrimRight(raw, " \t")
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "```") {
			flush()
			if !inCode {
				blank()
			}
			inCode = !inCode
			if !inCode {
				out = append(out, "")
			}
			continue
		}
		if inCode {
			out = append(out, "  "+st.Code.Render(truncate(strings.ReplaceAll(line, "\t", "    "), width-2)))
			continue
		}
		switch {
		case trim == "":
			flush()
			blank()
		case strings.HasPrefix(trim, "#"):
			flush()
			level := len(trim) - len(strings.TrimLeft(trim, "#"))
			title := strings.TrimSpace(trim[level:])
			blank()
			for _, l := range wrapPlain(title, width) {
				out = append(out, st.Heading.Render(l))
			}
		case isBullet(trim):
			flush()
			mark, rest := splitBullet(trim)
			lead := strings.Repeat(" ", len(line)-len(strings.TrimLeft(line, " ")))
			prefix = lead + mark + " "
			indent = strings.Repeat(" ", lipgloss.Width(prefix))
			para = []string{rest}
		case strings.HasPrefix(trim, ">"):
			flush()
			prefix, indent = "│ ", "│ "
			para = []string{strings.TrimSpace(strings.TrimPrefix(trim, ">"))}
			flush()
		default:
			para = append(para, trim)
		}
	}
	flush()
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return strings.Join(out, "\n")
}

func isBullet(s string) bool {
	if strings.HasPrefix(s, "- ") || strings.HasPrefix(s, "* ") || strings.HasPrefix(s, "+ ") {
		return true
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i > 0 && i+1 < len(s) && (s[i] == '.' || s[i] == ')') && s[i+1] == ' '
}

func splitBullet(s string) (mark, rest string) {
	if s[0] == '-' || s[0] == '*' || s[0] == '+' {
		return "•", strings.TrimSpace(s[2:])
	}
	i := strings.IndexAny(s, ".)")
	return s[:i+1], strings.TrimSpace(s[i+2:])
}

// piece is a run of text in one inline style.
type piece struct {
	text  string
	style int // 0 plain, 1 bold, 2 italic, 3 code
}

// parseInline splits **bold**, *italic*/_italic_ and `code` spans. An
// unmatched marker stays as text.
func parseInline(s string) []piece {
	var out []piece
	var cur strings.Builder
	emit := func(style int) {
		if cur.Len() > 0 {
			out = append(out, piece{cur.String(), style})
			cur.Reset()
		}
	}
	for i := 0; i < len(s); {
		var marker string
		var style int
		switch {
		case s[i] == '`':
			marker, style = "`", 3
		case strings.HasPrefix(s[i:], "**"):
			marker, style = "**", 1
		case s[i] == '*' || (s[i] == '_' && (i == 0 || s[i-1] == ' ')):
			marker, style = s[i:i+1], 2
		}
		if marker != "" {
			end := strings.Index(s[i+len(marker):], marker)
			if end > 0 {
				emit(0)
				cur.WriteString(s[i+len(marker) : i+len(marker)+end])
				emit(style)
				i += len(marker)*2 + end
				continue
			}
		}
		cur.WriteByte(s[i])
		i++
	}
	emit(0)
	return out
}

// wrapInline word-wraps styled text to width and renders each line.
func wrapInline(st *Styles, s string, width int) []string {
	if width < 4 {
		width = 4
	}
	// words: each a list of pieces glued together (a code span followed
	// by a comma is one word).
	type word []piece
	var words []word
	glue := false // the next piece attaches to the last word
	for _, p := range parseInline(s) {
		parts := strings.Split(p.text, " ")
		for i, t := range parts {
			if i > 0 {
				glue = false
			}
			if t == "" {
				continue
			}
			if glue && len(words) > 0 {
				words[len(words)-1] = append(words[len(words)-1], piece{t, p.style})
			} else {
				words = append(words, word{{t, p.style}})
			}
			glue = true
		}
		if strings.HasSuffix(p.text, " ") {
			glue = false
		}
	}
	render := func(w word) (string, int) {
		var b strings.Builder
		n := 0
		for _, p := range w {
			n += lipgloss.Width(p.text)
			switch p.style {
			case 1:
				b.WriteString(st.Bold.Render(p.text))
			case 2:
				b.WriteString(st.Italic.Render(p.text))
			case 3:
				b.WriteString(st.Code.Render(p.text))
			default:
				b.WriteString(p.text)
			}
		}
		return b.String(), n
	}
	var lines []string
	var line strings.Builder
	n := 0
	for _, w := range words {
		txt, wn := render(w)
		if wn > width {
			// A word longer than the line (a long path): cut it.
			plain := ""
			for _, p := range w {
				plain += p.text
			}
			txt, wn = truncate(plain, width), width
		}
		if n > 0 && n+1+wn > width {
			lines = append(lines, line.String())
			line.Reset()
			n = 0
		}
		if n > 0 {
			line.WriteByte(' ')
			n++
		}
		line.WriteString(txt)
		n += wn
	}
	if n > 0 || len(lines) == 0 {
		lines = append(lines, line.String())
	}
	return lines
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
	return ansi.Truncate(s, width, "…")
}

// pad fills plain or styled text with spaces up to width cells.
func pad(s string, width int) string {
	if w := lipgloss.Width(s); w < width {
		return s + strings.Repeat(" ", width-w)
	}
	return s
}

// widthOf is the display width of plain or styled text.
func widthOf(s string) int { return ansi.StringWidth(s) }
