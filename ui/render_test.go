package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/sandbox"
)

func TestRenderMarkdown(t *testing.T) {
	md := "# Title\n\nSome **bold** and *soft* words with `code`, wrapped to a narrow width here.\n\n" +
		"```c\nint unshare(int flags);\n```\n\n- first item that is long enough\n  to continue here\n- second\n\n1. numbered\n\n> quoted\n\n" +
		"| flag | kind |\n|---|---|\n| CLONE_NEWUTS | uts |\n| CLONE_NEWPID | pid |\n"
	got := ansi.Strip(renderMarkdown(asciiStyles(), md, 30))
	// What a reader must see, in this order: the Markdown is parsed (no
	// markers left), wrapped, and the table drawn as a table.
	want := []string{
		"Title",
		"Some bold and soft words with",
		"int unshare(int flags);",
		"• first item that is long",
		"• second",
		"1. numbered",
		"│ quoted",
		"CLONE_NEWUTS",
		"│ uts",
		"CLONE_NEWPID",
		"│ pid",
	}
	at := 0
	for _, w := range want {
		i := strings.Index(got[at:], w)
		if i < 0 {
			t.Fatalf("rendered Markdown lacks %q after byte %d:\n%s", w, at, got)
		}
		at += i + len(w)
	}
	for _, bad := range []string{"**", "`", "# ", "```", "|---"} {
		if strings.Contains(got, bad) {
			t.Errorf("raw Markdown %q left in:\n%s", bad, got)
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if ansi.StringWidth(l) > 30 {
			t.Errorf("line wider than 30: %q", l)
		}
		if l != strings.TrimRight(l, " ") {
			t.Errorf("trailing spaces: %q", l)
		}
	}
}

// TestRenderMarkdownColour: colours come from the palette, and none at
// all without colour; bold stays either way.
func TestRenderMarkdownColour(t *testing.T) {
	md := "Some **bold** and `code`."
	if out := renderMarkdown(NewStyles(true, false), md, 40); !colourSGR.MatchString(out) {
		t.Errorf("with colour, `code` has no colour: %q", out)
	}
	out := renderMarkdown(NewStyles(true, true), md, 40)
	if colourSGR.MatchString(out) {
		t.Errorf("without colour, a colour escape: %q", out)
	}
	if !strings.Contains(out, "\x1b[1m") && !strings.Contains(out, "\x1b[1;") {
		t.Errorf("without colour, bold is gone too: %q", out)
	}
}

// TestRenderMarkdownNarrow: down to the narrowest pane nothing overruns.
func TestRenderMarkdownNarrow(t *testing.T) {
	md := "A **UTS namespace** isolates `/proc/sys/kernel/hostname-and-more-words` and\n\n| a | b |\n|---|---|\n| CLONE_NEWUTS | the hostname and the NIS domain name |\n"
	for _, w := range []int{10, 20, 25} {
		for _, l := range strings.Split(ansi.Strip(renderMarkdown(asciiStyles(), md, w)), "\n") {
			if n := ansi.StringWidth(l); n > max(w, 10) {
				t.Errorf("width %d: line of %d cells: %q", w, n, l)
			}
		}
	}
}

// TestCompactRows: differences first, long same and only-host lists
// counted, and every kind marked by a symbol as well as colour.
func TestCompactRows(t *testing.T) {
	var ds []sandbox.Delta
	ds = append(ds, sandbox.Delta{Key: "hostname", Host: "vm", Sandbox: "lab", Kind: sandbox.Changed})
	ds = append(ds, sandbox.Delta{Key: "/tmp/x", Sandbox: "tmpfs", Kind: sandbox.OnlySandbox})
	for i := 0; i < 300; i++ {
		ds = append(ds, sandbox.Delta{Key: fmt.Sprint(i + 10), Label: "proc", Host: fmt.Sprint(i + 10), Kind: sandbox.OnlyHost})
	}
	for i := 0; i < 2; i++ {
		ds = append(ds, sandbox.Delta{Key: fmt.Sprint("same", i), Host: "x", Sandbox: "x", Kind: sandbox.Same})
	}
	rows := compactRows(ds)
	if len(rows) != 5 {
		t.Fatalf("%d rows, want 5 (changed, only sandbox, 2 same, only-host count): %+v", len(rows), rows)
	}
	if rows[0].d.Kind != sandbox.Changed || rows[1].d.Kind != sandbox.OnlySandbox {
		t.Errorf("differences not first: %+v", rows[:2])
	}
	last := rows[4]
	if last.summary == "" || !strings.HasPrefix(last.summary, "300 only on HOST") {
		t.Errorf("only-host list not counted: %+v", last)
	}
	tl := newTableLayout(80, rows)
	st := asciiStyles()
	for _, r := range rows {
		line := ansi.Strip(strings.Join(tl.render(st, r), "\n"))
		if !strings.HasPrefix(line, symbolFor(r.d.Kind)+" ") {
			t.Errorf("row %q does not start with its symbol %q", line, symbolFor(r.d.Kind))
		}
	}
	stacked := newTableLayout(50, rows)
	if !stacked.stacked {
		t.Fatal("50 cells should stack")
	}
	if got := strip(stacked.render(st, rows[0])); len(got) != 2 || !strings.Contains(got[0], "HOST vm") || !strings.Contains(got[1], "SBOX lab") {
		t.Errorf("stacked changed row: %q", got)
	}
}

func TestRenderTraceKeepsCalls(t *testing.T) {
	st := asciiStyles()
	full := renderTrace(st, fakeEvents(), 100, 20)
	if len(full) != 6 { // 4 calls, a note, a detail
		t.Errorf("full trace has %d lines: %q", len(full), full)
	}
	short := strip(renderTrace(st, fakeEvents(), 100, 4))
	for i, l := range short {
		if !strings.HasPrefix(l, "[pid ") {
			t.Errorf("line %d of a short trace is not a call: %q", i, l)
		}
	}
	if !strings.Contains(short[3], "-1 EPERM (Operation not permitted)") {
		t.Errorf("errno not rendered strace-like: %q", short[3])
	}
}

func strip(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = ansi.Strip(l)
	}
	return out
}
