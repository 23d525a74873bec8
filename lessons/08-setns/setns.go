// Package setns is lesson 8, "setns: joining a namespace that exists": its Go logic.
// Its text and prompts are lesson.md and lesson.toml beside this file;
// package catalog registers Logic. It may import lessons and sandbox,
// never another lesson, catalog or ui.
package setns

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// Keys of the values the setns lesson keeps (Sandboxes.Set during Perform, and
// its live Extra), and the names it uses.
const (
	setnsHostHostname = "setns.host_hostname"   // the host's hostname during Perform
	setnsJoinerPID    = "setns.joiner_pid"      // host PID of the joining agent
	setnsBefore       = "setns.before."         // + kind: the joiner's identities before any setns (PutIDs)
	setnsWrong        = "setns.wrong_nstype"    // outcome of setns(uts fd, CLONE_NEWNET)
	setnsWrongUTS     = "setns.wrong_uts_after" // the joiner's uts identity right after it
	setnsRight        = "setns.right_nstype"    // outcome of setns(uts fd, CLONE_NEWUTS)
	setnsZero         = "setns.zero_nstype"     // outcome of setns(net fd, 0)
	setnsUser         = "setns.user"            // outcome of setns(user fd, CLONE_NEWUSER)
	setnsThreads      = "setns.joiner_threads"  // the joiner's thread count when it tried
	setnsUserAfter    = "setns.user_after"      // the joiner's user identity after that attempt
	setnsPID          = "setns.pid"             // outcome of setns(pid fd, CLONE_NEWPID)
	setnsPIDAfter     = "setns.pid_after"       // the joiner's own pid namespace right after
	setnsPFCAfter     = "setns.pfc_after"       // its pid_for_children right after
	setnsChildPID     = "setns.child_pid"       // getpid() of a child started afterwards
	setnsChildPIDNS   = "setns.child_pidns"     // that child's pid namespace
	setnsNow          = "setns.now."            // + kind: the joiner's identities at observe time (PutIDs)
	setnsNowHostname  = "setns.joiner_hostname" // the hostname the joiner reads at observe time
	setnsTargetName   = "target"                // the hostname the target gets
	setnsChallenge    = "joined"                // the hostname the challenge asks for
	setnsTargetKinds  = sandbox.CloneNewUTS | sandbox.CloneNewNet | sandbox.CloneNewPID
	setnsJoinerLabel  = "joiner"
	setnsThreadsField = "Threads"
)

// Logic: a target sandbox with its own UTS, network and PID (and user)
// namespaces, and a plain agent that joins them through /proc/PID/ns/*
// with setns(2): a wrong nstype (EINVAL), the right one, 0 (no check), a
// user namespace (EINVAL for a multithreaded caller) and a PID namespace
// (only children move).
func Logic() lessons.Logic {
	return lessons.Logic{
		// The target also gets a user namespace of its own, so that the
		// joiner has a foreign user namespace to try (joining its own is
		// EINVAL for another reason).
		Spec:    sandbox.Spec{Flags: setnsTargetKinds, Rootless: sandbox.RootlessAlways, Label: setnsTargetName},
		Perform: setnsPerform,
		Views:   []sandbox.View{sandbox.ViewIDs, sandbox.ViewUTS, sandbox.ViewPIDs},
		Extra:   setnsExtra,
		Facts:   setnsFacts,
		Answer:  setnsAnswer,
		Check:   setnsCheck,
		Solve:   setnsSolve,
	}
}

func setnsPerform(ctx context.Context, r *lessons.Sandboxes) error {
	target := r.Box
	if err := target.SetHostname(ctx, setnsTargetName); err != nil {
		return fmt.Errorf("name the target: %w", err)
	}
	host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewUTS})
	r.Set(setnsHostHostname, host.Hostname)

	joiner, err := r.StartOther(ctx, sandbox.Spec{Flags: 0, Label: setnsJoinerLabel})
	if err != nil {
		return fmt.Errorf("start the joiner: %w", err)
	}
	r.Set(setnsJoinerPID, strconv.Itoa(joiner.PID()))
	before, err := joiner.IDs()
	if err != nil {
		return fmt.Errorf("the joiner's namespaces: %w", err)
	}
	setIDs(r, setnsBefore, before)
	tpid := target.PID()

	// 1. The fd names a UTS namespace, nstype says network: refused, and
	// nothing moves. The refusal is the lesson; it is kept, not returned.
	r.Set(setnsWrong, lessons.Outcome("joined", joiner.Setns(ctx, tpid, "uts", sandbox.CloneNewNet)))
	if ids, err := joiner.IDs(); err == nil {
		r.Set(setnsWrongUTS, idText(ids["uts"]))
	}

	// 2. The right nstype.
	err = joiner.Setns(ctx, tpid, "uts", sandbox.CloneNewUTS)
	r.Set(setnsRight, lessons.Outcome("joined", err))
	if err != nil {
		// Without root the joiner has a user namespace of its own, which
		// owns nothing of the target's: EPERM. See the lesson text.
		return fmt.Errorf("join the target's UTS namespace: %w", err)
	}

	// 3. nstype 0: the kernel joins whatever kind the fd refers to.
	r.Set(setnsZero, lessons.Outcome("joined", joiner.Setns(ctx, tpid, "net", 0)))

	// 4. A user namespace: EINVAL for any multithreaded caller.
	r.Set(setnsThreads, procStatusField(joiner.PID(), setnsThreadsField))
	r.Set(setnsUser, lessons.Outcome("joined", joiner.Setns(ctx, tpid, "user", sandbox.CloneNewUser)))
	if ids, err := joiner.IDs(); err == nil {
		r.Set(setnsUserAfter, idText(ids["user"]))
	}

	// 5. A PID namespace: the caller stays, its next children go in. Last,
	// because from now on the kernel refuses the joiner new threads.
	err = joiner.Setns(ctx, tpid, "pid", sandbox.CloneNewPID)
	r.Set(setnsPID, lessons.Outcome("joined", err))
	if err != nil {
		return fmt.Errorf("join the target's PID namespace: %w", err)
	}
	if ids, err := joiner.IDs(); err == nil {
		r.Set(setnsPIDAfter, idText(ids["pid"]))
		r.Set(setnsPFCAfter, idText(ids["pid_for_children"]))
	}
	child, err := joiner.ObserveChild(ctx, []sandbox.View{sandbox.ViewIDs})
	if err != nil {
		return fmt.Errorf("a child of the joiner: %w", err)
	}
	r.Set(setnsChildPID, strconv.Itoa(child.PID))
	r.Set(setnsChildPIDNS, idText(child.IDs["pid"]))
	waitReaped(ctx, target, child.PID)
	return nil
}

// waitReaped waits (a second at most) until the process with PID pid in
// box's PID namespace is gone: the joiner reaps its observer child
// asynchronously, and a zombie row in the first look at the PID view
// would only puzzle.
func waitReaped(ctx context.Context, box *sandbox.Sandbox, pid int) {
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		snap, err := box.Observe(ctx, []sandbox.View{sandbox.ViewPIDs})
		if err != nil {
			return
		}
		if _, ok := lessons.ProcByPID(snap.Procs, pid); !ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// setIDs keeps identities with Sandboxes.Set in the form ExtraID reads.
func setIDs(r *lessons.Sandboxes, prefix string, ids sandbox.IDs) {
	m := map[string]string{}
	lessons.PutIDs(m, prefix, ids)
	for k, v := range m {
		r.Set(k, v)
	}
}

// idText renders one identity the way PutIDs stores it.
func idText(id sandbox.NSID) string {
	m := map[string]string{}
	lessons.PutIDs(m, "", sandbox.IDs{"x": id})
	return m["x"]
}

// procStatusField reads one field of the host's /proc/PID/status ("" when
// it cannot).
func procStatusField(pid int, field string) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == field {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// setnsJoiner is the joining agent, once Perform started it.
func setnsJoiner(r *lessons.Sandboxes) (*sandbox.Sandbox, error) {
	for _, o := range r.Others() {
		if o.Label() == setnsJoinerLabel {
			return o, nil
		}
	}
	return nil, fmt.Errorf("the joiner: %w", lessons.ErrNotPerformed)
}

// setnsExtra looks at the joiner now: its identities from the host's
// /proc, and the hostname it reads.
func setnsExtra(ctx context.Context, r *lessons.Sandboxes) (map[string]string, error) {
	joiner, err := setnsJoiner(r)
	if err != nil {
		return nil, nil // Perform has not got that far: nothing to add
	}
	ids, err := joiner.IDs()
	if err != nil {
		return nil, fmt.Errorf("the joiner's namespaces: %w", err)
	}
	out := map[string]string{}
	lessons.PutIDs(out, setnsNow, ids)
	snap, err := joiner.Observe(ctx, []sandbox.View{sandbox.ViewUTS})
	if err != nil {
		return nil, fmt.Errorf("look through the joiner: %w", err)
	}
	out[setnsNowHostname] = snap.Hostname
	return out, nil
}

// extraIDIs reports whether the identity kept under key equals id.
func extraIDIs(o lessons.Observation, key string, id sandbox.NSID) bool {
	got, ok := lessons.ExtraID(o, key)
	return ok && !id.IsZero() && got == id
}

func setnsFacts(o lessons.Observation) []lessons.Fact {
	ex := o.Extra
	tIDs, hIDs := o.Sandbox.IDs, o.Host.IDs
	label := func(key, kind string) string {
		id, ok := lessons.ExtraID(o, key)
		if !ok {
			return kind + ": (unknown)"
		}
		return id.Label(kind)
	}
	threads, _ := strconv.Atoi(ex[setnsThreads])
	childPID, _ := strconv.Atoi(ex[setnsChildPID])
	return []lessons.Fact{
		lessons.NewFact("The target has UTS, network and PID namespaces of its own",
			lessons.DifferentNS(o, "uts") && lessons.DifferentNS(o, "net") && lessons.DifferentNS(o, "pid"),
			"target %s %s %s", tIDs["uts"].Label("uts"), tIDs["net"].Label("net"), tIDs["pid"].Label("pid")),
		lessons.NewFact("The joiner started in the host's namespaces",
			extraIDIs(o, setnsBefore+"uts", hIDs["uts"]) && extraIDIs(o, setnsBefore+"net", hIDs["net"]) && extraIDIs(o, setnsBefore+"pid", hIDs["pid"]),
			"joiner then %s %s", label(setnsBefore+"uts", "uts"), label(setnsBefore+"net", "net")),
		lessons.NewFact("setns(fd of the target's uts, CLONE_NEWNET) was refused with EINVAL: the fd is no network namespace",
			ex[setnsWrong] == "EINVAL", "%s", lessons.OrNone(ex[setnsWrong])),
		lessons.NewFact("…and changed nothing: the joiner was still in the host's UTS namespace",
			extraIDIs(o, setnsWrongUTS, hIDs["uts"]), "joiner after it %s", label(setnsWrongUTS, "uts")),
		lessons.NewFact("setns(fd, CLONE_NEWUTS) joined: the joiner is in the target's UTS namespace",
			lessons.OutcomeOK(ex[setnsRight]) && extraIDIs(o, setnsNow+"uts", tIDs["uts"]),
			"%s; joiner %s, target %s", lessons.OrNone(ex[setnsRight]), label(setnsNow+"uts", "uts"), tIDs["uts"].Label("uts")),
		lessons.NewFact("…so it reads the target's hostname, not the host's",
			ex[setnsNowHostname] != "" && ex[setnsNowHostname] == o.Sandbox.Hostname && ex[setnsNowHostname] != o.Host.Hostname,
			"joiner %q, target %q, host %q", ex[setnsNowHostname], o.Sandbox.Hostname, o.Host.Hostname),
		lessons.NewFact("nstype 0 checks nothing: setns(fd of the target's net, 0) joined its network namespace",
			lessons.OutcomeOK(ex[setnsZero]) && extraIDIs(o, setnsNow+"net", tIDs["net"]),
			"%s; joiner %s, target %s", lessons.OrNone(ex[setnsZero]), label(setnsNow+"net", "net"), tIDs["net"].Label("net")),
		lessons.NewFact("Joining a user namespace from Go fails with EINVAL: the kernel refuses a multithreaded caller",
			ex[setnsUser] == "EINVAL" && threads > 1 && extraIDIs(o, setnsUserAfter, hIDs["user"]) && tIDs["user"] != hIDs["user"],
			"%s with %s threads; joiner %s, target %s", lessons.OrNone(ex[setnsUser]), lessons.OrNone(ex[setnsThreads]), label(setnsUserAfter, "user"), tIDs["user"].Label("user")),
		lessons.NewFact("setns(fd, CLONE_NEWPID) moved only pid_for_children: the joiner's own PID namespace is still the host's",
			lessons.OutcomeOK(ex[setnsPID]) && extraIDIs(o, setnsPIDAfter, hIDs["pid"]) && extraIDIs(o, setnsPFCAfter, tIDs["pid"]),
			"%s; pid %s, pid_for_children %s", lessons.OrNone(ex[setnsPID]), label(setnsPIDAfter, "pid"), label(setnsPFCAfter, "pid")),
		lessons.NewFact("A child the joiner started afterwards was born in the target's PID namespace, as PID "+lessons.OrNone(ex[setnsChildPID])+" there",
			extraIDIs(o, setnsChildPIDNS, tIDs["pid"]) && childPID > 1,
			"child %s, PID %s", label(setnsChildPIDNS, "pid"), lessons.OrNone(ex[setnsChildPID])),
		lessons.NewFact("The host kept its hostname",
			o.Host.Hostname != "" && o.Host.Hostname == ex[setnsHostHostname] && o.Host.Hostname != o.Sandbox.Hostname,
			"host %q (during Perform %q)", o.Host.Hostname, ex[setnsHostHostname]),
	}
}

func setnsAnswer(o lessons.Observation) (int, string) {
	if o.Extra[setnsPID] == "" {
		return -1, "the joiner did not get to the PID namespace"
	}
	if !lessons.OutcomeOK(o.Extra[setnsPID]) {
		return 2, "setns(fd, CLONE_NEWPID) failed: " + o.Extra[setnsPID]
	}
	pid, pidOK := lessons.ExtraID(o, setnsPIDAfter)
	pfc, pfcOK := lessons.ExtraID(o, setnsPFCAfter)
	target := o.Sandbox.IDs["pid"]
	if !pidOK || !pfcOK {
		return -1, "the joiner's identities after setns were not read"
	}
	why := fmt.Sprintf("after setns the joiner's pid is %s and its pid_for_children %s (the target's is %s)",
		pid.Label("pid"), pfc.Label("pid"), target.Label("pid"))
	switch {
	case pid == target && pfc == target:
		return 0, why
	case pfc == target:
		return 1, why + ": a process's PID never changes, so only the children it creates from now on are in the target's namespace"
	}
	return 2, why
}

func setnsCheck(ctx context.Context, r *lessons.Sandboxes) (bool, string, error) {
	joiner, err := setnsJoiner(r)
	if err != nil {
		return false, "", err
	}
	ts, err := lessons.ObserveBox(ctx, r, sandbox.ViewIDs, sandbox.ViewUTS)
	if err != nil {
		return false, "", err
	}
	js, err := joiner.Observe(ctx, []sandbox.View{sandbox.ViewIDs, sandbox.ViewUTS})
	if err != nil {
		return false, "", fmt.Errorf("look through the joiner: %w", err)
	}
	host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewUTS})
	switch {
	case host.Hostname != r.Get(setnsHostHostname):
		return false, fmt.Sprintf("the host's hostname changed: %q, was %q", host.Hostname, r.Get(setnsHostHostname)), nil
	case js.IDs["uts"] != ts.IDs["uts"]:
		return false, fmt.Sprintf("the joiner (%s) is not in the target's UTS namespace (%s)", js.IDs["uts"].Label("uts"), ts.IDs["uts"].Label("uts")), nil
	case ts.Hostname != setnsChallenge:
		return false, fmt.Sprintf("the target is named %q, not %q", ts.Hostname, setnsChallenge), nil
	case js.Hostname != setnsChallenge:
		return false, fmt.Sprintf("the target is %q but the joiner reads %q", ts.Hostname, js.Hostname), nil
	}
	return true, fmt.Sprintf("target and joiner both read %q in %s; the host keeps %q", setnsChallenge, ts.IDs["uts"].Label("uts"), host.Hostname), nil
}

// setnsSolve runs the solution in the target's shell. Without cgo nslab
// cannot enter the sandbox, and the engine sets the name instead.
func setnsSolve(ctx context.Context, r *lessons.Sandboxes) error {
	err := lessons.RunSolution(ctx, r, r.Lesson.Challenge.Solution)
	if errors.Is(err, sandbox.ErrNoEnter) {
		return r.Box.SetHostname(ctx, setnsChallenge)
	}
	return err
}
