package main

// nslab never gives its own terminal away (issue 10, B). These tests run
// the real binary the way a learner does: typed into an interactive bash
// with job control in a tmux terminal. That bash is what reports
// "Stopped" (SIGTTOU) when a shell nslab started takes the terminal's
// foreground group, and what shows nslab's exit status afterwards.

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// termGone is how soon nslab and every agent must be gone after the
// terminal closed.
const termGone = 2 * time.Second

// bashSession starts an interactive bash (job control on, no rc files)
// in a new tmux terminal and types cmdline into it.
func bashSession(t *testing.T, name, home, cmdline string) tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	shell := fmt.Sprintf("env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin TERM=xterm-256color LANG=C.UTF-8 HOME=%s SHELL=/bin/sh PS1='test$ ' bash --norc --noprofile -i", home)
	s := startTmux(t, fmt.Sprintf("nslab-term-%s-%d", name, os.Getpid()), shell)
	s.waitFor("bash's prompt", regexp.MustCompile(`(?m)^test\$`))
	// Job control is what makes bash report a stopped job: be sure it is on.
	s.keys("set -o | grep -E '^monitor' | tr -s ' \\t' =", "Enter")
	s.waitFor("job control on", regexp.MustCompile(`monitor=on`))
	s.keys("clear", "Enter", cmdline, "Enter")
	return s
}

var (
	reShellPrompt = regexp.MustCompile(`\[nslab:[^\]]+\]`)
	rePerformed   = regexp.MustCompile(`performed: the syscalls are in the log`)
	reBackFromSh  = regexp.MustCompile(`back from the shell`)
)

// toShell opens lesson id's Perform part, performs it and opens the
// full-screen shell (S; s opens the shell pane).
func toShell(s tmuxSession) {
	s.t.Helper()
	s.waitFor("the lesson's concept", regexp.MustCompile(`\[CONCEPT\]`))
	s.keys("n", "n")
	s.waitFor("the perform part", regexp.MustCompile(`\[PERFORM\]`))
	s.keys("Enter")
	s.waitFor("the lesson performed", rePerformed)
	s.keys("S")
	s.waitFor("the shell's prompt inside the sandbox", reShellPrompt)
}

// nslabState is the state letter of the nslab process that bash started
// ("" when none runs): T is stopped.
func nslabStates() []string {
	var out []string
	for _, l := range leftovers() {
		pid, _, _ := strings.Cut(l, ":")
		st, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
		out = append(out, pid+"="+f[0])
	}
	return out
}

// TestTUIShellExitKeepsNslab: in overview, pid and container, `exit` from
// the sandbox shell returns to nslab, which keeps running (bash reports no
// stopped job, no process of nslab's is stopped), and quitting later
// exits 0. Also as nobody in overview (rootless). The host is unchanged.
func TestTUIShellExitKeepsNslab(t *testing.T) {
	needRoot(t)
	path := needBinary(t)
	cases := []struct{ id, as string }{{"overview", "root"}, {"pid", "root"}, {"container", "root"}, {"overview", "nobody"}}
	for _, c := range cases {
		t.Run(c.id+"/"+c.as, func(t *testing.T) {
			before := readHost(t)
			home := t.TempDir()
			cmdline := path + " --lesson " + c.id
			if c.as == "nobody" {
				if err := os.Chmod(home, 0o777); err != nil {
					t.Fatal(err)
				}
				cmdline = "setpriv --reuid=nobody --regid=nogroup --clear-groups " + cmdline
			}
			s := bashSession(t, c.id+"-"+c.as, home, cmdline)
			toShell(s)
			s.keys("echo in-the-shell", "Enter")
			s.waitFor("the shell's output", regexp.MustCompile(`(?m)^in-the-shell`))
			s.keys("exit", "Enter")
			s.waitFor("nslab back from the shell", reBackFromSh)
			// nslab's next frames would stop it if it had lost its terminal.
			time.Sleep(500 * time.Millisecond)
			s.keys("r")
			time.Sleep(300 * time.Millisecond)
			scr := s.screen()
			if strings.Contains(scr, "Stopped") {
				t.Fatalf("bash reports nslab stopped:\n%s", scr)
			}
			for _, st := range nslabStates() {
				if strings.HasSuffix(st, "=T") {
					t.Fatalf("a process of nslab is stopped (%s):\n%s", st, scr)
				}
			}
			if !regexp.MustCompile(`\[PERFORM\]`).MatchString(scr) {
				t.Fatalf("nslab's screen is gone after the shell:\n%s", scr)
			}
			// Quit: q leaves the lesson, q again quits.
			s.keys("q")
			s.waitFor("the lesson list", regexp.MustCompile(`UTS namespaces: a hostname of your own`))
			s.keys("q")
			s.waitFor("bash's prompt again", regexp.MustCompile(`(?m)^test\$`))
			s.keys(`echo "nslab-exit=$?"`, "Enter")
			scr = s.waitFor("nslab's exit status", regexp.MustCompile(`nslab-exit=\d+`))
			if !strings.Contains(scr, "nslab-exit=0") {
				t.Fatalf("nslab exited non-zero after the shell:\n%s", scr)
			}
			checkHostUnchanged(t, before)
		})
	}
}

// TestTUITerminalClosed: the tmux session is killed before, during and
// after the use of the sandbox shell; nslab and every agent are gone
// within termGone, and the host is unchanged.
func TestTUITerminalClosed(t *testing.T) {
	needRoot(t)
	path := needBinary(t)
	// uts has no PID namespace, pid has one (the shell is then a child of
	// nslab's entering process, inside it).
	for _, c := range []struct{ id, when string }{{"uts", "before"}, {"uts", "during"}, {"uts", "after"}, {"pid", "during"}, {"pid", "after"}} {
		id, when := c.id, c.when
		t.Run(id+"/"+when, func(t *testing.T) {
			before := readHost(t)
			home := t.TempDir()
			var shellPid string
			s := bashSession(t, "closed-"+id+"-"+when, home, path+" --lesson "+id)
			switch when {
			case "before":
				s.waitFor("the lesson's concept", regexp.MustCompile(`\[CONCEPT\]`))
				s.keys("n", "n")
				s.waitFor("the perform part", regexp.MustCompile(`\[PERFORM\]`))
				s.keys("Enter")
				s.waitFor("the lesson performed", rePerformed)
			case "during":
				toShell(s)
				if id != "uts" {
					break
				}
				// uts has no PID namespace: $$ is the shell's pid here too.
				s.keys("echo SHPID=$$", "Enter")
				m := regexp.MustCompile(`SHPID=(\d+)`).FindStringSubmatch(s.waitFor("the shell's pid", regexp.MustCompile(`SHPID=\d+`)))
				shellPid = m[1]
			case "after":
				toShell(s)
				s.keys("exit", "Enter")
				s.waitFor("nslab back from the shell", reBackFromSh)
			}
			if len(leftovers()) < 2 {
				t.Fatalf("want nslab and its agent running before the terminal closes, have %v", leftovers())
			}
			s.tmux("kill-session", "-t", s.name)
			start := time.Now()
			var left []string
			for time.Since(start) < termGone {
				left = leftovers()
				if shellPid != "" {
					if _, err := os.Stat("/proc/" + shellPid); err == nil {
						left = append(left, "the sandbox shell "+shellPid)
					}
				}
				if len(left) == 0 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if len(left) > 0 {
				t.Fatalf("%v after the terminal closed, still running: %v (states %v)", termGone, left, nslabStates())
			}
			t.Logf("terminal closed %s the shell: nslab and its agents gone in %v", when, time.Since(start).Round(time.Millisecond))
			checkHostUnchanged(t, before)
		})
	}
}

// sandboxShells lists the sandbox shells this test's nslab started: the
// processes running its hidden entry point and, where that forked into a
// PID namespace, their children (the shell itself).
func sandboxShells() []int {
	var enters, out []int
	ppid := map[int]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
		ppid[pid], _ = strconv.Atoi(f[1])
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		args := strings.Split(string(cmdline), "\x00")
		exe, _ := os.Readlink("/proc/" + e.Name() + "/exe")
		if len(args) > 1 && args[1] == "__nslab_enter" && ourBinary(exe) {
			enters = append(enters, pid)
		}
	}
	for pid, pp := range ppid {
		if slices.Contains(enters, pp) {
			out = append(out, pid)
		}
	}
	// Without a fork the entering process became the shell: its exe is
	// the shell's, and it is found by the caller's SHPID instead.
	return append(out, enters...)
}

// TestTUIShellKilled: the sandbox shell is killed (SIGKILL, from outside)
// while it runs full screen: nslab comes back, says so, keeps running,
// and quitting exits 0; the host is unchanged.
func TestTUIShellKilled(t *testing.T) {
	needRoot(t)
	path := needBinary(t)
	for _, id := range []string{"uts", "pid"} {
		t.Run(id, func(t *testing.T) {
			before := readHost(t)
			s := bashSession(t, "killed-"+id, t.TempDir(), path+" --lesson "+id)
			toShell(s)
			var victims []int
			if id == "uts" {
				// No PID namespace: $$ is the shell's pid here too.
				s.keys("echo SHPID=$$", "Enter")
				m := regexp.MustCompile(`SHPID=(\d+)`).FindStringSubmatch(s.waitFor("the shell's pid", regexp.MustCompile(`SHPID=\d+`)))
				pid, _ := strconv.Atoi(m[1])
				victims = []int{pid}
			} else {
				victims = sandboxShells()
			}
			if len(victims) == 0 {
				t.Fatal("no sandbox shell found to kill")
			}
			// The shell itself: the last-found child, or the pid it printed.
			if err := syscall.Kill(victims[0], syscall.SIGKILL); err != nil {
				t.Fatalf("kill the shell %d: %v", victims[0], err)
			}
			scr := s.waitFor("nslab back, saying the shell ended", regexp.MustCompile(`shell: .*(killed|exit status 137)`))
			time.Sleep(300 * time.Millisecond)
			if strings.Contains(s.screen(), "Stopped") || !regexp.MustCompile(`\[PERFORM\]`).MatchString(s.screen()) {
				t.Fatalf("nslab is not back on its screen after the shell was killed:\n%s", scr)
			}
			s.keys("q")
			s.waitFor("the lesson list", regexp.MustCompile(`UTS namespaces: a hostname of your own`))
			s.keys("q")
			s.waitFor("bash's prompt again", regexp.MustCompile(`(?m)^test\$`))
			s.keys(`echo "nslab-exit=$?"`, "Enter")
			scr = s.waitFor("nslab's exit status", regexp.MustCompile(`nslab-exit=\d+`))
			if !strings.Contains(scr, "nslab-exit=0") {
				t.Fatalf("nslab exited non-zero after its shell was killed:\n%s", scr)
			}
			checkHostUnchanged(t, before)
		})
	}
}

// TestTUIShellKeysTypedAtOnce: on nslab's own terminal (typed into an
// interactive bash with job control), the line typed the moment the
// full-screen shell shows its prompt reaches the shell, and the key
// typed the moment nslab is back reaches nslab, at every switch, each
// typed once. (Over SSH these were lost: ui/serve's
// TestShellHandoffKeysTypedAtOnce.)
func TestTUIShellKeysTypedAtOnce(t *testing.T) {
	needRoot(t)
	path := needBinary(t)
	before := readHost(t)
	s := bashSession(t, "atonce", t.TempDir(), path+" --lesson uts")
	toShell(s)
	for i, back := range []struct{ key, part string }{{"n", "OBSERVE"}, {"p", "PERFORM"}} {
		if i > 0 {
			s.keys("S")
			s.waitFor("the shell's prompt inside the sandbox", reShellPrompt)
		}
		word := []string{"first", "second"}[i]
		// One send-keys: the line and its return reach the terminal at once.
		s.tmux("send-keys", "-t", s.name, "echo typed-"+word+"-at-once", "Enter")
		s.waitFor("the shell's answer to the first line typed", regexp.MustCompile(`(?m)^typed-`+word+`-at-once`))
		s.tmux("send-keys", "-t", s.name, "exit", "Enter")
		s.waitFor("nslab back from the shell", reBackFromSh)
		s.tmux("send-keys", "-t", s.name, back.key)
		s.waitFor("nslab's answer to the first key after the shell", regexp.MustCompile(`\[`+back.part+`\]`))
	}
	s.keys("q")
	s.waitFor("the lesson list", regexp.MustCompile(`UTS namespaces: a hostname of your own`))
	s.keys("q")
	s.waitFor("bash's prompt again", regexp.MustCompile(`(?m)^test\$`))
	s.keys(`echo "nslab-exit=$?"`, "Enter")
	if scr := s.waitFor("nslab's exit status", regexp.MustCompile(`nslab-exit=\d+`)); !strings.Contains(scr, "nslab-exit=0") {
		t.Fatalf("nslab exited non-zero:\n%s", scr)
	}
	checkHostUnchanged(t, before)
}
