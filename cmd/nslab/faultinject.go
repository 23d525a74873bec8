//go:build faultinject

package main

// The fault-injection build of nslab (`go build -tags faultinject`), used
// only by the fault-injection matrix and the bad-input tests. It reads
//
//	NSLAB_FAULT=<part>:<action>
//
// and acts when the headless runner reaches <part> (before the part
// starts):
//
//	panic  panics in the runner's goroutine, as a buggy step would;
//	leak   leaves, on purpose, a process in a new UTS namespace (sleep 60,
//	       in its own session) and a file in $TMPDIR, then carries on: the
//	       matrix's self-test shows its detectors see both;
//	wait   prints "NSLAB-AT-PART <part> <agent pids...>" on stderr and
//	       blocks until SIGUSR1 (carry on), or SIGINT, SIGTERM or SIGHUP
//	       (carry on, so that the CLI's own handling of the signal runs
//	       exactly at this boundary). SIGKILL needs no help.
//
// The agent pids are this process's children running the hidden agent
// entry point, so the test can kill them at the boundary.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/headless"
	"github.com/nslab/nslab/sandbox"
)

// faultWaitLimit bounds a wait no test ended: a forgotten run must not
// hang CI.
const faultWaitLimit = 2 * time.Minute

// faultHook replaces faulthook.go's empty one in this build.
func faultHook(opt *headless.Options) {
	spec := os.Getenv("NSLAB_FAULT")
	if spec == "" {
		return
	}
	at, action, ok := strings.Cut(spec, ":")
	if !ok || (action != "panic" && action != "wait" && action != "leak") {
		fmt.Fprintf(os.Stderr, "nslab faultinject: NSLAB_FAULT=%q: want <part>:panic, <part>:wait or <part>:leak\n", spec)
		os.Exit(exitUsage)
	}
	part := lessons.Part(at)
	prev := opt.OnPart
	opt.OnPart = func(p lessons.Part) {
		if prev != nil {
			prev(p)
		}
		if p != part {
			return
		}
		switch action {
		case "panic":
			panic(fmt.Sprintf("fault injected at part %s", p))
		case "leak":
			leakOnPurpose()
		default:
			waitAtPart(p)
		}
	}
}

func waitAtPart(p lessons.Part) {
	sigs := make(chan os.Signal, 1)
	// Notify before the marker: the test signals as soon as it reads it.
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	pids := agentChildren()
	fmt.Fprintf(os.Stderr, "NSLAB-AT-PART %s%s\n", p, joinPids(pids))
	select {
	case <-sigs:
	case <-time.After(faultWaitLimit):
		fmt.Fprintf(os.Stderr, "nslab faultinject: nobody ended the wait at %s within %v\n", p, faultWaitLimit)
	}
}

// leakOnPurpose starts a process nslab never waits for, writes a file it
// never removes, and makes a cgroup named like nslab's that it leaves in
// the v2 hierarchy. The process ends by itself within a minute.
func leakOnPurpose() {
	if _, v2, err := sandbox.CgroupLayout(); err == nil && v2 != "" {
		if err := os.Mkdir(filepath.Join(v2, sandbox.CgroupPrefix+"leak-selftest"), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "nslab faultinject: leak:", err)
		}
	}
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Cloneflags: syscall.CLONE_NEWUTS}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "nslab faultinject: leak:", err)
	}
	if err := os.WriteFile(filepath.Join(os.TempDir(), "nslab-leak-selftest"), []byte("left on purpose\n"), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "nslab faultinject: leak:", err)
	}
}

func joinPids(pids []int) string {
	var b strings.Builder
	for _, pid := range pids {
		fmt.Fprintf(&b, " %d", pid)
	}
	return b.String()
}

// agentChildren lists this process's children that run the hidden agent
// entry point (the engine starts every agent as a direct child).
func agentChildren() []int {
	self := os.Getpid()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// PPID is the second field after the last ')' (comm may hold
		// spaces and parentheses).
		rest := st[bytes.LastIndexByte(st, ')')+1:]
		f := strings.Fields(string(rest))
		if len(f) < 2 || f[1] != strconv.Itoa(self) {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) > 1 && args[1] == "__nslab_agent" {
			out = append(out, pid)
		}
	}
	return out
}
