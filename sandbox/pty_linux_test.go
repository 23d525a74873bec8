package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// procStat reads session, tty_nr and tpgid of pid from /proc/pid/stat.
func procStat(t *testing.T, pid int) (sid, ttyNr, tpgid int) {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	// state ppid pgrp session tty_nr tpgid
	sid, _ = strconv.Atoi(f[3])
	ttyNr, _ = strconv.Atoi(f[4])
	tpgid, _ = strconv.Atoi(f[5])
	return sid, ttyNr, tpgid
}

// TestStartOnPTY: the command leads a session of its own whose
// controlling terminal is the new pty, in whose foreground it is; this
// process's session is untouched; the size reaches the pty; closing the
// master hangs the session up (SIGHUP), so nothing outlives it.
func TestStartOnPTY(t *testing.T) {
	mySid, _, _ := procStat(t, os.Getpid())
	cmd := exec.Command("sleep", "30")
	master, err := StartOnPTY(cmd, 100, 30)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-done
	}()
	pid := cmd.Process.Pid
	// setsid and TIOCSCTTY happen in the child between fork and exec;
	// /proc shows them once exec is done.
	var sid, ttyNr, tpgid int
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if sid, ttyNr, tpgid = procStat(t, pid); sid == pid {
			break
		}
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat("/dev/pts/"+strconv.Itoa(n), &st); err != nil {
		t.Fatal(err)
	}
	if sid != pid {
		t.Errorf("session %d, want the shell's own %d (setsid)", sid, pid)
	}
	if uint64(ttyNr) != st.Rdev {
		t.Errorf("controlling tty %#x, want the new pty /dev/pts/%d (%#x)", ttyNr, n, st.Rdev)
	}
	if tpgid != pid {
		t.Errorf("foreground group of its terminal %d, want %d", tpgid, pid)
	}
	if s, _, _ := procStat(t, os.Getpid()); s != mySid {
		t.Errorf("this process's session changed from %d to %d", mySid, s)
	}
	if ws, err := pty.GetsizeFull(master); err != nil || ws.Cols != 100 || ws.Rows != 30 {
		t.Errorf("size %+v %v, want 100×30", ws, err)
	}
	if err := ResizePTY(master, 120, 40); err != nil {
		t.Fatal(err)
	}
	if ws, err := pty.GetsizeFull(master); err != nil || ws.Cols != 120 || ws.Rows != 40 {
		t.Errorf("size after ResizePTY %+v %v, want 120×40", ws, err)
	}
	if err := ResizePTY(master, 0, 40); err == nil {
		t.Error("ResizePTY 0×40: no error")
	}

	master.Close()
	select {
	case err := <-done:
		done <- err // for the deferred wait
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGHUP {
			t.Errorf("after the master closed: %v, want killed by SIGHUP", err)
		}
	case <-time.After(2 * time.Second):
		t.Error("the command outlived its pty's master by 2 s")
	}
}
