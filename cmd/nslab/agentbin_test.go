package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/sandbox"
)

// runAgentExe starts `nslab run uts --plain` from path (as nobody through
// setpriv when nobody), waits for the challenge prompt, and returns what
// the sandbox's agent process executes (/proc/PID/exe) and its name; it
// ends nslab with SIGTERM and checks that the agent went with it and the
// host is as it was.
func runAgentExe(t *testing.T, path string, nobody bool) (exe, comm string) {
	t.Helper()
	before := readHost(t)
	argv := []string{path, "run", "uts", "--plain", "--answer", "1"}
	if nobody {
		argv = append([]string{"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	home := reachableDir(t)
	if err := os.Chmod(home, 0o777); err != nil {
		t.Fatal(err)
	}
	cmd.Env = baseEnv(home)
	cmd.Dir = os.TempDir()
	out, _, done := startAtChallenge(t, cmd)
	agent := agentPID(out.String())
	exe, exeErr := os.Readlink(filepath.Join("/proc", itoa(agent), "exe"))
	b, commErr := os.ReadFile(filepath.Join("/proc", itoa(agent), "comm"))
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("SIGTERM did not end nslab within 10 s")
	}
	if agent == 0 || exeErr != nil || commErr != nil {
		t.Fatalf("agent %d: exe %v, comm %v\n%s", agent, exeErr, commErr, out.String())
	}
	if err := unix.Kill(agent, 0); !errors.Is(err, unix.ESRCH) {
		t.Errorf("agent %d still exists after SIGTERM: %v", agent, err)
	}
	checkHostUnchanged(t, before)
	return exe, strings.TrimSpace(string(b))
}

func itoa(n int) string { return strconv.Itoa(n) }

// Installed beside nslab (as TestMain builds them), the slim agent binary
// is what every agent runs, as root and as nobody (rootless): it is
// checked, opened once and executed through its fd, so /proc/PID/exe
// names that file.
func TestAgentFromSlimBinary(t *testing.T) {
	needRoot(t)
	utsReady(t)
	path := needBinary(t)
	slim := filepath.Join(filepath.Dir(path), sandbox.AgentName)
	r := nslab(t, invocation{args: []string{"version"}})
	if !strings.Contains(r.stdout, "agents start from "+slim+", the slim agent binary") {
		t.Fatalf("version does not name the slim agent:\n%s", r)
	}
	for _, nobody := range []bool{false, true} {
		exe, comm := runAgentExe(t, path, nobody)
		if exe != slim || comm != "nslab-agent" {
			t.Errorf("nobody=%v: the agent runs %q (comm %q), want %s", nobody, exe, comm, slim)
		}
	}
}

// Without the slim binary beside it (a lone copy of nslab, as under go
// run), nslab says so and its agents are nslab itself, re-executed
// through /proc/self/exe; so too with an agent binary from another build,
// which would speak another protocol.
func TestAgentFallbackToSelf(t *testing.T) {
	needRoot(t)
	utsReady(t)
	path := needBinary(t)
	for _, c := range []struct {
		name, agent, why string
	}{
		{"missing", "", sandbox.AgentName + " is missing"},
		// echo(1) prints its argument, not nslab's build fingerprint.
		{"other build", "/bin/echo", "is from another build of nslab"},
		{"group-writable", "", "writable by group or others"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := reachableDir(t)
			lone := filepath.Join(dir, "nslab")
			copyFile(t, path, lone, 0o755)
			switch {
			case c.agent != "":
				copyFile(t, c.agent, filepath.Join(dir, sandbox.AgentName), 0o755)
			case c.name == "group-writable":
				copyFile(t, filepath.Join(filepath.Dir(path), sandbox.AgentName), filepath.Join(dir, sandbox.AgentName), 0o775)
			}
			r := nslabAt(t, lone, "version")
			if !strings.Contains(r, "agents start from nslab itself (/proc/self/exe)") || !strings.Contains(r, c.why) {
				t.Fatalf("version does not explain the fallback (%q):\n%s", c.why, r)
			}
			if c.name != "missing" {
				return
			}
			for _, nobody := range []bool{false, true} {
				exe, comm := runAgentExe(t, lone, nobody)
				if exe != lone || comm != "nslab-agent" {
					t.Errorf("nobody=%v: the agent runs %q (comm %q), want %s", nobody, exe, comm, lone)
				}
			}
		})
	}
}

// reachableDir is a temporary directory nobody can reach (t.TempDir's
// parent is 0700), removed at the test's end.
func reachableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nslab-agentbin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dst, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

func nslabAt(t *testing.T, path string, args ...string) string {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = baseEnv(t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", path, args, err, out)
	}
	return string(out)
}
