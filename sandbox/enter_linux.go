package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

const (
	envEnterPID   = "_NSLAB_ENTER_PID"
	envEnterLabel = "_NSLAB_ENTER_LABEL"
	envTraceFD    = "_NSLAB_TRACE_FD"
)

// ErrNoEnter is returned where this nslab was built without cgo and so
// cannot join a sandbox's namespaces before the Go runtime starts.
var ErrNoEnter = errors.New("this nslab was built without cgo and cannot enter a sandbox: rebuild with CGO_ENABLED=1")

// ShellCommand returns a command that runs argv (a shell when empty)
// inside every namespace of the sandbox, for tea.ExecProcess or a test.
// nslab does the join itself; util-linux nsenter is not needed.
func (s *Sandbox) ShellCommand(argv ...string) (*exec.Cmd, error) {
	if !enterSupported {
		return nil, ErrNoEnter
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	args := append([]string{hiddenEnter, "--"}, argv...)
	cmd := exec.Command(s.eng.exe, args...)
	label := s.spec.Label
	if label == "" {
		label = "sandbox"
	}
	cmd.Env = append(cleanEnv(), envEnterPID+"="+strconv.Itoa(s.pid), envEnterLabel+"="+label)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd, nil
}

// AskTrace makes cmd, from ShellCommand, wait before the Go runtime starts
// for a tracer on the other end of sync, a unix stream socket (see package
// shelltrace, the only intended caller, for the handshake). It must be
// called before cmd.Start.
func AskTrace(cmd *exec.Cmd, sync *os.File) {
	fd := 3 + len(cmd.ExtraFiles)
	cmd.ExtraFiles = append(cmd.ExtraFiles, sync)
	cmd.Env = append(cmd.Env, envTraceFD+"="+strconv.Itoa(fd))
}

// runEnter runs in a process whose constructor has already joined the
// target's namespaces (see enter_cgo_linux.go). Joining a PID namespace
// only moves future children, so the shell is started as a child.
func runEnter(args []string) int {
	if !enterSupported {
		fmt.Fprintln(os.Stderr, "nslab:", ErrNoEnter)
		return 1
	}
	label := os.Getenv(envEnterLabel)
	os.Unsetenv(envEnterPID)
	os.Unsetenv(envEnterLabel)
	os.Unsetenv(envTraceFD) // the constructor already did the handshake
	if !enterJoined() {
		fmt.Fprintln(os.Stderr, "nslab: no sandbox to enter (internal command used without a target)")
		return 2
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	prompt := fmt.Sprintf(`[nslab:%s] \u@\h:\w\$ `, label)
	if len(args) == 0 {
		args = pickShell()
	}
	env := append(os.Environ(), "PS1="+prompt, "NSLAB_SANDBOX="+label)
	dir := "/"
	if h := os.Getenv("HOME"); h != "" {
		if st, err := os.Stat(h); err == nil && st.IsDir() {
			dir = h
		}
	}
	_ = os.Chdir(dir)
	path, err := exec.LookPath(args[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "nslab: %s is not in the sandbox: %v\n", args[0], err)
		return 127
	}
	// This process is already inside every namespace (the constructor
	// forked if a PID namespace was joined), so the shell simply replaces it.
	err = syscall.Exec(path, args, env)
	fmt.Fprintf(os.Stderr, "nslab: run %s inside the sandbox: %v\n", args[0], err)
	return 127
}

// pickShell chooses the learner's shell as seen inside the sandbox. bash
// gets --norc so the rc file cannot replace the prompt that says where the
// learner is.
func pickShell() []string {
	cands := []string{os.Getenv("SHELL"), "/bin/bash", "/bin/sh"}
	for _, c := range cands {
		if c == "" {
			continue
		}
		if st, err := os.Stat(c); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			if len(c) >= 4 && c[len(c)-4:] == "bash" {
				return []string{c, "--norc", "--noprofile", "-i"}
			}
			return []string{c, "-i"}
		}
	}
	return []string{"/bin/sh", "-i"}
}
