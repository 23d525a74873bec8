package headless

import (
	"strings"
	"testing"
)

func TestPlainText(t *testing.T) {
	md := "Open a shell inside the sandbox (`s`). Try **`hostname`** and _`uname -n`_,\nsee [the page](https://man7.org/x).\n\n" +
		"```sh\n$ unshare --uts sh\n```\n\n" +
		"| kind | flag |\n|---|---|\n| uts | `CLONE_NEWUTS` |\n| mnt | `CLONE_NEWNS` |\n\n" +
		"- one `a`\n- two\n\n1. first\n2. second\n\n### A heading\n\n> quoted **text**\n"
	got := PlainText(md, 60)
	want := `Open a shell inside the sandbox. Try hostname and uname -n,
see the page (https://man7.org/x).

    $ unshare --uts sh

kind  flag
────  ────────────
uts   CLONE_NEWUTS
mnt   CLONE_NEWNS

• one a
• two

1. first
2. second

A heading

  quoted text`
	if got != want {
		t.Errorf("PlainText:\n%s\n--- want\n%s", got, want)
	}
	if err := RawMarkdown(got); err != nil {
		t.Errorf("clean text flagged: %v", err)
	}
	// A syscall record keeps the kernel's bytes, a backtick among them;
	// prose after it is still checked.
	rec := " [pid 23148] sendto(7, \"\\b\\x00`\\xbdZl\", 13, 0) = 13\n"
	if err := RawMarkdown(rec); err != nil {
		t.Errorf("a syscall record's bytes were taken for Markdown: %v", err)
	}
	if RawMarkdown(rec+"then a `code` word") == nil {
		t.Error("prose after a syscall record was not checked")
	}
	// The check sees every marker it is for.
	for _, bad := range []string{"a **bold** word", "a `code` word", "```\ncode\n```", "| a | b |\n|---|---|", "## Heading", "press `s`", "a shell (s)", "Press s for a shell"} {
		if RawMarkdown(bad) == nil {
			t.Errorf("RawMarkdown missed %q", bad)
		}
	}
	if got := PlainInline("Set **`lab`** as the hostname"); got != "Set lab as the hostname" {
		t.Errorf("PlainInline: %q", got)
	}
	if got := PlainText(strings.Repeat("word ", 30), 20); strings.Contains(got, "word word word word word") {
		t.Errorf("not wrapped at 20:\n%s", got)
	}
}
