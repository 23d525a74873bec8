package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// StartOnPTY starts cmd (usually one from Sandbox.ShellCommand) on a new
// pseudo-terminal, as the leader of a new session whose controlling
// terminal is that pty's slave, and returns the master; the caller reads
// and writes the shell through it, and closes it after cmd.Wait.
//
// Why: an interactive shell takes its terminal's foreground process group
// (TIOCSPGRP) for job control. On nslab's own terminal that left nslab in
// a background group, and its next write stopped it with SIGTTOU. As a
// session leader on a pty of its own (setsid + TIOCSCTTY), the shell's
// job control reaches only that pty, and no job-control signal of it can
// reach nslab. Closing the master hangs the pty up: the kernel sends
// SIGHUP to the shell's session, so a shell never outlives nslab's end.
//
// cols and rows set the window size first (0 leaves the kernel's 0×0);
// ResizePTY changes it later. cmd's Stdin, Stdout and Stderr are replaced
// by the slave; its other SysProcAttr fields are kept.
func StartOnPTY(cmd *exec.Cmd, cols, rows int) (*os.File, error) {
	master, slave, err := PreparePTY(cmd, cols, rows)
	if err != nil {
		return nil, err
	}
	// The child has its own copy of the slave; nslab keeps only the master,
	// so that the slave's last close (the shell's end) is seen as EIO on it.
	defer slave.Close()
	if err := cmd.Start(); err != nil {
		master.Close()
		return nil, fmt.Errorf("start the shell on its pseudo-terminal: %w", err)
	}
	return master, nil
}

// PreparePTY is StartOnPTY without the start, for a caller that starts cmd
// itself (shelltrace.Start does, for the shell pane): it wires cmd to a new
// pty as the leader of a new session with the slave as its controlling
// terminal, and returns the master (in Go's poller) and the slave, which
// the caller closes once cmd has started.
func PreparePTY(cmd *exec.Cmd, cols, rows int) (master, slave *os.File, err error) {
	master, slave, err = pty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("open a pseudo-terminal for the shell: %w", err)
	}
	if master, err = pollable(master); err != nil {
		slave.Close()
		return nil, nil, err
	}
	if cols > 0 && rows > 0 {
		if err := ResizePTY(master, cols, rows); err != nil {
			master.Close()
			slave.Close()
			return nil, nil, err
		}
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	attr := &syscall.SysProcAttr{}
	if cmd.SysProcAttr != nil {
		a := *cmd.SysProcAttr
		attr = &a
	}
	attr.Setsid, attr.Foreground, attr.Noctty = true, false, false
	if slices.ContainsFunc(cmd.Env, func(kv string) bool { return strings.HasPrefix(kv, envEnterPID+"=") }) {
		// A shell entering a sandbox: its constructor takes the slave as
		// controlling tty in the process that becomes the shell, which,
		// after a PID namespace was joined, is a child of this one.
		attr.Setctty = false
		cmd.Env = append(cmd.Env, envEnterCtty+"=1")
	} else {
		// Ctty is a descriptor number in the child: 0 is the slave as stdin.
		attr.Setctty, attr.Ctty = true, 0
	}
	cmd.SysProcAttr = attr
	return master, slave, nil
}

// ResizePTY sets the window size of the pty whose master is given
// (TIOCSWINSZ); the kernel sends SIGWINCH to its foreground group.
// The master StartOnPTY returns is in Go's poller: resize it only here,
// never through its Fd.
func ResizePTY(master *os.File, cols, rows int) error {
	if cols <= 0 || rows <= 0 || cols > 0xffff || rows > 0xffff {
		return fmt.Errorf("resize the shell's terminal: %d×%d is not a window size", cols, rows)
	}
	// Through SyscallConn: File.Fd would put the master back in blocking
	// mode (see pollable).
	rc, err := master.SyscallConn()
	if err == nil {
		cerr := rc.Control(func(fd uintptr) {
			err = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Col: uint16(cols), Row: uint16(rows)})
		})
		if cerr != nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("resize the shell's terminal to %d×%d: %w", cols, rows, err)
	}
	return nil
}

// pollable returns the pty master as a file in Go's poller. creack/pty's
// Open calls File.Fd (for ptsname), which puts the descriptor in blocking
// mode for good; a blocked Read then holds the descriptor open through
// Close, so closing the master would not hang the shell up while a
// reader waits on it. A non-blocking duplicate, made an *os.File anew,
// is polled: Close interrupts the reader and really closes. Callers must
// not call Fd on the result for the same reason.
func pollable(f *os.File) (*os.File, error) {
	defer f.Close()
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open a pseudo-terminal for the shell: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("open a pseudo-terminal for the shell: %w", err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}
