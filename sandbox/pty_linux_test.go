package sandbox

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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
	rc, err := master.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	size := func() (ws *unix.Winsize) {
		_ = rc.Control(func(fd uintptr) { ws, _ = unix.IoctlGetWinsize(int(fd), unix.TIOCGWINSZ) })
		return ws
	}
	if cerr := rc.Control(func(fd uintptr) { n, err = unix.IoctlGetInt(int(fd), unix.TIOCGPTN) }); cerr != nil || err != nil {
		t.Fatal(cerr, err)
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
	if ws := size(); ws == nil || ws.Col != 100 || ws.Row != 30 {
		t.Errorf("size %+v, want 100×30", ws)
	}
	if err := ResizePTY(master, 120, 40); err != nil {
		t.Fatal(err)
	}
	if ws := size(); ws == nil || ws.Col != 120 || ws.Row != 40 {
		t.Errorf("size after ResizePTY %+v, want 120×40", ws)
	}
	if err := ResizePTY(master, 0, 40); err == nil {
		t.Error("ResizePTY 0×40: no error")
	}

	// A reader blocked on the master must not keep it open: Close is
	// what hangs the shell up, whoever is reading.
	go func() { _, _ = io.Copy(io.Discard, master) }()
	time.Sleep(50 * time.Millisecond)
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
