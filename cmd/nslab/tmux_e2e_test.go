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

// tmuxSession drives the real nslab binary in a tmux terminal, the way a
// learner does: keys in, screen out.
type tmuxSession struct {
	t    *testing.T
	name string
}

func (s tmuxSession) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", args...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (s tmuxSession) screen() string { return s.tmux("capture-pane", "-p", "-t", s.name) }

func (s tmuxSession) keys(keys ...string) {
	s.t.Helper()
	for _, k := range keys {
		s.tmux("send-keys", "-t", s.name, k)
		time.Sleep(150 * time.Millisecond) // the TUI renders at 10 fps
	}
}

// waitFor polls the screen until re matches, or fails with the screen.
func (s tmuxSession) waitFor(what string, re *regexp.Regexp) string {
	s.t.Helper()
	var scr string
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if scr = s.screen(); re.MatchString(scr) {
			return scr
		}
	}
	s.t.Fatalf("waiting for %s: not on screen:\n%s", what, scr)
	return ""
}

// performUTS drives the TUI from the lesson list to the uts lesson
// performed (its unshare in the syscall log).
func (s tmuxSession) performUTS() {
	s.t.Helper()
	s.waitFor("the lesson list", regexp.MustCompile(`UTS namespaces: a hostname of your own`))
	s.keys("j", "Enter")
	s.waitFor("the uts lesson", regexp.MustCompile(`\[CONCEPT\]`))
	s.keys("n", "n")
	s.waitFor("the perform part", regexp.MustCompile(`\[PERFORM\]`))
	s.keys("Enter")
	s.waitFor("the unshare in the syscall log", regexp.MustCompile(`unshare\(CLONE_NEWUTS\) = 0`))
}

func (s tmuxSession) alive() bool {
	return exec.Command("tmux", "has-session", "-t", s.name).Run() == nil
}

// TestTUIEndToEndUTS: open uts, perform it, open the full-screen shell
// (S), set the hostname, leave the shell, see the new name under SANDBOX and the host's
// own under HOST, quit with ctrl+c; the host is unchanged and nothing runs.
func TestTUIEndToEndUTS(t *testing.T) {
	needRoot(t)
	path := needBinary(t)
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	before := readHost(t)
	hostName, _ := os.Hostname()
	home := t.TempDir()
	s := tmuxSession{t: t, name: fmt.Sprintf("nslab-e2e-%d", os.Getpid())}
	cmdline := fmt.Sprintf("env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin TERM=xterm-256color LANG=C.UTF-8 HOME=%s SHELL=/bin/sh %s", home, path)
	s.tmux("new-session", "-d", "-s", s.name, "-x", "120", "-y", "40", cmdline)
	t.Cleanup(func() {
		if s.alive() {
			_ = exec.Command("tmux", "kill-session", "-t", s.name).Run()
		}
	})

	s.performUTS()
	s.keys("n", "n")
	s.waitFor("the experiment part", regexp.MustCompile(`\[EXPERIMENT\]`))
	s.keys("S")
	s.waitFor("the shell's prompt inside", regexp.MustCompile(`\[nslab:uts\]`))
	s.keys("hostname e2e-lab", "Enter", "exit", "Enter")
	row := regexp.MustCompile(`hostname\s+│\s*` + regexp.QuoteMeta(hostName) + `\s+│\s*e2e-lab`)
	s.waitFor("HOST "+hostName+" and SANDBOX e2e-lab side by side", row)

	s.keys("C-c")
	for end := time.Now().Add(10 * time.Second); s.alive() && time.Now().Before(end); {
		time.Sleep(100 * time.Millisecond)
	}
	if s.alive() {
		t.Fatalf("nslab did not quit on ctrl+c:\n%s", s.screen())
	}
	if h, _ := os.Hostname(); h != hostName {
		t.Fatalf("the host's hostname changed to %q", h)
	}
	checkHostUnchanged(t, before)
	if b, err := os.ReadFile(home + "/.local/state/nslab/progress.json"); err != nil || !strings.Contains(string(b), `"uts"`) {
		t.Errorf("progress not saved for uts: %v %s", err, b)
	}
}
