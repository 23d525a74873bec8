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
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nslab/nslab/lessons"
)

// faultWaitLimit bounds a wait no test ended: a forgotten run must not
// hang CI.
const faultWaitLimit = 2 * time.Minute

func init() {
	// The only assignment of faultHook, before main runs (see faulthook.go).
	faultHook = injectFault
}

func injectFault(opt *lessons.RunOptions) {
	spec := os.Getenv("NSLAB_FAULT")
	if spec == "" {
		return
	}
	at, action, ok := strings.Cut(spec, ":")
	if !ok || (action != "panic" && action != "wait") {
		fmt.Fprintf(os.Stderr, "nslab faultinject: NSLAB_FAULT=%q: want <part>:panic or <part>:wait\n", spec)
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
		if action == "panic" {
			panic(fmt.Sprintf("fault injected at part %s", p))
		}
		waitAtPart(p)
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
