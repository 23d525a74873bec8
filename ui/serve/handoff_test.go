package serve

import (
	"strings"
	"testing"

	"github.com/nslab/nslab/sandbox/sandboxtest"
	"github.com/nslab/nslab/ui/serve/servetest"
)

// TestShellHandoffKeysTypedAtOnce: over SSH, what a learner types the
// moment the full-screen shell shows its prompt reaches the shell, and
// what they type the moment nslab is back reaches nslab, at every
// switch, each key typed once. (The program and the shell used to read
// the channel in turn, and the side that had just given it up was still
// blocked in a read that swallowed the first key.)
func TestShellHandoffKeysTypedAtOnce(t *testing.T) {
	needRoot(t)
	before := sandboxtest.TakeHostPrint(t)
	s := startServer(t, Config{})
	tm := servetest.Open(t, s.dial(t, "alice"))
	tm.PerformUTS()
	tm.Keys("n", "n")
	tm.WaitScreen("the experiment part", `\[EXPERIMENT\]`)
	for i, back := range []struct{ key, part string }{{"n", "CHALLENGE"}, {"p", "EXPERIMENT"}} {
		tm.Keys("S")
		tm.WaitScreen("the shell's prompt inside", `\[nslab:uts\]`)
		word := []string{"first", "second"}[i]
		tm.Type("echo typed-" + word + "-at-once\r")
		tm.WaitScreen("the shell's answer to the first line typed", `(?m)^typed-`+word+`-at-once`)
		tm.Type("exit\r")
		tm.WaitScreen("nslab again", `back from the shell`)
		tm.Type(back.key)
		tm.WaitScreen("nslab's answer to the first key after the shell", `\[`+back.part+`\]`)
	}
	tm.Type("\x03")
	if out := tm.WaitEnd(); !strings.Contains(out, "Bye, alice") {
		t.Errorf("no goodbye after ctrl+c:\n%s", out)
	}
	sandboxtest.UnchangedSince(t, before)
}
