package main

// `nslab serve`, the real binary: learners over golang.org/x/crypto/ssh
// (ui/serve/servetest) and over OpenSSH's ssh in tmux, started from an
// interactive bash with job control. Loopback and ephemeral ports only.

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/nslab/nslab/ui/serve/servetest"
)

const serveTestCode = "class-code-for-tests"

// serveProc is a running `nslab serve` whose stdout (not a terminal: one
// line per event) the test reads.
type serveProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	port   string
	state  string
	log    servetest.Buffer
	stderr servetest.Buffer
	exited chan struct{}
}

var joinLine = regexp.MustCompile(`Join: +ssh -p (\d+) NAME@127\.0\.0\.1`)

// startServe starts `nslab serve` on 127.0.0.1:0 with state dir state
// and waits for its join line; it is killed when the test ends if it is
// still running.
func startServe(t *testing.T, state string, args ...string) *serveProc {
	t.Helper()
	p := &serveProc{t: t, state: state, exited: make(chan struct{})}
	p.cmd = exec.Command(needBinary(t), append([]string{"serve", "--listen", "127.0.0.1:0", "--state-dir", state, "--code", serveTestCode}, args...)...)
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var joinPort string
		for sc.Scan() {
			fmt.Fprintln(&p.log, sc.Text())
			if m := joinLine.FindStringSubmatch(sc.Text()); m != nil {
				joinPort = m[1]
			}
			// The code's line comes after the join line.
			if strings.HasPrefix(sc.Text(), "Class code:") {
				port <- joinPort
			}
		}
	}()
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	select {
	case p.port = <-port:
	case <-p.exited:
		t.Fatalf("nslab serve exited at start:\n%s\n%s", p.log.String(), p.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("no join line from nslab serve in 30 s:\n%s", p.log.String())
	}
	if !strings.Contains(p.log.String(), "Class code: "+serveTestCode) {
		t.Errorf("the class code is not printed:\n%s", p.log.String())
	}
	return p
}

func (p *serveProc) addr() string { return "127.0.0.1:" + p.port }

// learner logs in as name with the class code.
func (p *serveProc) learner(name string, hostKey func(gossh.PublicKey) error) *gossh.Client {
	p.t.Helper()
	c, err := servetest.Dial{Addr: p.addr(), Name: name, Auth: []gossh.AuthMethod{gossh.Password(serveTestCode)}, HostKey: hostKey}.Connect()
	if err != nil {
		p.t.Fatalf("%s cannot log in: %v\nserver log:\n%s", name, err, p.log.String())
	}
	p.t.Cleanup(func() { c.Close() })
	return c
}

// stop sends sig and returns the exit code (bounded wait).
func (p *serveProc) stop(sig syscall.Signal) int {
	p.t.Helper()
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.t.Fatalf("nslab serve did not exit on %v:\n%s", sig, p.log.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// waitLog waits (bounded) for a log line matching re.
func (p *serveProc) waitLog(re string) {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if rx.MatchString(p.log.String()) {
			return
		}
	}
	p.t.Fatalf("no log line matching %q:\n%s", re, p.log.String())
}

// sandboxProcs is the processes of ours in namespaces of their own: the
// learners' agents and shells (fiProcs, foreign namespaces only).
func sandboxProcs(t *testing.T) []string {
	var out []string
	for k, why := range fiProcs(t, bin.path) {
		if strings.Contains(why, "in foreign namespaces") {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// TestServeSIGTERM: two learners perform uts over SSH; SIGTERM to the
// server tells both, closes every sandbox, exits 143 and leaves the host
// as it was. The state dir is 0700 and the host key 0600; a restart
// serves the same host key and each learner's progress.
func TestServeSIGTERM(t *testing.T) {
	needRoot(t)
	before := readHost(t)
	state := filepath.Join(t.TempDir(), "class")
	p := startServe(t, state)
	for path, want := range map[string]os.FileMode{state: 0o700, filepath.Join(state, "host_ed25519"): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, mode %v, want %04o", path, err, fi.Mode().Perm(), want)
		}
	}
	var key gossh.PublicKey
	a := servetest.Open(t, p.learner("alice", func(k gossh.PublicKey) error { key = k; return nil }))
	b := servetest.Open(t, p.learner("bob", nil))
	a.PerformUTS()
	b.PerformUTS()
	p.waitLog(`joined name=alice`)
	p.waitLog(`joined name=bob`)
	if len(sandboxProcs(t)) == 0 {
		t.Fatal("no sandbox process seen: the test could not see one left")
	}
	if code := p.stop(syscall.SIGTERM); code != 143 {
		t.Errorf("exit code %d after SIGTERM, want 143\nstderr: %s", code, p.stderr.String())
	}
	for name, tm := range map[string]*servetest.Terminal{"alice": a, "bob": b} {
		if out := tm.WaitEnd(); !strings.Contains(out, "the instructor stopped the class server") {
			t.Errorf("%s was not told: %q", name, out[max(0, len(out)-300):])
		}
	}
	if left := sandboxProcs(t); len(left) != 0 {
		t.Errorf("sandbox processes left after the server exited: %v", left)
	}
	p.waitLog(`shutdown detail="the instructor stopped the class server"`)
	checkHostUnchanged(t, before)

	// A restart: the same host key, and alice's progress.
	p2 := startServe(t, state)
	a2 := servetest.Open(t, p2.learner("alice", servetest.SameKey(key)))
	a2.WaitScreen("alice's uts in progress", `UTS namespaces.*in progress`)
	if code := p2.stop(syscall.SIGINT); code != 130 {
		t.Errorf("exit code %d after SIGINT, want 130", code)
	}
	checkHostUnchanged(t, before)
}

// TestServeOpenSSHInTmux: OpenSSH's ssh, typed into an interactive bash
// with job control in tmux, logs in with the class code (SSH_ASKPASS),
// gets the TUI and performs uts. Killing that ssh (SIGKILL) leaves none
// of the learner's sandboxes after 2 s; reconnecting from the same bash
// finds the progress; q says goodbye.
func TestServeOpenSSHInTmux(t *testing.T) {
	needRoot(t)
	needSSHTools(t)
	before := readHost(t)
	dir := t.TempDir()
	p := startServe(t, filepath.Join(dir, "class"))
	s, sshLine := sshLearner(t, p, dir, "alice")
	s.performUTS()
	if len(sandboxProcs(t)) == 0 {
		t.Fatal("no sandbox process seen after Perform")
	}

	// SIGKILL the ssh client (the pane's bash's child).
	sshPid := childOf(t, s.tmux("display-message", "-p", "-t", s.name, "#{pane_pid}"), "ssh")
	killed := time.Now()
	if err := syscall.Kill(sshPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for left := sandboxProcs(t); len(left) != 0; left = sandboxProcs(t) {
		if time.Since(killed) > 2*time.Second {
			t.Fatalf("2 s after the ssh client was killed these remain: %v", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("the learner's sandboxes were gone %v after ssh was killed", time.Since(killed).Round(time.Millisecond))
	p.waitLog(`left name=alice .*connection closed`)
	// bash reports its job killed; the terminal is still in the alternate
	// screen ssh left it in, as after any killed full-screen client.
	s.waitFor("bash's report of the killed job", regexp.MustCompile(`Killed`))
	s.keys(`stty sane; printf '\033[?1049l'; clear`, "Enter")
	s.waitFor("bash's prompt after the kill", regexp.MustCompile(`(?m)^e2e\$\s*$`))

	// Reconnect from the same bash: the progress is there.
	s.keys(sshLine, "Enter")
	s.waitFor("uts in progress after reconnecting", regexp.MustCompile(`UTS namespaces: a hostname of your own.*in progress`))
	s.keys("q")
	s.waitFor("the goodbye and bash's prompt", regexp.MustCompile(`(?ms)Bye, alice.*^e2e\$\s*$`))
	if code := p.stop(syscall.SIGTERM); code != 143 {
		t.Errorf("exit code %d after SIGTERM, want 143", code)
	}
	_ = exec.Command("tmux", "kill-session", "-t", s.name).Run()
	checkHostUnchanged(t, before)
}

// childOf is the pid of the child of pid (a decimal string) whose comm is
// comm, waited for at most 5 s.
func childOf(t *testing.T, pid, comm string) int {
	t.Helper()
	pid = strings.TrimSpace(pid)
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile("/proc/" + pid + "/task/" + pid + "/children")
		for _, c := range strings.Fields(string(b)) {
			n, _ := strconv.Atoi(c)
			if pi, ok := fiReadProc(n); ok && pi.comm == comm {
				return n
			}
		}
	}
	t.Fatalf("no %s child of pid %s", comm, pid)
	return 0
}

// The command line refuses what it cannot serve, with its exit codes.
func TestServeFlags(t *testing.T) {
	dir := t.TempDir()
	emptyCode := filepath.Join(dir, "empty")
	os.WriteFile(emptyCode, nil, 0o600)
	for _, tc := range []struct {
		inv  invocation
		code int
		msg  string
	}{
		{invocation{args: []string{"serve", "--code", "abcdefgh", "--code-file", emptyCode}}, exitUsage, "not both"},
		{invocation{args: []string{"serve", "--code-file", emptyCode}}, exitUsage, "is empty"},
		{invocation{args: []string{"serve", "--code", "abc"}}, exitUsage, "at least 6"},
		{invocation{args: []string{"serve", "--max-learners", "0"}}, exitUsage, "at least 1"},
		{invocation{args: []string{"serve", "extra"}}, exitUsage, "takes no arguments"},
		{invocation{args: []string{"serve"}, nobody: true}, exitMachine, "runs as root"},
		{invocation{args: []string{"serve", "--code", "abcdefgh", "--state-dir", emptyCode, "--listen", "127.0.0.1:0"}}, exitMachine, "state directory"},
	} {
		if tc.inv.nobody && os.Geteuid() != 0 {
			continue
		}
		if !tc.inv.nobody && os.Geteuid() != 0 && tc.code != exitUsage {
			continue
		}
		r := nslab(t, tc.inv)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("nslab %v: %v, want exit %d and %q", tc.inv.args, r, tc.code, tc.msg)
		}
	}
}

func TestNewClassCode(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		c, err := newClassCode()
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^[a-hj-km-np-z2-9]{4}-[a-hj-km-np-z2-9]{4}-[a-hj-km-np-z2-9]{4}$`).MatchString(c) || seen[c] {
			t.Fatalf("class code %q (seen before: %v)", c, seen[c])
		}
		seen[c] = true
	}
}
