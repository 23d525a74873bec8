package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestTUIShellPaneUTS is the experiment loop with the real binary, started
// the way a learner does — from an interactive bash with job control in a
// terminal: open uts, perform it, open the shell pane, type `hostname lab`.
// One capture of the screen then shows the shell with its next prompt,
// lab under SANDBOX, the host's own name under HOST, and the learner's
// sethostname("lab", 3) = 0 in the syscall log. Then the shell is
// left with exit, nslab keeps running, and q q quits it with status 0; the
// host is unchanged.
func TestTUIShellPaneUTS(t *testing.T) {
	needRoot(t)
	path := needBinary(t)
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	before := readHost(t)
	hostName, _ := os.Hostname()
	home := t.TempDir()
	env := fmt.Sprintf("env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin TERM=xterm-256color LANG=C.UTF-8 HOME=%s SHELL=/bin/sh PS1='outer$ '", home)
	s := startTmux(t, fmt.Sprintf("nslab-pane-%d", os.Getpid()), env+" bash --norc --noprofile -i")
	s.waitFor("the outer bash", regexp.MustCompile(`outer\$`))
	s.keys(path+"; echo nslab-exit=$?", "Enter")

	s.performUTS()
	s.keys("n", "n")
	s.waitFor("the experiment part", regexp.MustCompile(`\[EXPERIMENT\]`))
	s.keys("s")
	s.waitFor("the shell pane's prompt", regexp.MustCompile(`shell in the sandbox ● \^\] back[\s\S]*\[nslab:uts\] \S+[#$]`))
	s.keys("hostname lab", "Enter")

	// All at once, in one capture: the command and the prompt after it in
	// the pane, and the views (which refresh when the shell's output
	// settles) with lab under SANDBOX beside the host's own name.
	prompt := regexp.MustCompile(`\[nslab:uts\] \S+[#$] hostname lab\s*│[^\n]*\n\[nslab:uts\] \S+[#$]`)
	row := regexp.MustCompile(`hostname\s+│\s*` + regexp.QuoteMeta(hostName) + `\s+│\s*lab\b`)
	// The learner's own call, traced from the kernel (package shelltrace).
	learner := regexp.MustCompile(`\[you: hostname, pid \d+[^\]]*\] sethostname\("lab", 3\) = 0`)
	var scr string
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		scr = s.screen()
		if prompt.MatchString(scr) && row.MatchString(scr) && learner.MatchString(scr) {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the shell, its prompt, HOST %s, SANDBOX lab and the learner's sethostname not on one screen:\n%s", hostName, scr)
		}
	}
	if strings.Contains(scr, "Stopped") {
		t.Fatalf("the outer bash stopped nslab:\n%s", scr)
	}

	// exit leaves the pane; nslab runs on, in the lesson.
	s.keys("exit", "Enter")
	s.waitFor("the pane closed", regexp.MustCompile(`the shell ended; s opens a new one`))
	s.keys("q")
	s.waitFor("the lesson list", regexp.MustCompile(`UTS namespaces: a hostname of your own`))
	s.keys("q")
	scr = s.waitFor("nslab's exit status", regexp.MustCompile(`nslab-exit=\d+`))
	if !strings.Contains(scr, "nslab-exit=0") {
		t.Fatalf("nslab did not exit 0:\n%s", scr)
	}
	if h, _ := os.Hostname(); h != hostName {
		t.Fatalf("the host's hostname changed to %q", h)
	}
	checkHostUnchanged(t, before)
}
