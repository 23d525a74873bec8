package common

import (
	"fmt"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
)

// Markdown renders a lesson's Markdown (CommonMark plus GFM tables),
// parsed by goldmark and drawn in nslab's styles, wrapped to width.
//
// Not glamour: glamour draws code blocks with chroma, whose package init
// (every lexer and style registered) took 44 ms of each start of the
// binary, and every agent is a start of this binary (9 ms before, 53 ms
// with glamour linked). goldmark's own init costs about 3 ms.
func Markdown(st *Styles, md string, width int) string {
	width = max(width, 10)
	src := []byte(md)
	doc := goldmark.New(goldmark.WithExtensions(extension.Table)).Parser().Parse(text.NewReader(src))
	r := mdRenderer{st: st, src: src}
	lines := r.children(doc, width, true)
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
}

// Inline renders a line of inline Markdown (**bold**, `code`) wrapped to
// width.
func Inline(st *Styles, s string, width int) []string {
	if !strings.ContainsAny(s, "*_`[]<>|#\\&") {
		// Nothing for a Markdown parser to do: spare building one.
		return WrapPlain(s, max(width, 4))
	}
	return strings.Split(Markdown(st, s, max(width, 4)), "\n")
}

type mdRenderer struct {
	st  *Styles
	src []byte
}

// children draws the blocks under n, a blank line between them (none in
// a tight list's item).
func (r mdRenderer) children(n ast.Node, width int, spaced bool) []string {
	var out []string
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		if spaced && len(out) > 0 && out[len(out)-1] != "" {
			out = append(out, "")
		}
		out = append(out, r.block(c, width)...)
	}
	return out
}

// block draws one block node.
func (r mdRenderer) block(n ast.Node, width int) []string {
	st := r.st
	switch n := n.(type) {
	case *ast.Heading:
		var out []string
		for _, l := range wrapSpans(r.spans(n, 0), width) {
			out = append(out, st.Heading.Render(l.plain))
		}
		return out
	case *ast.Paragraph, *ast.TextBlock:
		return renderLines(st, wrapSpans(r.spans(n, 0), width))
	case *ast.FencedCodeBlock, *ast.CodeBlock, *ast.HTMLBlock:
		var out []string
		lines := n.Lines()
		for i := 0; i < lines.Len(); i++ {
			seg := lines.At(i)
			l := strings.TrimRight(strings.ReplaceAll(string(seg.Value(r.src)), "\t", "    "), "\n")
			if _, html := n.(*ast.HTMLBlock); html {
				out = append(out, Truncate(l, width))
				continue
			}
			out = append(out, "  "+st.Code.Render(Truncate(l, width-2)))
		}
		return out
	case *ast.List:
		return r.list(n, width)
	case *ast.Blockquote:
		var out []string
		for _, l := range r.children(n, width-2, true) {
			out = append(out, strings.TrimRight("│ "+l, " "))
		}
		return out
	case *ast.ThematicBreak:
		return []string{st.Rule.Render(strings.Repeat("─", min(width, 8)))}
	case *east.Table:
		return r.table(n, width)
	}
	return r.children(n, width, true)
}

// list draws the items under their bullet or number, wrapped lines
// hanging under the item's text.
func (r mdRenderer) list(n *ast.List, width int) []string {
	var out []string
	num := n.Start
	for item := n.FirstChild(); item != nil; item = item.NextSibling() {
		mark := "• "
		if n.IsOrdered() {
			mark = fmt.Sprintf("%d%c ", num, n.Marker)
			num++
		}
		if !n.IsTight && len(out) > 0 {
			out = append(out, "")
		}
		pad := strings.Repeat(" ", Width(mark))
		for i, l := range r.children(item, width-Width(mark), !n.IsTight) {
			switch {
			case i == 0:
				out = append(out, mark+l)
			case l == "":
				out = append(out, "")
			default:
				out = append(out, pad+l)
			}
		}
	}
	return out
}

// table draws a GFM table: a bold header, a rule, the rows; columns share
// the width, and a cell too long for its column wraps in it.
func (r mdRenderer) table(n *east.Table, width int) []string {
	var rows [][][]span
	for row := n.FirstChild(); row != nil; row = row.NextSibling() {
		var cells [][]span
		for cell := row.FirstChild(); cell != nil; cell = cell.NextSibling() {
			cells = append(cells, r.spans(cell, 0))
		}
		rows = append(rows, cells)
	}
	cols := 0
	for _, row := range rows {
		cols = max(cols, len(row))
	}
	if cols == 0 {
		return nil
	}
	// Natural widths, then the widest columns give way until the table
	// fits ("a │ b": 3 cells between columns).
	w := make([]int, cols)
	for _, row := range rows {
		for i, c := range row {
			w[i] = max(w[i], spansWidth(c))
		}
	}
	avail := max(width-3*(cols-1), cols)
	for sum(w) > avail {
		widest := 0
		for i := range w {
			if w[i] > w[widest] {
				widest = i
			}
		}
		if w[widest] <= 3 {
			break
		}
		w[widest]--
	}
	var out []string
	for ri, row := range rows {
		cells := make([][]wrapped, cols)
		height := 1
		for i := range cols {
			if i < len(row) {
				cells[i] = wrapSpans(row[i], w[i])
			}
			height = max(height, len(cells[i]))
		}
		for l := range height {
			var b strings.Builder
			for i := range cols {
				if i > 0 {
					b.WriteString(r.st.Rule.Render(" │ "))
				}
				s, sw := "", 0
				if l < len(cells[i]) {
					s, sw = cells[i][l].styled(r.st), cells[i][l].width
					if ri == 0 {
						s = r.st.Bold.Render(cells[i][l].plain)
					}
				}
				b.WriteString(s)
				if i < cols-1 {
					b.WriteString(strings.Repeat(" ", max(w[i]-sw, 0)))
				}
			}
			out = append(out, strings.TrimRight(b.String(), " "))
		}
		if ri == 0 {
			var rule []string
			for i := range cols {
				rule = append(rule, strings.Repeat("─", w[i]))
			}
			out = append(out, r.st.Rule.Render(strings.Join(rule, "─┼─")))
		}
	}
	return out
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// Inline spans: text runs in one style.

type spanStyle uint8

const (
	spanBold spanStyle = 1 << iota
	spanItalic
	spanCode
	spanLink
)

type span struct {
	text  string
	style spanStyle
	br    bool // a hard line break before this span
}

// spans flattens the inline nodes under n into styled runs.
func (r mdRenderer) spans(n ast.Node, style spanStyle) []span {
	var out []span
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			out = append(out, span{text: string(c.Segment.Value(r.src)), style: style})
			switch {
			case c.HardLineBreak():
				out = append(out, span{br: true})
			case c.SoftLineBreak():
				out = append(out, span{text: " ", style: style})
			}
		case *ast.String:
			out = append(out, span{text: string(c.Value), style: style})
		case *ast.CodeSpan:
			var b strings.Builder
			for t := c.FirstChild(); t != nil; t = t.NextSibling() {
				if t, ok := t.(*ast.Text); ok {
					b.Write(t.Segment.Value(r.src))
				}
			}
			out = append(out, span{text: b.String(), style: style | spanCode})
		case *ast.Emphasis:
			s := spanItalic
			if c.Level >= 2 {
				s = spanBold
			}
			out = append(out, r.spans(c, style|s)...)
		case *ast.Link:
			out = append(out, r.spans(c, style|spanLink)...)
		case *ast.AutoLink:
			out = append(out, span{text: string(c.URL(r.src)), style: style | spanLink})
		case *ast.RawHTML:
			segs := c.Segments
			for i := 0; i < segs.Len(); i++ {
				seg := segs.At(i)
				out = append(out, span{text: string(seg.Value(r.src)), style: style})
			}
		default:
			out = append(out, r.spans(c, style)...)
		}
	}
	return out
}

func spansWidth(ss []span) int {
	n := 0
	for _, s := range ss {
		n += Width(s.text)
	}
	return n
}

// render draws text in a span style.
func (s spanStyle) render(st *Styles, t string) string {
	if t == "" {
		return t
	}
	var style = st.Code
	switch {
	case s&spanCode != 0:
	case s&spanBold != 0 && s&spanItalic != 0:
		style = st.Bold.Italic(true)
	case s&spanBold != 0:
		style = st.Bold
	case s&spanItalic != 0:
		style = st.Italic
	case s&spanLink != 0:
		style = st.Italic.UnsetItalic().Underline(true)
	default:
		return t
	}
	if s&spanCode != 0 && s&spanBold != 0 {
		style = style.Bold(true)
	}
	return style.Render(t)
}

// wrapped is one line of wrapped spans.
type wrapped struct {
	words [][]span // words, each one or more spans glued together
	plain string
	width int
}

func (l wrapped) styled(st *Styles) string {
	var b strings.Builder
	for i, w := range l.words {
		if i > 0 {
			b.WriteByte(' ')
		}
		for _, s := range w {
			b.WriteString(s.style.render(st, s.text))
		}
	}
	return b.String()
}

func renderLines(st *Styles, ls []wrapped) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.styled(st)
	}
	return out
}

// wrapSpans word-wraps spans to width. A word is cut at spaces only; runs
// of different styles with no space between stay one word ("`code`,"). A
// word longer than the line is cut with "…".
func wrapSpans(ss []span, width int) []wrapped {
	width = max(width, 4)
	var words [][]span
	var brs []bool // a hard break before words[i]
	glue, br := false, false
	for _, s := range ss {
		if s.br {
			glue, br = false, true
			continue
		}
		parts := strings.Split(s.text, " ")
		for i, p := range parts {
			if i > 0 {
				glue = false
			}
			if p == "" {
				continue
			}
			if glue && len(words) > 0 {
				words[len(words)-1] = append(words[len(words)-1], span{text: p, style: s.style})
			} else {
				words = append(words, []span{{text: p, style: s.style}})
				brs = append(brs, br)
				br = false
			}
			glue = true
		}
		if strings.HasSuffix(s.text, " ") {
			glue = false
		}
	}
	var lines []wrapped
	var cur wrapped
	flush := func() {
		lines = append(lines, cur)
		cur = wrapped{}
	}
	for i, w := range words {
		plain := ""
		for _, s := range w {
			plain += s.text
		}
		wn := Width(plain)
		if wn > width {
			w, plain, wn = []span{{text: Truncate(plain, width), style: w[0].style}}, Truncate(plain, width), width
		}
		if cur.width > 0 && (brs[i] || cur.width+1+wn > width) {
			flush()
		}
		if cur.width > 0 {
			cur.plain += " "
			cur.width++
		}
		cur.words = append(cur.words, w)
		cur.plain += plain
		cur.width += wn
	}
	if cur.width > 0 || len(lines) == 0 {
		flush()
	}
	return lines
}
