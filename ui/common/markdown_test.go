package common

import (
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

var colourSGR = regexp.MustCompile(`\x1b\[[0-9;]*(3[0-9]|4[0-9]|9[0-7]|10[0-7])(;[0-9;]*)?m`)

func TestRenderMarkdown(t *testing.T) {
	md := "# Title\n\nSome **bold** and *soft* words with `code`, wrapped to a narrow width here.\n\n" +
		"```c\nint unshare(int flags);\n```\n\n- first item that is long enough\n  to continue here\n- second\n\n1. numbered\n\n> quoted\n\n" +
		"| flag | kind |\n|---|---|\n| CLONE_NEWUTS | uts |\n| CLONE_NEWPID | pid |\n"
	got := ansi.Strip(Markdown(NewStyles(true, true), md, 30))
	// What a reader must see, in this order: the Markdown is parsed (no
	// markers left), wrapped, and the table drawn as a table.
	want := []string{
		"Title",
		"Some bold and soft words with",
		"int unshare(int flags);",
		"• first item that is long\n  enough to continue here",
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
	if out := Markdown(NewStyles(true, false), md, 40); !colourSGR.MatchString(out) {
		t.Errorf("with colour, `code` has no colour: %q", out)
	}
	out := Markdown(NewStyles(true, true), md, 40)
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
		for _, l := range strings.Split(ansi.Strip(Markdown(NewStyles(true, true), md, w)), "\n") {
			if n := ansi.StringWidth(l); n > max(w, 10) {
				t.Errorf("width %d: line of %d cells: %q", w, n, l)
			}
		}
	}
}
