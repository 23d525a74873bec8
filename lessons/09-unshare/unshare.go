// Package unshare is lesson 9, "unshare: leaving without a new process": its Go logic.
// Its text and prompts are lesson.md and lesson.toml beside this file;
// package catalog registers Logic. It may import lessons and sandbox,
// never another lesson, catalog or ui.
package unshare

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// Keys of the values the unshare lesson keeps with Sandboxes.Set during Perform.
const (
	unsharePIDBefore   = "unshare.agent_pid_before"   // host PID before any unshare
	unsharePIDAfter    = "unshare.agent_pid_after"    // host PID after the last unshare
	unshareStartBefore = "unshare.agent_start_before" // /proc/PID/stat starttime, before
	unshareStartAfter  = "unshare.agent_start_after"  // the same, after
	unshareUTSBefore   = "unshare.uts_before"
	unshareMntBefore   = "unshare.mnt_before"
	unsharePIDNSBefore = "unshare.pid_before"
	unshareUserBefore  = "unshare.user_before"
	unshareChildPID    = "unshare.child_pid"                 // getpid() of the first child after unshare(CLONE_NEWPID)
	unshareChildPIDNS  = "unshare.child_pidns"               // that child's /proc/self/ns/pid
	unshareChildrenNS  = "unshare.pid_for_children_at_child" // the agent's pid_for_children while the child ran
	unshareMntTrace    = "unshare.mnt_trace"                 // the trace lines of unshare(CLONE_NEWNS)
	unshareUserErrno   = "unshare.user_errno"                // errno of unshare(CLONE_NEWUSER), "" when it succeeded
	unshareThreads     = "unshare.agent_threads"             // the agent's thread count when it tried
	unshareToolPID     = "unshare.tool_pid"                  // PID of the shell that exec'd unshare(1), as the sandbox numbers it
	unshareToolSaw     = "unshare.tool_saw"                  // what the command under unshare(1) printed: "$$ uts:[...]"
	unshareToolCmd     = "unshare.tool_cmd"                  // the unshare(1) command line run
	unshareToolFrom    = "unshare.tool_from"                 // what that shell printed first: "$$ uts:[...]"
	unshareSecondChild = "unshare.second_child"              // outcome of a second child after the first (PID 1) exited
)

// unshareTrapWait bounds how long Solve waits for the trap to be set.
const unshareTrapWait = 5 * time.Second

// Logic: a plain agent (sharing every namespace with nslab) calls
// unshare(2) for uts, pid, mnt and user, one at a time, and the lesson shows
// that no process was created, that only pid_for_children moved for pid,
// and that util-linux unshare(1) does the same thing.
func Logic() lessons.Logic {
	return lessons.Logic{
		Spec:    sandbox.Spec{Flags: 0, Label: "unshare"},
		Perform: unsharePerform,
		Views:   []sandbox.View{sandbox.ViewIDs, sandbox.ViewUTS, sandbox.ViewPIDs, sandbox.ViewMount},
		Facts:   unshareFacts,
		Answer:  unshareAnswer,
		Check:   unshareCheck,
		Solve:   unshareSolve,
	}
}

func unsharePerform(ctx context.Context, r *lessons.Sandboxes) error {
	sb := r.Box
	pid := sb.PID()
	ids, err := sb.IDs()
	if err != nil {
		return fmt.Errorf("read the agent's namespaces: %w", err)
	}
	start, err := procStartTime(pid)
	if err != nil {
		return err
	}
	r.Set(unsharePIDBefore, strconv.Itoa(pid))
	r.Set(unshareStartBefore, start)
	r.Set(unshareUTSBefore, ids["uts"].Label("uts"))
	r.Set(unshareMntBefore, ids["mnt"].Label("mnt"))
	r.Set(unsharePIDNSBefore, ids["pid"].Label("pid"))
	r.Set(unshareUserBefore, ids["user"].Label("user"))
	// In a class the agent starts in new namespaces of every kind: the
	// facts compare with those.
	lessons.KeepConfinedStart(r, sb)

	if err := sb.Unshare(ctx, sandbox.CloneNewUTS); err != nil {
		return err
	}
	if err := sb.Unshare(ctx, sandbox.CloneNewPID); err != nil {
		return err
	}
	// The new PID namespace gets its first member only now: this child is
	// its PID 1. When the child exits, the namespace dies with it (a later
	// fork into it fails with ENOMEM), so the lesson starts just this one.
	child, err := sb.ObserveChild(ctx, []sandbox.View{sandbox.ViewIDs})
	if err != nil {
		return fmt.Errorf("first child after unshare(CLONE_NEWPID): %w", err)
	}
	r.Set(unshareChildPID, strconv.Itoa(child.PID))
	r.Set(unshareChildPIDNS, child.IDs["pid"].Label("pid"))
	now, err := sb.IDs()
	if err != nil {
		return err
	}
	r.Set(unshareChildrenNS, now["pid_for_children"].Label("pid"))
	// The child has answered but may still be exiting: wait (bounded)
	// until the namespace it was PID 1 of has no member left.
	if err := lessons.WaitUntil(ctx, 5*time.Second, func() bool {
		ps, err := sandbox.ObserveProcs(now["pid_for_children"])
		return err == nil && len(ps) == 0
	}); err != nil {
		return fmt.Errorf("the first child did not exit: %w", err)
	}
	// A second child: the namespace's PID 1 is gone, so the kernel refuses
	// it (ENOMEM). The refusal is the lesson; it is kept, not returned.
	_, err = sb.ObserveChild(ctx, []sandbox.View{sandbox.ViewIDs})
	r.Set(unshareSecondChild, lessons.Outcome("born", err))

	mark := len(sb.Events(0))
	if err := sb.Unshare(ctx, sandbox.CloneNewNS); err != nil {
		return err
	}
	var lines []string
	for _, e := range sb.Events(mark) {
		if e.Syscall == "unshare" {
			lines = append(lines, e.String())
		}
	}
	r.Set(unshareMntTrace, strings.Join(lines, "\n"))

	// A Go program is multithreaded before main runs; the kernel refuses
	// CLONE_NEWUSER to a process with more than one thread. That refusal is
	// part of the lesson, so it is kept, not returned.
	r.Set(unshareThreads, procThreads(pid))
	err = sb.Unshare(ctx, sandbox.CloneNewUser)
	var se *sandbox.SyscallError
	switch {
	case err == nil:
		r.Set(unshareUserErrno, "")
	case errors.As(err, &se):
		r.Set(unshareUserErrno, se.Errno)
	default:
		return err
	}

	start, err = procStartTime(pid)
	if err != nil {
		return fmt.Errorf("the agent after unshare: %w", err)
	}
	r.Set(unsharePIDAfter, strconv.Itoa(pid))
	r.Set(unshareStartAfter, start)

	return unshareTool(ctx, r)
}

// The command unshareTool runs in the sandbox: a shell prints its PID and
// UTS namespace, then becomes unshare(1) with exec.
const (
	unshareToolInner = `sh -c 'echo "$$ $(readlink /proc/self/ns/uts)"'`
	unshareToolLine  = `echo "$$ $(readlink /proc/self/ns/uts)"; exec unshare --uts ` + unshareToolInner
)

// unshareTool runs util-linux unshare(1) without --fork, the way the
// learner would: from a shell in the sandbox, which execs it. unshare(1)
// calls unshare(2) and then execs the command in the same process, so
// the command's $$ is the shell's. It runs in the sandbox, never on the
// host: a class learner gets no process in the host's namespaces.
func unshareTool(ctx context.Context, r *lessons.Sandboxes) error {
	if _, err := exec.LookPath("unshare"); err != nil {
		return nil // not installed: the fact about it is left out
	}
	out, err := lessons.Shell(ctx, r.Box, unshareToolLine)
	if err != nil {
		return fmt.Errorf("run unshare(1) in the sandbox: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		return fmt.Errorf("unshare(1) in the sandbox printed %q, want two lines: %w", out, sandbox.ErrAgent)
	}
	from, _, _ := strings.Cut(lines[0], " ")
	r.Set(unshareToolCmd, "unshare --uts "+unshareToolInner)
	r.Set(unshareToolPID, from)
	r.Set(unshareToolFrom, strings.TrimSpace(lines[0]))
	r.Set(unshareToolSaw, strings.TrimSpace(lines[1]))
	return nil
}

func unshareFacts(o lessons.Observation) []lessons.Fact {
	ex := o.Extra
	sbIDs := o.Sandbox.IDs
	var fs []lessons.Fact

	same := ex[unsharePIDBefore] != "" && ex[unsharePIDBefore] == ex[unsharePIDAfter] && ex[unsharePIDAfter] == strconv.Itoa(o.Sandbox.PID) &&
		ex[unshareStartBefore] != "" && ex[unshareStartBefore] == ex[unshareStartAfter]
	fs = append(fs, lessons.NewFact("unshare(2) created no process: the agent has the same host PID and start time before and after", same,
		"PID %s → %s (now %d), start time %s → %s", ex[unsharePIDBefore], ex[unsharePIDAfter], o.Sandbox.PID, ex[unshareStartBefore], ex[unshareStartAfter]))

	for _, k := range []struct{ kind, flag, key string }{{"uts", "CLONE_NEWUTS", unshareUTSBefore}, {"mnt", "CLONE_NEWNS", unshareMntBefore}} {
		now := sbIDs[k.kind].Label(k.kind)
		fs = append(fs, lessons.NewFact("unshare("+k.flag+") moved the agent itself into a new "+k.kind+" namespace",
			lessons.IsNSLabel(ex[k.key], k.kind) && now != ex[k.key] && lessons.DifferentNS(o, k.kind), "%s → %s (host %s)", ex[k.key], now, o.Host.IDs[k.kind].Label(k.kind)))
	}

	confined := lessons.IsConfined(o)
	// hpid is the PID namespace the agent started in: the host's, or in a
	// class the one the server made (and a fact below says it is not the
	// host's).
	hpid, pfc, where := o.Host.IDs["pid"], sbIDs["pid_for_children"], "host"
	if confined {
		start, ok := lessons.StartID(o, "pid")
		if !ok {
			start = sandbox.NSID{} // not kept: nothing to compare with
		}
		hpid, where = start, "started in"
		fs = append(fs, lessons.NewFact("unshare(CLONE_NEWPID) left the agent's own PID namespace alone: still the one it started in", ok && sbIDs["pid"] == start,
			"started in %s, now %s", start.Label("pid"), sbIDs["pid"].Label("pid")))
	} else {
		fs = append(fs, lessons.NSFact(o, "pid", true, "unshare(CLONE_NEWPID) left the agent's own PID namespace alone"))
	}
	// New beside the agent's own PID namespace, which is still hpid.
	fs = append(fs, lessons.NewFact("…but pid_for_children, the namespace its next children get, is a new one",
		!pfc.IsZero() && !hpid.IsZero() && pfc != hpid && sbIDs["pid"] == hpid,
		"%s pid %s, agent pid %s, pid_for_children %s", where, hpid.Label("pid"), sbIDs["pid"].Label("pid"), pfc.Label("pid")))

	fs = append(fs, lessons.NewFact("the first child started afterwards is PID 1 of that new namespace", ex[unshareChildPID] == "1" &&
		ex[unshareChildPIDNS] != "" && ex[unshareChildPIDNS] == ex[unshareChildrenNS] && ex[unshareChildPIDNS] != hpid.Label("pid"),
		"the child's getpid() = %s in %s; agent's pid_for_children %s", ex[unshareChildPID], ex[unshareChildPIDNS], ex[unshareChildrenNS]))

	// Its PID 1 exited long before this observation: a PID namespace
	// whose init is gone has no members, and gets none.
	fs = append(fs, lessons.NewFact("that child has exited, and with its PID 1 gone the new PID namespace is empty", o.Sandbox.Has(sandbox.ViewPIDs) &&
		o.Sandbox.Errs[sandbox.ViewPIDs] == "" && len(o.Sandbox.Procs) == 0 && !pfc.IsZero(),
		"%d processes in %s", len(o.Sandbox.Procs), pfc.Label("pid")))

	fs = append(fs, lessons.NewFact("a second child could not be born: with its PID 1 gone, the namespace takes no new process (ENOMEM)",
		ex[unshareSecondChild] == "ENOMEM", "second clone: %s", lessons.OrNone(ex[unshareSecondChild])))

	tr := strings.Split(ex[unshareMntTrace], "\n")
	// unshare(2): CLONE_NEWNS implies CLONE_FS, so one call suffices in a
	// multithreaded process.
	nsAlone := len(tr) == 1 && tr[0] == "unshare(CLONE_NEWNS) = 0"
	fs = append(fs, lessons.NewFact("in a multithreaded process unshare(CLONE_NEWNS) succeeds on its own: it implies CLONE_FS", nsAlone,
		"%s", strings.ReplaceAll(ex[unshareMntTrace], "\n", "; ")))

	threads, _ := strconv.Atoi(ex[unshareThreads])
	fs = append(fs, lessons.NewFact("unshare(CLONE_NEWUSER) is refused with EINVAL: the agent, a Go program, has more than one thread",
		ex[unshareUserErrno] == "EINVAL" && threads > 1, "errno %q with %d threads", ex[unshareUserErrno], threads))
	fs = append(fs, lessons.NewFact("so the agent's user namespace is unchanged", ex[unshareUserBefore] != "" && sbIDs["user"].Label("user") == ex[unshareUserBefore],
		"%s → %s", ex[unshareUserBefore], sbIDs["user"].Label("user")))

	// A user namespace the engine added at clone time for an unprivileged
	// learner is not the lesson's doing: it is left out here.
	if confined {
		fs = append(fs, lessons.ConfinedFacts(o, "every other namespace (net, ipc, cgroup, time) is still the one the sandbox started in", "uts", "mnt", "pid", "user")...)
	} else {
		fs = append(fs, lessons.SharedExcept(o, "every other namespace (net, ipc, cgroup, time) is still shared with the host", "uts", "mnt", "pid", "user"))
	}

	if o.Extra[unshareToolCmd] != "" {
		fs = append(fs, unshareToolFact(o))
	}
	return fs
}

// unshareToolFact is the unshare(1) fact: the shell that exec'd
// unshare(1) and the command unshare(1) exec'd printed the same PID, from
// the sandbox's UTS namespace and from a new one.
func unshareToolFact(o lessons.Observation) lessons.Fact {
	ex := o.Extra
	from, saw := strings.Fields(ex[unshareToolFrom]), strings.Fields(ex[unshareToolSaw])
	uts := o.Sandbox.IDs["uts"].Label("uts")
	ok := strings.HasPrefix(ex[unshareToolCmd], "unshare ") && len(from) == 2 && len(saw) == 2 &&
		from[0] == ex[unshareToolPID] && saw[0] == from[0] && from[1] == uts && lessons.IsNSLabel(saw[1], "uts") && saw[1] != uts
	return lessons.NewFact("unshare(1) is a wrapper: without --fork the command it runs keeps unshare's own PID, in a new uts namespace", ok,
		"a shell in the sandbox, PID %s in %s, exec'd `%s`, which printed %q (the sandbox's %s)",
		lessons.OrNone(ex[unshareToolPID]), lessons.OrNone(strings.TrimPrefix(ex[unshareToolFrom], ex[unshareToolPID]+" ")), ex[unshareToolCmd], ex[unshareToolSaw], uts)
}

func unshareAnswer(o lessons.Observation) (int, string) {
	second := o.Extra[unshareSecondChild]
	first := o.Extra[unshareChildPID]
	switch {
	case second == "":
		return -1, "the second child was not tried"
	case second == "ENOMEM":
		return 2, fmt.Sprintf("The first child was PID %s of the new namespace and exited; the second clone failed with ENOMEM: "+
			"once a PID namespace's init has gone, the kernel allocates no PID in it (pid_namespaces(7)), and the agent's pid_for_children still names it.", first)
	case lessons.OutcomeOK(second):
		return 1, "The second child was born: " + second
	}
	return 3, "The second child failed otherwise: " + second
}

// unshareTrap is one process of the sandbox that unshared a PID
// namespace and still runs.
type unshareTrap struct {
	pid, members int
	inner        int // its PID in its own PID namespace (the sandbox's, in a class)
	comm         string
	childless    bool // no child was ever born in its new namespace
}

// unshareTraps lists the processes in the sandbox (its UTS namespace),
// other than the agent, whose pid_for_children is not their own PID
// namespace: each called unshare(CLONE_NEWPID), or is the unshare(1)
// process that did.
func unshareTraps(r *lessons.Sandboxes) ([]unshareTrap, error) {
	agent, err := r.Box.IDs()
	if err != nil {
		return nil, err
	}
	procs, err := sandbox.ObserveAllProcs()
	if err != nil {
		return nil, fmt.Errorf("list the processes: %w", err)
	}
	var out []unshareTrap
	for _, p := range procs {
		if p.HostPID == r.Box.PID() {
			continue // the agent: Perform set its trap
		}
		ids, err := sandbox.ReadIDs(p.HostPID)
		if err != nil || ids["uts"] != agent["uts"] {
			continue // gone, or not in the sandbox
		}
		pfc, ok := ids["pid_for_children"]
		switch {
		case !ok:
			// The link cannot be read while the new namespace has had no
			// process yet: unshared, and no child born.
			out = append(out, unshareTrap{pid: p.HostPID, inner: innerPID(p), comm: p.Comm, childless: true})
		case pfc != ids["pid"]:
			members, err := sandbox.ObserveProcs(pfc)
			if err != nil {
				continue
			}
			out = append(out, unshareTrap{pid: p.HostPID, inner: innerPID(p), comm: p.Comm, members: len(members)})
		}
	}
	return out, nil
}

// innerPID is p's PID in the innermost PID namespace it is in.
func innerPID(p sandbox.Proc) int {
	if len(p.NSpid) == 0 {
		return p.HostPID
	}
	return p.NSpid[len(p.NSpid)-1]
}

func unshareCheck(ctx context.Context, r *lessons.Sandboxes) (bool, string, error) {
	if r.Box == nil {
		return false, "", fmt.Errorf("check: %w", lessons.ErrNotPerformed)
	}
	traps, err := unshareTraps(r)
	if err != nil {
		return false, "", err
	}
	var alive, childless []string
	for _, t := range traps {
		name := fmt.Sprintf("%s (host PID %d)", t.comm, t.pid)
		if r.Engine.Confined() {
			// A class learner's shell numbers processes as the sandbox does.
			name = fmt.Sprintf("%s (PID %d in the sandbox)", t.comm, t.inner)
		}
		switch {
		case t.childless:
			childless = append(childless, name)
		case t.members > 0:
			alive = append(alive, name)
		default:
			return true, fmt.Sprintf("%s unshared a PID namespace without a child of its own inside: its first child was PID 1 there and has exited, "+
				"the namespace is empty, and every further fork of %s fails with ENOMEM", name, t.comm), nil
		}
	}
	switch {
	case len(alive) > 0:
		return false, fmt.Sprintf("%s unshared a PID namespace, but its PID 1 there is still alive, so its children can still be born: the trap needs that PID 1 to have exited (what does --fork make PID 1?)",
			strings.Join(alive, ", ")), nil
	case len(childless) > 0:
		return false, fmt.Sprintf("%s unshared a PID namespace but has started no child yet: its first child will be PID 1 there; what happens to the second, after the first has exited?",
			strings.Join(childless, ", ")), nil
	}
	return false, "no process of the sandbox (besides the agent) has unshared a PID namespace and is still running", nil
}

// unshareSolve does what the solution tells the learner to type: its
// first line starts the trapped shell, and the lines after it are typed
// into that shell, whose input nslab then holds open, so that it stays
// (in the host's PID namespace, where nothing ends it with the sandbox)
// until the session closes. A non-interactive sh would exit at the
// failed fork; an interactive one goes back to its prompt, as in the
// learner's shell pane.
func unshareSolve(ctx context.Context, r *lessons.Sandboxes) error {
	var lines []string
	for _, l := range r.Lesson.Challenge.Solution {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return fmt.Errorf("solve: %w", lessons.ErrNoLogic)
	}
	cmd, err := r.Box.ShellCommand("/bin/sh", "-c", lines[0])
	if err != nil {
		return fmt.Errorf("solve: %w", err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	in, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("solve: %w", err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("solve: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	r.AtClose(func() error {
		in.Close() // end of input: the trapped shell exits
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		return nil
	})
	if _, err := io.WriteString(in, strings.Join(lines[1:], "\n")+"\n"); err != nil {
		return fmt.Errorf("solve: type into the trapped shell: %w", err)
	}
	return lessons.WaitUntil(ctx, unshareTrapWait, func() bool {
		ok, _, err := unshareCheck(ctx, r)
		return err == nil && ok
	})
}

// procStartTime reads field 22 of /proc/PID/stat, the process's start time
// in clock ticks since boot: a PID and its start time name one process.
func procStartTime(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", fmt.Errorf("read the agent's stat: %w", err)
	}
	s := string(b)
	// comm may hold spaces and ')': the fields after the last ')' start at
	// field 3 (state), so starttime (22) is the 20th of them.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 {
		return "", fmt.Errorf("short /proc/%d/stat", pid)
	}
	return f[19], nil
}

// procThreads reads the Threads: line of /proc/PID/status ("" if unknown).
func procThreads(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Threads:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
