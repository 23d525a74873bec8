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
		"```c\nint unshare(int flags);\n```\n\n- first item that is long enough\n  to continue here\n- second\n\n1. numbered\n\n> quoted"
	got := ansi.Strip(renderMarkdown(asciiStyles(), md, 30))
	want := strings.Join([]string{
		"Title",
		"",
		"Some bold and soft words with",
		"code, wrapped to a narrow",
		"width here.",
		"",
		"  int unshare(int flags);",
		"",
		"• first item that is long",
		"  enough to continue here",
		"• second",
		"",
		"1. numbered",
		"",
		"│ quoted",
	}, "\n")
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	for _, l := range strings.Split(got, "\n") {
		if ansi.StringWidth(l) > 30 {
			t.Errorf("line wider than 30: %q", l)
		}
	}
}

func TestParseInlineUnmatched(t *testing.T) {
	ps := parseInline("a * b and `x")
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.text)
	}
	if b.String() != "a * b and `x" {
		t.Errorf("unmatched markers lost: %q", b.String())
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
		line := strings.Join(tl.render(st, r), "\n")
		if !strings.HasPrefix(line, symbolFor(r.d.Kind)+" ") {
			t.Errorf("row %q does not start with its symbol %q", line, symbolFor(r.d.Kind))
		}
	}
	stacked := newTableLayout(50, rows)
	if !stacked.stacked {
		t.Fatal("50 cells should stack")
	}
	if got := stacked.render(st, rows[0]); len(got) != 2 || !strings.Contains(got[0], "HOST vm") || !strings.Contains(got[1], "SBOX lab") {
		t.Errorf("stacked changed row: %q", got)
	}
}

func TestRenderTraceKeepsCalls(t *testing.T) {
	st := asciiStyles()
	full := renderTrace(st, fakeEvents(), 100, 20)
	if len(full) != 6 { // 4 calls, a note, a detail
		t.Errorf("full trace has %d lines: %q", len(full), full)
	}
	short := renderTrace(st, fakeEvents(), 100, 4)
	for i, l := range short {
		if !strings.HasPrefix(l, "[pid ") {
			t.Errorf("line %d of a short trace is not a call: %q", i, l)
		}
	}
	if !strings.Contains(short[3], "-1 EPERM (Operation not permitted)") {
		t.Errorf("errno not rendered strace-like: %q", short[3])
	}
}
