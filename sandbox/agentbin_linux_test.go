package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nslab/nslab/sandbox/sandboxtest"
)

// buildAgent builds cmd/nslab-agent into a fresh directory nobody can
// reach and returns the directory and the binary's build fingerprint.
func buildAgent(t *testing.T) (dir, build string) {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build %s with: %v", AgentName, err)
	}
	dir, err = os.MkdirTemp("", "nslab-agent-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(goCmd, "build", "-o", filepath.Join(dir, AgentName), "../cmd/nslab-agent").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(dir, AgentName), hiddenBuild).Output()
	if err != nil {
		t.Fatal(err)
	}
	return dir, strings.TrimSpace(string(out))
}

// An engine runs its agents from the slim binary it opened at its start,
// even after that file was deleted and another put in its place (the
// agent then shows as "(deleted)"), as root and, rootless, as nobody. A
// fingerprint that does not match falls back to this binary.
func TestEngineAgentBinary(t *testing.T) {
	if dir := os.Getenv("NSLAB_TEST_AGENT_DIR"); dir != "" {
		// The copy run as nobody by the root test below.
		if err := agentBinaryChild(t, dir, os.Getenv("NSLAB_TEST_AGENT_BUILD")); err != nil {
			t.Fatal(err)
		}
		fmt.Println("AGENTBIN-OK")
		return
	}
	needRoot(t)
	observeHostFingerprint(t)
	dir, build := buildAgent(t)

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	eng, err := newEngineFrom(dir, "another build")
	if err != nil {
		t.Fatal(err)
	}
	if eng.exe != "/proc/self/exe" || !strings.Contains(eng.AgentNote(), "from another build") {
		t.Errorf("a mismatched agent binary was used: %s (%s)", eng.exe, eng.AgentNote())
	}
	sb, err := eng.Start(testCtx(t), Spec{Flags: CloneNewUTS, Label: "fallback"})
	if err != nil {
		t.Fatal(err)
	}
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", sb.PID())); exe != self {
		t.Errorf("the fallback agent runs %q, want this binary %s", exe, self)
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}

	if err := agentBinaryChild(t, dir, build); err != nil {
		t.Fatal(err)
	}

	// nobody replaces the file in its run: the directory becomes its own
	// (the binary stays root's, which the engine accepts).
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody:", err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	if err := os.Chown(dir, uid, -1); err != nil {
		t.Fatal(err)
	}
	out, err := sandboxtest.AsNobody(t, "TestEngineAgentBinary", "NSLAB_TEST_AGENT_DIR="+dir, "NSLAB_TEST_AGENT_BUILD="+build)
	if strings.Contains(out, "unprivileged user namespace") {
		t.Skip("the kernel refuses unprivileged user namespaces here")
	}
	if err != nil || !strings.Contains(out, "AGENTBIN-OK") {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
}

// agentBinaryChild starts an engine with the agent binary in dir, replaces
// that file, and checks that a sandbox started afterwards runs the
// original from the engine's fd. It restores the file for the next run.
func agentBinaryChild(t *testing.T, dir, build string) error {
	path := filepath.Join(dir, AgentName)
	eng, err := newEngineFrom(dir, build)
	if err != nil {
		return err
	}
	defer eng.Close()
	if !strings.HasPrefix(eng.exe, "/proc/self/fd/") || !strings.Contains(eng.AgentNote(), path) {
		return fmt.Errorf("the agent binary %s was not used: %s", path, eng.AgentNote())
	}
	orig, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	// As an upgrade would: a new file under the old name.
	if err := os.Remove(path); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexit 7\n"), 0o755); err != nil {
		return err
	}
	defer os.WriteFile(path, orig, 0o755)
	sb, err := eng.Start(testCtx(t), Spec{Flags: CloneNewUTS, Label: "agentbin"})
	if err != nil {
		return err
	}
	if err := sb.SetHostname(testCtx(t), "nslab-agentbin"); err != nil {
		return err
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", sb.PID()))
	if err != nil {
		return err
	}
	if exe != path+" (deleted)" {
		return fmt.Errorf("the agent runs %q, want the original %s (deleted)", exe, path)
	}
	return nil
}
