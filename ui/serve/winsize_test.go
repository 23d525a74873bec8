package serve

import (
	"regexp"
	"strings"
	"testing"

	"github.com/nslab/nslab/sandbox/sandboxtest"
	"github.com/nslab/nslab/ui/serve/servetest"
)

// TestFullScreenShellFollowsWindow: over SSH, the full-screen shell's
// pty opens at the learner's window size and follows its changes, the
// shell's foreground process told by SIGWINCH. (It used to ask nslab's
// terminal file for a size, which an SSH session has none of: always
// 80×24.)
func TestFullScreenShellFollowsWindow(t *testing.T) {
	needRoot(t)
	before := sandboxtest.TakeHostPrint(t)
	s := startServer(t, Config{})
	tm := servetest.OpenSize(t, s.dial(t, "alice"), 100, 30)
	tm.PerformUTS()
	tm.Keys("n", "n")
	tm.WaitScreen("the experiment part", `\[EXPERIMENT\]`)
	tm.Keys("S")
	tm.WaitScreen("the shell's prompt inside", `\[nslab:uts\]`)
	if got := tm.Say("open", "stty size"); got != "30 100" {
		t.Errorf("stty size in the shell opened in a 100×30 window = %q, want 30 100", got)
	}

	// A foreground process that prints the size when SIGWINCH comes
	// (bounded: 15 s). Its markers are computed, so that the command line
	// typed never matches them.
	tm.Keys(`bash -c 'trap "echo W\$((1+1)):\$(stty size); exit" WINCH; echo R$((1+1)); for i in $(seq 150); do sleep .1; done'`, "Enter")
	tm.WaitScreen("the SIGWINCH waiter ready", `(?m)^R2\s*$`)
	tm.Resize(90, 20)
	screen := tm.WaitScreen("SIGWINCH in the shell's foreground process", `(?m)^W2:`)
	m := regexp.MustCompile(`(?m)^W2:(.*)$`).FindStringSubmatch(screen)
	if got := strings.TrimSpace(m[1]); got != "20 90" {
		t.Errorf("stty size on SIGWINCH after a window-change to 90×20 = %q, want 20 90", got)
	}
	if got := tm.Say("changed", "stty size"); got != "20 90" {
		t.Errorf("stty size after a window-change to 90×20 = %q, want 20 90", got)
	}

	tm.Keys("exit", "Enter")
	tm.WaitScreen("nslab again", `back from the shell`)
	tm.Type("\x03")
	if out := tm.WaitEnd(); !strings.Contains(out, "Bye, alice") {
		t.Errorf("no goodbye after ctrl+c:\n%s", out)
	}
	sandboxtest.UnchangedSince(t, before)
}
