package headless

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
)

// PlainText renders lesson Markdown as clean text for plain mode and the
// JSON events: no emphasis markers, backticks or fences; paragraphs
// wrapped to width; code blocks indented four spaces; tables as aligned
// columns; list items under a bullet. It walks goldmark's AST, the parser
// the TUI uses too, so both read the same document. The TUI's keys, which
// plain mode does not have, are taken out first (plainKeys).
func PlainText(md string, width int) string {
	width = max(width, 20)
	src := []byte(plainKeys(md))
	doc := goldmark.New(goldmark.WithExtensions(extension.Table)).Parser().Parse(text.NewReader(src))
	r := textRenderer{src: src}
	lines := r.blocks(doc, width, true)
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
}

// PlainInline renders one line of inline Markdown (a task, a hint, a
// fact) as clean text, unwrapped.
func PlainInline(md string) string {
	if !strings.ContainsAny(md, "*_`[]<>|#\\&") {
		return plainKeys(md)
	}
	return strings.Join(strings.Fields(PlainText(md, 1<<16)), " ")
}

// plainKeys takes the TUI's key hints out of lesson text: " (`s`)",
// " (press `v`)". Plain mode prints what to type instead, where the
// action is. Compiled per call, not at package level: every agent start
// of the binary would pay for it.
func plainKeys(md string) string {
	if !strings.Contains(md, "`)") {
		return md
	}
	re := regexp.MustCompile(" ?\\((?:press |key )?`(?:[a-z?]|tab|enter|esc|ctrl\\+[a-z])`\\)")
	return re.ReplaceAllString(md, "")
}

type textRenderer struct{ src []byte }

// blocks renders the blocks under n, a blank line between them when
// spaced.
func (r textRenderer) blocks(n ast.Node, width int, spaced bool) []string {
	var out []string
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		if spaced && len(out) > 0 && out[len(out)-1] != "" {
			out = append(out, "")
		}
		out = append(out, r.block(c, width)...)
	}
	return out
}

func (r textRenderer) block(n ast.Node, width int) []string {
	switch n := n.(type) {
	case *ast.Heading, *ast.Paragraph, *ast.TextBlock:
		return wrap(r.inline(n), width)
	case *ast.FencedCodeBlock, *ast.CodeBlock:
		var out []string
		lines := n.Lines()
		for i := 0; i < lines.Len(); i++ {
			seg := lines.At(i)
			l := strings.TrimRight(strings.ReplaceAll(string(seg.Value(r.src)), "\t", "    "), "\n")
			out = append(out, strings.TrimRight("    "+l, " "))
		}
		return out
	case *ast.HTMLBlock, *ast.ThematicBreak:
		return nil
	case *ast.List:
		return r.list(n, width)
	case *ast.Blockquote:
		var out []string
		for _, l := range r.blocks(n, width-2, true) {
			out = append(out, strings.TrimRight("  "+l, " "))
		}
		return out
	case *east.Table:
		return r.table(n)
	}
	return r.blocks(n, width, true)
}

func (r textRenderer) list(n *ast.List, width int) []string {
	var out []string
	num := n.Start
	for item := n.FirstChild(); item != nil; item = item.NextSibling() {
		mark := "• "
		if n.IsOrdered() {
			mark = fmt.Sprintf("%d. ", num)
			num++
		}
		pad := strings.Repeat(" ", utf8.RuneCountInString(mark))
		for i, l := range r.blocks(item, width-len(pad), !n.IsTight) {
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

// table lines up a GFM table's cells in columns two spaces apart, with a
// rule under the header.
func (r textRenderer) table(n *east.Table) []string {
	var rows [][]string
	var widths []int
	for row := n.FirstChild(); row != nil; row = row.NextSibling() {
		var cells []string
		for i, cell := 0, row.FirstChild(); cell != nil; i, cell = i+1, cell.NextSibling() {
			c := r.inline(cell)
			cells = append(cells, c)
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
		rows = append(rows, cells)
	}
	line := func(cells []string) string {
		var b strings.Builder
		for i, c := range cells {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(c + strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)))
		}
		return strings.TrimRight(b.String(), " ")
	}
	var out []string
	for i, cells := range rows {
		out = append(out, line(cells))
		if i == 0 {
			rule := make([]string, len(widths))
			for j, w := range widths {
				rule[j] = strings.Repeat("─", w)
			}
			out = append(out, line(rule))
		}
	}
	return out
}

// inline is the text of n's inline children, without markers; a hard
// line break stays a newline.
func (r textRenderer) inline(n ast.Node) string {
	var b strings.Builder
	var walk func(n ast.Node)
	walk = func(n ast.Node) {
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			switch c := c.(type) {
			case *ast.Text:
				b.Write(c.Segment.Value(r.src))
				switch {
				case c.HardLineBreak():
					b.WriteString("\n")
				case c.SoftLineBreak():
					b.WriteString(" ")
				}
			case *ast.String:
				b.Write(c.Value)
			case *ast.AutoLink:
				b.Write(c.URL(r.src))
			case *ast.Link:
				before := b.Len()
				walk(c)
				if dest := string(c.Destination); dest != "" && !strings.Contains(b.String()[before:], dest) {
					b.WriteString(" (" + dest + ")")
				}
			case *ast.RawHTML:
			default:
				walk(c)
			}
		}
	}
	walk(n)
	return b.String()
}

// wrap breaks s at spaces into lines of at most width runes (a longer
// word stands alone); newlines in s are kept.
func wrap(s string, width int) []string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, w := range strings.Fields(para) {
			switch {
			case line == "":
				line = w
			case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) > width:
				out = append(out, line)
				line = w
			default:
				line += " " + w
			}
		}
		out = append(out, line)
	}
	return out
}

// plainCode drops the backticks around code in a value a lesson wrote
// with them (a fact's Got): nothing else of a value is Markdown, so its
// stars and brackets stay as they are.
func plainCode(s string) string { return strings.ReplaceAll(s, "`", "") }

// RawMarkdown reports the first Markdown marker or TUI key hint left in
// plain output (nil when there is none): for the tests that hold every
// lesson's plain output to clean text. A syscall record ("[pid N] …") is
// skipped: its strings are the kernel's bytes as strace writes them, and a
// netlink message's random sequence number can hold a 0x60, a backtick.
func RawMarkdown(out string) error {
	out = traceLine.ReplaceAllString(out, "")
	for _, m := range []struct{ re, what string }{
		{"\\*\\*|__", "emphasis marker"},
		{"`", "backtick"},
		{"(?m)^#{1,6} ", "heading marker"},
		{"(?m)^\\s*\\|.*\\|\\s*$", "table row"},
		{"(?i)press `?[a-z?]`?\\b", "TUI key hint"},
		{"(?:^|\\s)\\((?:[a-z?]|tab|enter|esc)\\)", "TUI key hint"},
	} {
		if loc := regexp.MustCompile(m.re).FindStringIndex(out); loc != nil {
			from, to := max(loc[0]-30, 0), min(loc[1]+30, len(out))
			return fmt.Errorf("%w: %s in %q", ErrRawMarkdown, m.what, out[from:to])
		}
	}
	return nil
}

var traceLine = regexp.MustCompile(`(?m)^\s*\[pid \d+[^\]]*\] .*$`)

// ErrRawMarkdown says plain output holds Markdown or a TUI key.
var ErrRawMarkdown = errors.New("plain output is not clean text")
