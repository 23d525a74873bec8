package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestChildCgroup: an agent cloned with CLONE_NEWCGROUP into a child
// cgroup nslab made is in that child, seen from the host, and at its
// namespace's root, seen from inside; the clone is traced as clone3 with
// CLONE_INTO_CGROUP; Close removes the child.
func TestChildCgroup(t *testing.T) {
	eng := newEngine(t)
	if _, v2, err := CgroupLayout(); err != nil || v2 == "" {
		t.Skipf("no cgroup v2 hierarchy here (%v)", err)
	}
	ctx := context.Background()
	sb, err := eng.Start(ctx, Spec{Flags: CloneNewCgroup, ChildCgroup: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if sb.Cgroup() == "" {
		t.Fatalf("no child cgroup: %s", sb.CgroupNote())
	}
	if !strings.HasPrefix(filepath.Base(sb.Cgroup()), CgroupPrefix) {
		t.Errorf("the child %q is not named %s…", sb.Cgroup(), CgroupPrefix)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(sb.PID()) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := parseCgroup(b); got != sb.Cgroup() {
		t.Errorf("from the host the agent is in %q, want the child %q", got, sb.Cgroup())
	}
	snap, err := sb.Observe(ctx, []View{ViewCgrp})
	if err != nil {
		t.Fatal(err)
	}
	if snap.Cgroup != "/" {
		t.Errorf("from inside the agent reads %q, want / (the child is its namespace's root)", snap.Cgroup)
	}
	var clone Event
	for _, e := range sb.Events(0) {
		if strings.HasPrefix(e.Syscall, "clone") {
			clone = e
		}
	}
	if clone.Syscall != "clone3" || !strings.Contains(strings.Join(clone.Args, " "), "CLONE_INTO_CGROUP") || !strings.Contains(clone.Args[0], "cgroup=") {
		t.Errorf("the clone is traced as %s(%v), want clone3 with CLONE_INTO_CGROUP and cgroup=", clone.Syscall, clone.Args)
	}
	_, v2, _ := CgroupLayout()
	dir := filepath.Join(v2, sb.Cgroup())
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the child's directory: %v", err)
	}
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s is still there after Close (%v)", dir, err)
	}
}

// TestCgroupGuard: when nslab's end of the guard's pipe closes without
// Remove (as when nslab is SIGKILLed), the guard removes the cgroup once
// it is empty, and exits. Control: while the pipe is open, it stays.
func TestCgroupGuard(t *testing.T) {
	needRoot(t)
	observeHostFingerprint(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewChildCgroup(exe, "guard-test-"+strconv.Itoa(os.Getpid()), func(Event) {})
	if errors.Is(err, ErrNoCgroupV2) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := os.Stat(c.Dir()); err != nil {
		t.Fatalf("the cgroup is gone while nslab holds the guard's pipe: %v", err)
	}
	c.file.Close()
	c.hold.Close() // nslab "dies": the kernel would close this end
	done := make(chan error, 1)
	go func() { done <- c.guard.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the guard failed: %v", err)
		}
	case <-time.After(5 * time.Second):
		_ = c.guard.Process.Kill()
		t.Fatal("the guard did not exit within 5s")
	}
	if _, err := os.Stat(c.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the guard left %s (%v)", c.Dir(), err)
		_ = os.Remove(c.Dir())
	}
}
