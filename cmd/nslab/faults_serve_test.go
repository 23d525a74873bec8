package main

// The fault matrix's endings of a served learner (`nslab serve`): at every
// part boundary of the uts lesson, reached over SSH in the learner's own
// TUI, the learner's ssh client is killed, the server gets SIGTERM, or
// the instructor ends the session (`nslab class end`, also once in the
// full-screen shell). After a killed client none of that learner's
// sandboxes is left after 2 s and the server goes on; after SIGTERM the
// learner is told and the host is exactly as before (fiHostPrint: the
// host, nslab's IPC names, every process of the run); an ended learner
// is told why and has no sandbox left 2 s after the command. Each
// learner's progress file stays valid.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/ui/serve/servetest"
)

const (
	// fiSSHKilled: the learner's ssh client dies (its connection closes
	// with no SSH goodbye, as when the process is killed).
	fiSSHKilled fiEnding = "ssh-client-killed"
	// fiServeTERM: SIGTERM to `nslab serve` while the learner is there.
	fiServeTERM fiEnding = "server-SIGTERM"
	// fiServeEnded: the instructor ends the learner's session with
	// `nslab class end NAME --why TEXT`.
	fiServeEnded fiEnding = "instructor-ends-session"
)

// fiEndWhy is the reason the instructor gives in the fault matrix.
const fiEndWhy = "the fault matrix ends this session"

// fiServeReach drives a learner's TUI from the lesson list to part of the
// uts lesson, performing it on the way when part comes after Perform.
func fiServeReach(tm *servetest.Terminal, part lessons.Part) {
	tm.WaitScreen("the lesson list", `UTS namespaces`)
	tm.Keys("j", "Enter")
	for _, p := range lessons.Parts() {
		tm.WaitScreen("part "+string(p), `\[`+strings.ToUpper(string(p))+`\]`)
		if p == lessons.PartPerform {
			tm.Keys("Enter")
			tm.WaitScreen("the unshare in the syscall log", `unshare\(CLONE_NEWUTS\) = 0`)
		}
		if p == part {
			return
		}
		tm.Keys("n")
	}
}

// fiServeProgress checks the learner's progress file: valid, and naming
// uts once the learner has moved past its first part.
func fiServeProgress(t *testing.T, state, name string, part lessons.Part) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(state, "learners", name, "progress.json"))
	if err != nil {
		if part != lessons.PartConcept || !os.IsNotExist(err) {
			t.Errorf("%s at %s: progress: %v", name, part, err)
		}
		return
	}
	p, err := lessons.DecodeProgress(b)
	if err != nil {
		t.Errorf("%s at %s: the progress file is not valid: %v\n%s", name, part, err, b)
		return
	}
	if part != lessons.PartConcept && p.Get("uts").Status != lessons.StatusInProgress && p.Get("uts").Status != lessons.StatusDone {
		t.Errorf("%s at %s: uts not in the progress: %s", name, part, b)
	}
}

func TestFaultMatrixServe(t *testing.T) {
	needRoot(t)
	if testing.Short() {
		t.Skip("-short: the served fault matrix starts the server nine times")
	}
	before := fiTakeHostPrint(t, bin.path)
	dir := t.TempDir()

	// The client killed at every boundary, one server for them all.
	state := filepath.Join(dir, "killed")
	p := startServe(t, state)
	base := sandboxProcs(t)
	for i, part := range lessons.Parts() {
		name := "k" + string(rune('a'+i))
		c := p.learner(name, nil)
		tm := servetest.Open(t, c)
		fiServeReach(tm, part)
		killed := time.Now()
		c.Close()
		for left := sandboxProcs(t); len(left) > len(base) || len(servetest.LearnerCgroups(name)) > 0; left = sandboxProcs(t) {
			if time.Since(killed) > 2*time.Second {
				t.Fatalf("%s at %s: 2 s after the client was killed these remain: %v, cgroups %v", name, part, left, servetest.LearnerCgroups(name))
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("%s at %-10s: sandboxes gone %v after the client was killed", fiSSHKilled, part, time.Since(killed).Round(time.Millisecond))
		p.waitLog(`left name=` + name + ` .*connection closed`)
		fiServeProgress(t, state, name, part)
	}
	if code := p.stop(syscall.SIGTERM); code != 143 {
		t.Errorf("exit %d after SIGTERM, want 143", code)
	}

	// SIGTERM at every boundary, a server each time.
	for i, part := range lessons.Parts() {
		state := filepath.Join(dir, "term"+string(rune('a'+i)))
		p := startServe(t, state)
		tm := servetest.Open(t, p.learner("alice", nil))
		fiServeReach(tm, part)
		start := time.Now()
		if code := p.stop(syscall.SIGTERM); code != 143 {
			t.Errorf("%s at %s: exit %d, want 143\n%s", fiServeTERM, part, code, p.stderr.String())
		}
		if out := tm.WaitEnd(); !strings.Contains(out, "the instructor stopped the class server") {
			t.Errorf("%s at %s: the learner was not told: %q", fiServeTERM, part, out[max(0, len(out)-300):])
		}
		t.Logf("%s at %-10s: the server exited %v after SIGTERM", fiServeTERM, part, time.Since(start).Round(time.Millisecond))
		fiServeProgress(t, state, "alice", part)
		fiServeHostSame(t, before, "alice", fmt.Sprintf("%s at %s", fiServeTERM, part))
	}

	// The instructor ends the session at every boundary, and once in the
	// full-screen shell (where the program waits for the shell and reads
	// no notice), one server for them all.
	state = filepath.Join(dir, "ended")
	p = startServe(t, state)
	base = sandboxProcs(t)
	type endCase struct {
		part  lessons.Part
		shell bool
	}
	var cases []endCase
	for _, part := range lessons.Parts() {
		cases = append(cases, endCase{part, false})
	}
	cases = append(cases, endCase{lessons.PartExperiment, true})
	for i, c := range cases {
		name, where := "e"+string(rune('a'+i)), string(c.part)
		tm := servetest.Open(t, p.learner(name, nil))
		fiServeReach(tm, c.part)
		if c.shell {
			where += " in the full-screen shell"
			tm.Keys("S")
			tm.WaitScreen("the shell's prompt inside", `\[nslab:uts\]`)
		}
		r := nslab(t, invocation{args: []string{"class", "end", name, "--why", fiEndWhy, "--state-dir", state}})
		ended := time.Now()
		if r.code != 0 {
			t.Fatalf("%s at %s: nslab class end: %v", fiServeEnded, where, r)
		}
		// Told why, on the screen, while the sandboxes close.
		tm.WaitScreen("the reason", `Your class session was ended: `+regexp.QuoteMeta(fiEndWhy))
		for left := sandboxProcs(t); len(left) > len(base); left = sandboxProcs(t) {
			if time.Since(ended) > 2*time.Second {
				t.Fatalf("%s at %s: 2 s after the instructor ended the session these remain: %v", fiServeEnded, where, left)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("%s at %-10s: sandboxes gone %v after nslab class end", fiServeEnded, where, time.Since(ended).Round(time.Millisecond))
		// A key leaves; the goodbye says why again.
		tm.Keys("x")
		if out := tm.WaitEnd(); !strings.Contains(out, fiEndWhy) || !strings.Contains(out, "your progress is saved") {
			t.Errorf("%s at %s: the learner's last words do not say why: %q", fiServeEnded, where, out[max(0, len(out)-300):])
		}
		p.waitLog(`left name=` + name + ` .*` + regexp.QuoteMeta(fiEndWhy))
		fiServeProgress(t, state, name, c.part)
		for end := time.Now().Add(2 * time.Second); len(servetest.LearnerCgroups(name)) > 0; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("%s at %s: %s's cgroups remain after the session ended: %v\nserver log:\n%s", fiServeEnded, where, name, servetest.LearnerCgroups(name), p.log.String())
			}
		}
	}
	if code := p.stop(syscall.SIGTERM); code != 143 {
		t.Errorf("exit %d after SIGTERM, want 143", code)
	}
	fiServeHostSame(t, before, "", string(fiServeEnded))
}

// fiServeHostSame fails unless the host is as before (waiting, bounded,
// for the kernel's async teardown), and name's cgroups ("" none) are gone.
func fiServeHostSame(t *testing.T, before fiHostPrint, name, what string) {
	t.Helper()
	var d []string
	for end := time.Now().Add(fiSettle); ; time.Sleep(100 * time.Millisecond) {
		if d = before.diff(fiTakeHostPrint(t, bin.path)); len(d) == 0 || time.Now().After(end) {
			break
		}
	}
	if len(d) != 0 {
		t.Fatalf("%s: the host changed:\n%s", what, strings.Join(d, "\n"))
	}
	if name == "" {
		return
	}
	if cg := servetest.LearnerCgroups(name); len(cg) != 0 {
		t.Fatalf("%s: %s's cgroups remain: %v", what, name, cg)
	}
}
