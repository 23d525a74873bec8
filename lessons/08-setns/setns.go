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
	s8HostHostname = "setns.host_hostname"   // the host's hostname during Perform
	s8JoinerPID    = "setns.joiner_pid"      // host PID of the joining agent
	s8Before       = "setns.before."         // + kind: the joiner's identities before any setns (PutIDs)
	s8Wrong        = "setns.wrong_nstype"    // outcome of setns(uts fd, CLONE_NEWNET)
	s8WrongUTS     = "setns.wrong_uts_after" // the joiner's uts identity right after it
	s8Right        = "setns.right_nstype"    // outcome of setns(uts fd, CLONE_NEWUTS)
	s8Zero         = "setns.zero_nstype"     // outcome of setns(net fd, 0)
	s8User         = "setns.user"            // outcome of setns(user fd, CLONE_NEWUSER)
	s8Threads      = "setns.joiner_threads"  // the joiner's thread count when it tried
	s8UserAfter    = "setns.user_after"      // the joiner's user identity after that attempt
	s8PID          = "setns.pid"             // outcome of setns(pid fd, CLONE_NEWPID)
	s8PIDAfter     = "setns.pid_after"       // the joiner's own pid namespace right after
	s8PFCAfter     = "setns.pfc_after"       // its pid_for_children right after
	s8ChildPID     = "setns.child_pid"       // getpid() of a child started afterwards
	s8ChildPIDNS   = "setns.child_pidns"     // that child's pid namespace
	s8Now          = "setns.now."            // + kind: the joiner's identities at observe time (PutIDs)
	s8NowHostname  = "setns.joiner_hostname" // the hostname the joiner reads at observe time
	s8TargetName   = "target"                // the hostname the target gets
	s8Challenge    = "joined"                // the hostname the challenge asks for
	s8TargetKinds  = sandbox.CloneNewUTS | sandbox.CloneNewNet | sandbox.CloneNewPID
	s8JoinerLabel  = "joiner"
	s8ThreadsField = "Threads"
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
		Spec:    sandbox.Spec{Flags: s8TargetKinds, Rootless: sandbox.RootlessAlways, Label: s8TargetName},
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
	if err := target.SetHostname(ctx, s8TargetName); err != nil {
		return fmt.Errorf("name the target: %w", err)
	}
	host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewUTS})
	r.Set(s8HostHostname, host.Hostname)

	joiner, err := r.StartOther(ctx, sandbox.Spec{Flags: 0, Label: s8JoinerLabel})
	if err != nil {
		return fmt.Errorf("start the joiner: %w", err)
	}
	r.Set(s8JoinerPID, strconv.Itoa(joiner.PID()))
	before, err := joiner.IDs()
	if err != nil {
		return fmt.Errorf("the joiner's namespaces: %w", err)
	}
	setIDs(r, s8Before, before)
	tpid := target.PID()

	// 1. The fd names a UTS namespace, nstype says network: refused, and
	// nothing moves. The refusal is the lesson; it is kept, not returned.
	r.Set(s8Wrong, lessons.Outcome("joined", joiner.Setns(ctx, tpid, "uts", sandbox.CloneNewNet)))
	if ids, err := joiner.IDs(); err == nil {
		r.Set(s8WrongUTS, idText(ids["uts"]))
	}

	// 2. The right nstype.
	err = joiner.Setns(ctx, tpid, "uts", sandbox.CloneNewUTS)
	r.Set(s8Right, lessons.Outcome("joined", err))
	if err != nil {
		// Without root the joiner has a user namespace of its own, which
		// owns nothing of the target's: EPERM. See the lesson text.
		return fmt.Errorf("join the target's UTS namespace: %w", err)
	}

	// 3. nstype 0: the kernel joins whatever kind the fd refers to.
	r.Set(s8Zero, lessons.Outcome("joined", joiner.Setns(ctx, tpid, "net", 0)))

	// 4. A user namespace: EINVAL for any multithreaded caller.
	r.Set(s8Threads, procStatusField(joiner.PID(), s8ThreadsField))
	r.Set(s8User, lessons.Outcome("joined", joiner.Setns(ctx, tpid, "user", sandbox.CloneNewUser)))
	if ids, err := joiner.IDs(); err == nil {
		r.Set(s8UserAfter, idText(ids["user"]))
	}

	// 5. A PID namespace: the caller stays, its next children go in. Last,
	// because from now on the kernel refuses the joiner new threads.
	err = joiner.Setns(ctx, tpid, "pid", sandbox.CloneNewPID)
	r.Set(s8PID, lessons.Outcome("joined", err))
	if err != nil {
		return fmt.Errorf("join the target's PID namespace: %w", err)
	}
	if ids, err := joiner.IDs(); err == nil {
		r.Set(s8PIDAfter, idText(ids["pid"]))
		r.Set(s8PFCAfter, idText(ids["pid_for_children"]))
	}
	child, err := joiner.ObserveChild(ctx, []sandbox.View{sandbox.ViewIDs})
	if err != nil {
		return fmt.Errorf("a child of the joiner: %w", err)
	}
	r.Set(s8ChildPID, strconv.Itoa(child.PID))
	r.Set(s8ChildPIDNS, idText(child.IDs["pid"]))
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
		if o.Label() == s8JoinerLabel {
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
	lessons.PutIDs(out, s8Now, ids)
	snap, err := joiner.Observe(ctx, []sandbox.View{sandbox.ViewUTS})
	if err != nil {
		return nil, fmt.Errorf("look through the joiner: %w", err)
	}
	out[s8NowHostname] = snap.Hostname
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
	threads, _ := strconv.Atoi(ex[s8Threads])
	childPID, _ := strconv.Atoi(ex[s8ChildPID])
	return []lessons.Fact{
		lessons.NewFact("The target has UTS, network and PID namespaces of its own",
			lessons.DifferentNS(o, "uts") && lessons.DifferentNS(o, "net") && lessons.DifferentNS(o, "pid"),
			"target %s %s %s", tIDs["uts"].Label("uts"), tIDs["net"].Label("net"), tIDs["pid"].Label("pid")),
		lessons.NewFact("The joiner started in the host's namespaces",
			extraIDIs(o, s8Before+"uts", hIDs["uts"]) && extraIDIs(o, s8Before+"net", hIDs["net"]) && extraIDIs(o, s8Before+"pid", hIDs["pid"]),
			"joiner then %s %s", label(s8Before+"uts", "uts"), label(s8Before+"net", "net")),
		lessons.NewFact("setns(fd of the target's uts, CLONE_NEWNET) was refused with EINVAL: the fd is no network namespace",
			ex[s8Wrong] == "EINVAL", "%s", lessons.OrNone(ex[s8Wrong])),
		lessons.NewFact("…and changed nothing: the joiner was still in the host's UTS namespace",
			extraIDIs(o, s8WrongUTS, hIDs["uts"]), "joiner after it %s", label(s8WrongUTS, "uts")),
		lessons.NewFact("setns(fd, CLONE_NEWUTS) joined: the joiner is in the target's UTS namespace",
			lessons.OutcomeOK(ex[s8Right]) && extraIDIs(o, s8Now+"uts", tIDs["uts"]),
			"%s; joiner %s, target %s", lessons.OrNone(ex[s8Right]), label(s8Now+"uts", "uts"), tIDs["uts"].Label("uts")),
		lessons.NewFact("…so it reads the target's hostname, not the host's",
			ex[s8NowHostname] != "" && ex[s8NowHostname] == o.Sandbox.Hostname && ex[s8NowHostname] != o.Host.Hostname,
			"joiner %q, target %q, host %q", ex[s8NowHostname], o.Sandbox.Hostname, o.Host.Hostname),
		lessons.NewFact("nstype 0 checks nothing: setns(fd of the target's net, 0) joined its network namespace",
			lessons.OutcomeOK(ex[s8Zero]) && extraIDIs(o, s8Now+"net", tIDs["net"]),
			"%s; joiner %s, target %s", lessons.OrNone(ex[s8Zero]), label(s8Now+"net", "net"), tIDs["net"].Label("net")),
		lessons.NewFact("Joining a user namespace from Go fails with EINVAL: the kernel refuses a multithreaded caller",
			ex[s8User] == "EINVAL" && threads > 1 && extraIDIs(o, s8UserAfter, hIDs["user"]) && tIDs["user"] != hIDs["user"],
			"%s with %s threads; joiner %s, target %s", lessons.OrNone(ex[s8User]), lessons.OrNone(ex[s8Threads]), label(s8UserAfter, "user"), tIDs["user"].Label("user")),
		lessons.NewFact("setns(fd, CLONE_NEWPID) moved only pid_for_children: the joiner's own PID namespace is still the host's",
			lessons.OutcomeOK(ex[s8PID]) && extraIDIs(o, s8PIDAfter, hIDs["pid"]) && extraIDIs(o, s8PFCAfter, tIDs["pid"]),
			"%s; pid %s, pid_for_children %s", lessons.OrNone(ex[s8PID]), label(s8PIDAfter, "pid"), label(s8PFCAfter, "pid")),
		lessons.NewFact("A child the joiner started afterwards was born in the target's PID namespace, as PID "+lessons.OrNone(ex[s8ChildPID])+" there",
			extraIDIs(o, s8ChildPIDNS, tIDs["pid"]) && childPID > 1,
			"child %s, PID %s", label(s8ChildPIDNS, "pid"), lessons.OrNone(ex[s8ChildPID])),
		lessons.NewFact("The host kept its hostname",
			o.Host.Hostname != "" && o.Host.Hostname == ex[s8HostHostname] && o.Host.Hostname != o.Sandbox.Hostname,
			"host %q (during Perform %q)", o.Host.Hostname, ex[s8HostHostname]),
	}
}

func setnsAnswer(o lessons.Observation) (int, string) {
	if o.Extra[s8PID] == "" {
		return -1, "the joiner did not get to the PID namespace"
	}
	if !lessons.OutcomeOK(o.Extra[s8PID]) {
		return 2, "setns(fd, CLONE_NEWPID) failed: " + o.Extra[s8PID]
	}
	pid, pidOK := lessons.ExtraID(o, s8PIDAfter)
	pfc, pfcOK := lessons.ExtraID(o, s8PFCAfter)
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
	case host.Hostname != r.Get(s8HostHostname):
		return false, fmt.Sprintf("the host's hostname changed: %q, was %q", host.Hostname, r.Get(s8HostHostname)), nil
	case js.IDs["uts"] != ts.IDs["uts"]:
		return false, fmt.Sprintf("the joiner (%s) is not in the target's UTS namespace (%s)", js.IDs["uts"].Label("uts"), ts.IDs["uts"].Label("uts")), nil
	case ts.Hostname != s8Challenge:
		return false, fmt.Sprintf("the target is named %q, not %q", ts.Hostname, s8Challenge), nil
	case js.Hostname != s8Challenge:
		return false, fmt.Sprintf("the target is %q but the joiner reads %q", ts.Hostname, js.Hostname), nil
	}
	return true, fmt.Sprintf("target and joiner both read %q in %s; the host keeps %q", s8Challenge, ts.IDs["uts"].Label("uts"), host.Hostname), nil
}

// setnsSolve runs the solution in the target's shell. Without cgo nslab
// cannot enter the sandbox, and the engine sets the name instead.
func setnsSolve(ctx context.Context, r *lessons.Sandboxes) error {
	err := lessons.RunSolution(ctx, r, r.Lesson.Challenge.Solution)
	if errors.Is(err, sandbox.ErrNoEnter) {
		return r.Box.SetHostname(ctx, s8Challenge)
	}
	return err
}
