package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/components/shellpane"
	"github.com/nslab/nslab/ui/internal/uitest"
)

// fakeShell is a shell's screen after `hostname lab`, coloured prompt
// included; a Fake term draws it with no process behind it.
const fakeShell = "\x1b[1;32m[nslab:uts]\x1b[0m root@sandbox:~# hostname lab\r\n\x1b[1;32m[nslab:uts]\x1b[0m root@lab:~# "

// TestGoldenShellPane: the lesson screen with the shell pane open beside
// the live views and the log, at both sizes.
func TestGoldenShellPane(t *testing.T) {
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			h := newHarness(t, sz.w, sz.h, nil)
			h.keys("j", "enter", "n", "n", "enter")
			h.until("observed", observed)
			h.keys("n", "n")
			h.until("experiment", at(lessons.PartExperiment))
			h.tm.Send(shellpane.StartedMsg{Term: shellpane.Fake(40, 10, fakeShell)})
			h.waitFor("root@lab:~#")
			_, screen := h.final()
			checkScreen(t, screen, sz.w, sz.h)
			for _, want := range []string{"shell in the sandbox ● ^] back", "# hostname lab", "HOST", "SANDBOX", "devbox", "syscalls (4)", "^] shell/lesson"} {
				if !strings.Contains(screen, want) {
					t.Errorf("screen lacks %q:\n%s", want, screen)
				}
			}
			golden.RequireEqual(t, []byte(screen))
		})
	}
}

// everyFlag is the container lesson's clone: every CLONE_NEW* flag on one
// call, far wider than the live column.
var everyFlag = sandbox.Event{
	Seq: 10, Syscall: "clone", PID: 4300, TID: 4300, Ret: 4301,
	Args: []string{"child_stack=NULL", "flags=CLONE_NEWNS|CLONE_NEWCGROUP|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET|CLONE_NEWTIME|SIGCHLD"},
}

// TestLogWhole: l opens the syscall log whole; every event of a long
// trace is reachable, the one clone with every flag is read to its last
// flag (wrapped, not cut), the title says how much is above, and l goes
// back.
func TestLogWhole(t *testing.T) {
	var extra []sandbox.Event
	for i := range 8 {
		extra = append(extra, sandbox.Event{Seq: 20 + i, Syscall: "openat", PID: 4300, TID: 4300, Ret: 3,
			Args: []string{"AT_FDCWD", fmt.Sprintf(`"/proc/10507/ns/uts-%d-with-a-long-path-name-to-read"`, i), "O_RDONLY|O_CLOEXEC"}})
	}
	extra = append([]sandbox.Event{everyFlag}, extra...)
	h := newHarness(t, 120, 40, nil, withSessionHook(func(s *uitest.Session) { s.ExtraEvents = extra }))
	h.keys("j", "enter", "n", "n", "enter")
	h.until("observed", observed)
	h.waitFor("syscalls (13) (l: all)")
	h.keys("l")
	h.waitFor("syscall log: 13 calls")
	h.keys("g")
	h.waitFor("lines 1–")
	_, screen := h.final()
	checkScreen(t, screen, 120, 40)
	for _, want := range []string{"CLONE_NEWTIME", "SIGCHLD) = 4301", "uts-7-with-a-long-path-name-to-read\", O_RDONLY|O_CLOEXEC) = 3", "unshare(CLONE_NEWUTS) = 0"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the whole log lacks %q:\n%s", want, screen)
		}
	}
}
