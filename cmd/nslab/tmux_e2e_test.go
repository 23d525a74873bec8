package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
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

// startTmux runs cmdline in a new 120x40 tmux session called name. At
// cleanup it kills the session, if still there, and waits (bounded) until
// the process cmdline started has ended: killed by SIGHUP, an interactive
// bash still writes ~/.bash_history, and nslab its progress, into the
// test's HOME, a t.TempDir made earlier and removed right after
// (RemoveAll then failed with "directory not empty").
func startTmux(t *testing.T, name, cmdline string) tmuxSession {
	t.Helper()
	s := tmuxSession{t: t, name: name}
	s.tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "40", cmdline)
	pid, err := strconv.Atoi(strings.TrimSpace(s.tmux("display-message", "-p", "-t", name, "#{pane_pid}")))
	if err != nil {
		t.Fatalf("the pane's pid: %v", err)
	}
	start, _ := procStart(pid)
	t.Cleanup(func() {
		if s.alive() {
			_ = exec.Command("tmux", "kill-session", "-t", name).Run()
		}
		for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if st, running := procStart(pid); !running || st != start {
				return
			}
			if time.Now().After(end) {
				t.Errorf("%s (pid %d) still runs 10 s after its tmux session ended", cmdline, pid)
				return
			}
		}
	})
	return s
}

// procStart is pid's start time (field 22 of /proc/PID/stat, which tells
// a reused pid apart) while it runs; a zombie has ended.
func procStart(pid int) (start string, running bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return "", false
	}
	return f[19], true
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
	cmdline := fmt.Sprintf("env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin TERM=xterm-256color LANG=C.UTF-8 HOME=%s SHELL=/bin/sh %s", home, path)
	s := startTmux(t, fmt.Sprintf("nslab-e2e-%d", os.Getpid()), cmdline)

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

// TestStartTmuxWaitsForThePane: a pane process that still writes into its
// HOME a second after SIGHUP (as bash writes its history) has written
// when the session's cleanup is over, so the TempDir removed after it is
// left as the test's last step expects.
func TestStartTmuxWaitsForThePane(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	home := t.TempDir()
	late := filepath.Join(home, "late")
	t.Run("session", func(t *testing.T) {
		s := startTmux(t, fmt.Sprintf("nslab-late-%d", os.Getpid()),
			fmt.Sprintf(`env HOME=%s sh -c 'trap "sleep 1; touch \$HOME/late; exit" HUP; echo ready; while :; do sleep 0.1; done'`, home))
		s.waitFor("the pane's shell", regexp.MustCompile(`ready`))
	})
	if _, err := os.Stat(late); err != nil {
		t.Errorf("the session's cleanup returned before its process had ended: %v", err)
	}
}
