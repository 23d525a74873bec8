package main

// The classroom end to end: two learners, each with OpenSSH's ssh typed
// into an interactive bash with job control in tmux, join `nslab serve`,
// perform uts and solve its challenge in their confined sandboxes; the
// instructor's `nslab class status --json` shows both at their lesson
// and part, and `nslab class export --csv` lists both.

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nslab/nslab/lessons/class"
)

// sshLearner opens a tmux session with an interactive bash (job control
// on) and types the ssh line that joins p as name (returned, to type it
// again). dir is the learner's home: askpass, known_hosts.
func sshLearner(t *testing.T, p *serveProc, dir, name string) (tmuxSession, string) {
	t.Helper()
	askpass := filepath.Join(dir, "askpass")
	if err := os.WriteFile(askpass, []byte("#!/bin/sh\necho "+serveTestCode+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	shell := fmt.Sprintf("env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin TERM=xterm-256color LANG=C.UTF-8 HOME=%s PS1='e2e$ ' bash --norc --noprofile -i", dir)
	// startTmux's cleanup waits for bash to end: hung up, it writes its
	// history into HOME, dir, which may be a TempDir being removed.
	s := startTmux(t, fmt.Sprintf("nslab-class-e2e-%s-%d", name, os.Getpid()), shell)
	s.waitFor("bash's prompt", regexp.MustCompile(`(?m)^e2e\$\s*$`))
	s.keys("set -m; echo jobs:$-", "Enter")
	s.waitFor("job control on", regexp.MustCompile(`jobs:\w*m`))
	line := fmt.Sprintf("SSH_ASKPASS=%s SSH_ASKPASS_REQUIRE=force ssh -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=%s/known_hosts -p %s %s@127.0.0.1", askpass, dir, p.port, name)
	s.keys(line, "Enter")
	return s, line
}

// needSSHTools skips a test without tmux, OpenSSH's ssh or bash.
func needSSHTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"tmux", "ssh", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (.ci/run installs it)", tool)
		}
	}
}

// solveUTS goes from the performed uts lesson to its challenge, solves it
// in the full-screen shell inside the sandbox, and checks it.
func (s tmuxSession) solveUTS() {
	s.t.Helper()
	s.keys("n", "n", "n")
	s.waitFor("the challenge part", regexp.MustCompile(`\[CHALLENGE\]`))
	s.keys("S")
	s.waitFor("the shell's prompt inside", regexp.MustCompile(`\[nslab:uts\]`))
	s.keys("hostname lab", "Enter", "domainname nslab.test", "Enter", "exit", "Enter")
	s.waitFor("the challenge again", regexp.MustCompile(`back from the shell`))
	s.keys("c")
	s.waitFor("the challenge solved", regexp.MustCompile(`Solved`))
}

func TestClassTwoOpenSSHLearnersInTmux(t *testing.T) {
	needRoot(t)
	needSSHTools(t)
	before := readHost(t)
	hostName, _ := os.Hostname()
	dir := t.TempDir()
	state := filepath.Join(dir, "class")
	p := startServe(t, state)
	names := []string{"alice", "bob"}
	var ss []tmuxSession
	for _, n := range names {
		d := filepath.Join(dir, n)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		s, _ := sshLearner(t, p, d, n)
		ss = append(ss, s)
	}
	for _, s := range ss {
		s.performUTS()
	}
	for _, s := range ss {
		s.solveUTS()
	}
	if h, _ := os.Hostname(); h != hostName {
		t.Fatalf("the host's hostname changed to %q", h)
	}

	// The instructor's view, through the control socket.
	var rows []class.Row
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		r := nslab(t, invocation{args: []string{"class", "status", "--json", "--state-dir", state}})
		if r.code != 0 {
			t.Fatalf("class status: exit %d: %s", r.code, r.stderr)
		}
		var st struct{ Rows []class.Row }
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
			t.Fatalf("class status --json: %v\n%s", err, r.stdout)
		}
		rows = st.Rows
		if classDone(rows, names) || time.Now().After(end) {
			break
		}
	}
	if !classDone(rows, names) {
		t.Fatalf("class status does not show alice and bob connected at uts, challenge, solved: %+v", rows)
	}
	t.Logf("class status: %+v", rows)

	// The results, from the state directory, during the class.
	var recs [][]string
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		r := nslab(t, invocation{args: []string{"class", "export", "--csv", "--state-dir", state}})
		if r.code != 0 {
			t.Fatalf("class export: exit %d: %s", r.code, r.stderr)
		}
		var err error
		if recs, err = csv.NewReader(strings.NewReader(r.stdout)).ReadAll(); err != nil {
			t.Fatalf("class export --csv: %v\n%s", err, r.stdout)
		}
		if exported(recs, names) || time.Now().After(end) {
			break
		}
	}
	if !exported(recs, names) {
		t.Fatalf("class export --csv does not list alice and bob solving uts:\n%v", recs)
	}

	for i, s := range ss {
		s.keys("C-c")
		s.waitFor("the goodbye and bash's prompt", regexp.MustCompile(`(?ms)Bye, `+names[i]+`.*^e2e\$\s*$`))
	}
	if code := p.stop(syscall.SIGTERM); code != 143 {
		t.Errorf("exit code %d after SIGTERM, want 143", code)
	}
	for _, s := range ss {
		_ = exec.Command("tmux", "kill-session", "-t", s.name).Run()
	}
	checkHostUnchanged(t, before)
}

// classDone: every name is connected, at uts's challenge, solved.
func classDone(rows []class.Row, names []string) bool {
	n := 0
	for _, r := range rows {
		for _, want := range names {
			if r.Name == want && r.Connected && r.Lesson == "uts" && r.Part == "challenge" && r.Solved {
				n++
			}
		}
	}
	return n == len(names)
}

// exported: the CSV (header first) has a solved uts line for every name.
func exported(recs [][]string, names []string) bool {
	if len(recs) == 0 {
		return false
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	n := 0
	for _, r := range recs[1:] {
		for _, want := range names {
			if r[col["learner"]] == want && r[col["lesson"]] == "uts" && r[col["solved"]] == "true" {
				n++
			}
		}
	}
	return n == len(names)
}
