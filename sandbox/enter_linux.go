package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

const (
	envEnterPID   = "_NSLAB_ENTER_PID"
	envEnterLabel = "_NSLAB_ENTER_LABEL"
	envEnterShell = "_NSLAB_ENTER_SHELL"
	envTraceFD    = "_NSLAB_TRACE_FD"
	envEnterBound = "_NSLAB_ENTER_CAPBND" // the agent's bounding set, hex
	// envEnterCtty asks the constructor to make the shell's process the
	// leader of a session whose controlling tty is its stdin (StartOnPTY).
	envEnterCtty = "_NSLAB_ENTER_CTTY"
	// A confined learner's shell (NewConfinedEngine): the cgroup.procs
	// files (":"-separated) it joins and its RLIMIT_NPROC, set before it
	// joins anything; with envEnterConfined, dropping the host's groups
	// must succeed.
	envEnterCgroups  = "_NSLAB_ENTER_CGROUPS"
	envEnterNProc    = "_NSLAB_ENTER_NPROC"
	envEnterConfined = "_NSLAB_ENTER_CONFINED"
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
	// A root shell gets an allowlisted environment (shellenv.go); $SHELL
	// goes along separately, for chooseShell to check inside the sandbox.
	root := os.Geteuid() == 0
	cmd.Env = append(shellEnv(os.Environ(), root, rootHome()), envEnterPID+"="+strconv.Itoa(s.pid), envEnterLabel+"="+label, envEnterShell+"="+os.Getenv("SHELL"))
	// The shell takes the agent's bounding set: a sandbox that dropped
	// capabilities (the rootfs lesson) must not get them back through a
	// shell entered from the host, as runc exec applies the container's.
	if bnd, err := capBound(s.pid); err == nil {
		cmd.Env = append(cmd.Env, envEnterBound+"="+strconv.FormatUint(bnd, 16))
	}
	if s.eng.conf != nil {
		cmd.Env = append(cmd.Env, s.eng.conf.enterEnv()...)
	}
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
	shell := os.Getenv(envEnterShell)
	os.Unsetenv(envEnterPID)
	os.Unsetenv(envEnterLabel)
	bound := os.Getenv(envEnterBound)
	os.Unsetenv(envEnterShell)
	os.Unsetenv(envTraceFD) // the constructor already did the handshake
	os.Unsetenv(envEnterBound)
	os.Unsetenv(envEnterCtty)
	os.Unsetenv(envEnterCgroups)
	os.Unsetenv(envEnterNProc)
	os.Unsetenv(envEnterConfined)
	if !enterJoined() {
		fmt.Fprintln(os.Stderr, "nslab: no sandbox to enter (internal command used without a target)")
		return 2
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	prompt := fmt.Sprintf(`[nslab:%s] \u@\h:\w\$ `, label)
	env := append(os.Environ(), "PS1="+prompt, "NSLAB_SANDBOX="+label)
	if len(args) == 0 {
		args = pickShell(shell)
		// The shell's history is the sandbox's and goes with it: bash
		// would otherwise write ~/.bash_history on exit, into the real
		// HOME of a rootless learner (or root's). History within the
		// shell still works; zsh -f and sh keep no file anyway.
		env = append(env, "SHELL="+args[0], "HISTFILE=/dev/null")
	}
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
	if err := limitBound(bound); err != nil {
		fmt.Fprintln(os.Stderr, "nslab:", err)
		return 1
	}
	// This process is already inside every namespace (the constructor
	// forked if a PID namespace was joined), so the shell simply replaces it.
	err = syscall.Exec(path, args, env)
	fmt.Fprintf(os.Stderr, "nslab: run %s inside the sandbox: %v\n", args[0], err)
	return 127
}

// pickShell chooses the learner's shell as seen inside the sandbox (see
// chooseShell): $SHELL only if /etc/shells lists it, and never with rc
// files, so that they cannot replace the prompt that says where the
// learner is, nor run as root.
func pickShell(shell string) []string {
	etc, _ := os.ReadFile("/etc/shells")
	return chooseShell(shell, string(etc), func(p string) bool {
		st, err := os.Stat(p)
		return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
	})
}

// rootHome is root's home from the password database ("/root" if none).
func rootHome() string {
	if u, err := user.LookupId("0"); err == nil && filepath.IsAbs(u.HomeDir) {
		return u.HomeDir
	}
	return "/root"
}
