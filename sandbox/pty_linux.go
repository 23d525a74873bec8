package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/creack/pty"
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
	master, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open a pseudo-terminal for the shell: %w", err)
	}
	// The child has its own copy of the slave; nslab keeps only the master,
	// so that the slave's last close (the shell's end) is seen as EIO on it.
	defer slave.Close()
	if cols > 0 && rows > 0 {
		if err := ResizePTY(master, cols, rows); err != nil {
			master.Close()
			return nil, err
		}
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	attr := &syscall.SysProcAttr{}
	if cmd.SysProcAttr != nil {
		a := *cmd.SysProcAttr
		attr = &a
	}
	// Ctty is a descriptor number in the child: 0 is the slave as stdin.
	attr.Setsid, attr.Setctty, attr.Ctty = true, true, 0
	attr.Foreground, attr.Noctty = false, false
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		master.Close()
		return nil, fmt.Errorf("start the shell on its pseudo-terminal: %w", err)
	}
	return master, nil
}

// ResizePTY sets the window size of the pty whose master is given
// (TIOCSWINSZ); the kernel sends SIGWINCH to its foreground group.
func ResizePTY(master *os.File, cols, rows int) error {
	if cols <= 0 || rows <= 0 || cols > 0xffff || rows > 0xffff {
		return fmt.Errorf("resize the shell's terminal: %d×%d is not a window size", cols, rows)
	}
	if err := pty.Setsize(master, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)}); err != nil {
		return fmt.Errorf("resize the shell's terminal to %d×%d: %w", cols, rows, err)
	}
	return nil
}
