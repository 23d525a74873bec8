// Package setns is lesson 8, "setns: joining a namespace that exists": its Go logic.
// Its text and prompts are lesson.md and lesson.toml beside this file;
// package catalog registers Logic. It may import lessons and sandbox,
// never another lesson, catalog or ui.
package setns

import (
	"context"
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
	setnsKeeperPID    = "setns.keeper_pid"      // host PID of the keeper, alone in a UTS namespace of its own
	setnsKeeperInner  = "setns.keeper_inner"    // its PID in the target's PID namespace
	setnsKeeperUTS    = "setns.keeper_uts"      // its UTS namespace (PutIDs form)
	setnsTargetMax    = "setns.target_max_pid"  // the highest PID in the target's namespace before the joiner's child
	setnsTargetName   = "target"                // the hostname the target gets
	setnsChallenge    = "kept"                  // the hostname the challenge asks for in the keeper's namespace
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
		// The joiner's column: its namespaces and the hostname it reads.
		Joiner: func(r *lessons.Sandboxes) (*sandbox.Sandbox, []sandbox.View) {
			j, err := setnsJoiner(r)
			if err != nil {
				return nil, nil
			}
			return j, []sandbox.View{sandbox.ViewIDs, sandbox.ViewUTS}
		},
		Facts:  setnsFacts,
		Answer: setnsAnswer,
		Check:  setnsCheck,
	}
}

func setnsPerform(ctx context.Context, r *lessons.Sandboxes) error {
	target := r.Box
	if err := target.SetHostname(ctx, setnsTargetName); err != nil {
		return fmt.Errorf("name the target: %w", err)
	}
	host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewUTS})
	r.Set(setnsHostHostname, host.Hostname)
	if err := setnsKeeper(ctx, r); err != nil {
		return err
	}

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
	// PIDs the target's namespace has handed out so far: the joiner's child
	// gets a number after them, not 2 (pid_namespaces(7)).
	if snap, err := target.Observe(ctx, []sandbox.View{sandbox.ViewPIDs}); err == nil {
		most := 0
		for _, p := range snap.Procs {
			most = max(most, p.PID)
		}
		r.Set(setnsTargetMax, strconv.Itoa(most))
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

// setnsKeeper has the target's agent clone an idle child with
// CLONE_NEWUTS: the keeper, the only member of a UTS namespace owned by the
// target's user namespace. The challenge is to join it by its
// /proc/PID/ns path.
func setnsKeeper(ctx context.Context, r *lessons.Sandboxes) error {
	inner, err := r.Box.SpawnNS(ctx, sandbox.CloneNewUTS)
	if err != nil {
		return fmt.Errorf("start the keeper: %w", err)
	}
	snap, err := r.Box.Observe(ctx, []sandbox.View{sandbox.ViewPIDs})
	if err != nil {
		return fmt.Errorf("find the keeper: %w", err)
	}
	p, ok := lessons.ProcByPID(snap.Procs, inner)
	if !ok {
		return fmt.Errorf("the keeper, PID %d in the target, is not in its PID view: %w", inner, sandbox.ErrAgent)
	}
	ids, err := sandbox.ReadIDs(p.HostPID)
	if err != nil {
		return fmt.Errorf("the keeper's namespaces: %w", err)
	}
	r.Set(setnsKeeperPID, strconv.Itoa(p.HostPID))
	r.Set(setnsKeeperInner, strconv.Itoa(inner))
	r.Set(setnsKeeperUTS, idText(ids["uts"]))
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
	most, mostOK := lessons.PositiveInt(ex[setnsTargetMax])
	kuts, kutsOK := lessons.ExtraID(o, setnsKeeperUTS)
	_, kinOK := lessons.PositiveInt(ex[setnsKeeperInner])
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
		lessons.NewFact("A child the joiner started afterwards was born in the target's PID namespace, as PID "+lessons.OrNone(ex[setnsChildPID])+
			" there: after every PID the target's namespace had handed out, not 2",
			extraIDIs(o, setnsChildPIDNS, tIDs["pid"]) && mostOK && childPID > most && childPID > 2,
			"child %s, PID %s; the target's highest PID before it %s", label(setnsChildPIDNS, "pid"), lessons.OrNone(ex[setnsChildPID]), lessons.OrNone(ex[setnsTargetMax])),
		lessons.NewFact("The target's agent cloned a keeper with CLONE_NEWUTS: the only member of a UTS namespace that is neither the host's nor the target's",
			kutsOK && kinOK && kuts != tIDs["uts"] && kuts != hIDs["uts"] && !tIDs["uts"].IsZero(),
			"keeper %s (PID %s in the target), target %s", label(setnsKeeperUTS, "uts"), lessons.OrNone(ex[setnsKeeperInner]), tIDs["uts"].Label("uts")),
		lessons.NewFact("The host kept its hostname",
			o.Host.Hostname != "" && o.Host.Hostname == ex[setnsHostHostname] && o.Host.Hostname != o.Sandbox.Hostname,
			"host %q (during Perform %q)", o.Host.Hostname, ex[setnsHostHostname]),
	}
}

func setnsAnswer(o lessons.Observation) (int, string) {
	child, okChild := lessons.PositiveInt(o.Extra[setnsChildPID])
	most, okMost := lessons.PositiveInt(o.Extra[setnsTargetMax])
	joiner, _ := lessons.PositiveInt(o.Extra[setnsJoinerPID])
	if !okChild || !okMost {
		return -1, "the joiner's child or the target's PIDs were not seen"
	}
	why := fmt.Sprintf("the joiner's child is PID %d in the target's namespace, whose highest PID until then was %d", child, most)
	switch {
	case child == 1:
		return 0, why
	case child == 2:
		return 1, why
	case child == joiner:
		return 3, why + ", the joiner's own host PID"
	case child > most:
		return 2, why + ": a PID namespace counts its own PIDs (pid_namespaces(7)), and the numbers the target's processes already took are not handed out again"
	}
	return -1, why
}

// setnsKeeperNow is the keeper's host PID, once Perform started it, and
// whether it is still the keeper (alive, in the UTS namespace it was
// born in).
func setnsKeeperNow(r *lessons.Sandboxes) (int, sandbox.NSID, error) {
	pid, ok := lessons.PositiveInt(r.Get(setnsKeeperPID))
	if !ok {
		return 0, sandbox.NSID{}, fmt.Errorf("the keeper: %w", lessons.ErrNotPerformed)
	}
	ids, err := sandbox.ReadIDs(pid)
	if err != nil {
		return 0, sandbox.NSID{}, fmt.Errorf("the keeper is gone: %w", err)
	}
	return pid, ids["uts"], nil
}

func setnsCheck(ctx context.Context, r *lessons.Sandboxes) (bool, string, error) {
	kpid, kuts, err := setnsKeeperNow(r)
	if err != nil {
		return false, "", err
	}
	if idText(kuts) != r.Get(setnsKeeperUTS) {
		return false, "", fmt.Errorf("the keeper left its UTS namespace: %w", sandbox.ErrAgent)
	}
	ts, err := lessons.ObserveBox(ctx, r, sandbox.ViewIDs, sandbox.ViewUTS)
	if err != nil {
		return false, "", err
	}
	host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewUTS})
	kname, err := sandbox.HostnameOf(kpid)
	if err != nil {
		return false, "", fmt.Errorf("read the keeper's hostname: %w", err)
	}
	switch {
	case host.Hostname != r.Get(setnsHostHostname):
		return false, fmt.Sprintf("the host's hostname changed: %q, was %q", host.Hostname, r.Get(setnsHostHostname)), nil
	case ts.Hostname != setnsTargetName:
		return false, fmt.Sprintf("the target itself is now named %q: your shell is a member of the target's UTS namespace, and the keeper's is another one. Name the target %q again, and rename the keeper's namespace from inside it", ts.Hostname, setnsTargetName), nil
	case kname != setnsChallenge:
		return false, fmt.Sprintf("the keeper's UTS namespace is still named %q: no process that joined it has renamed it (a namespace made by unshare is a new one, not the keeper's)", kname), nil
	}
	return true, fmt.Sprintf("the keeper's UTS namespace (%s, held by host PID %d) is named %q: only a process that joined it with setns(2) could do that; the target keeps %q and the host %q",
		kuts.Label("uts"), kpid, kname, ts.Hostname, host.Hostname), nil
}
