// Package time is lesson 12, "Time namespaces: a clock that started earlier": its Go logic.
// Its text and prompts are lesson.md and lesson.toml beside this file;
// package catalog registers Logic. It may import lessons and sandbox,
// never another lesson, catalog or ui.
package time

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

const (
	timeMono = 86400  // CLOCK_MONOTONIC offset: one day
	timeBoot = 604800 // CLOCK_BOOTTIME offset: one week

	timeTimeBefore = "time.agent_time_before"
	// timeStart is the time namespace a class server's confined engine
	// started the agent in (PutIDs form); absent outside a class.
	timeStart        = "time.start"
	timeForChildren  = "time.time_for_children"     // the agent's time_for_children after unshare
	timeChildNS      = "time.child_time"            // the observer child's own time namespace
	timeChildMono    = "time.child_monotonic_ns"    // what the child read
	timeChildBoot    = "time.child_boottime_ns"     //
	timeHostMonoLo   = "time.host_monotonic_before" // the host's clocks just before and after the child read
	timeHostMonoHi   = "time.host_monotonic_after"
	timeHostBootLo   = "time.host_boottime_before"
	timeHostBootHi   = "time.host_boottime_after"
	timeSecondErrno  = "time.second_write_errno" // errno of writing an offset after a child entered
	timeSecondOffset = 1

	timeToolCmd    = "time.tool_cmd"       // the unshare(1) command run
	timeToolUptime = "time.tool_uptime"    // the first field of /proc/uptime it printed
	timeUptimeLo   = "time.host_uptime_lo" // the host's /proc/uptime just before
	timeUptimeHi   = "time.host_uptime_hi" // and just after

	timeJoinedUptime = "time.joined_uptime"    // /proc/uptime read by a process that joined with setns (nsenter --time)
	timeJoinedLo     = "time.joined_uptime_lo" // the host's just before
	timeJoinedHi     = "time.joined_uptime_hi" // and just after
	// timeJoinCmd joins the agent's time_for_children namespace with
	// setns(2) (nsenter(1)) and reads CLOCK_BOOTTIME through /proc/uptime;
	// /proc in the sandbox is the agent's own, so /proc/1 is the agent.
	timeJoinCmd = "nsenter --time=/proc/1/ns/time_for_children cat /proc/uptime"
)

// Logic: an agent (PID 1 of its own PID namespace, with its own /proc,
// so that whatever the learner starts there dies with it) calls
// unshare(CLONE_NEWTIME), writes clock offsets for the namespace its
// children will get, and a child reads the shifted clocks.
func Logic() lessons.Logic {
	return lessons.Logic{
		Spec:    sandbox.Spec{Flags: sandbox.CloneNewPID | sandbox.CloneNewNS, Label: "time"},
		Perform: timePerform,
		Views:   []sandbox.View{sandbox.ViewIDs, sandbox.ViewTime, sandbox.ViewPIDs},
		Facts:   timeFacts,
		Answer:  timeAnswer,
		Check:   timeCheck,
		Solve:   timeSolve,
	}
}

func timePerform(ctx context.Context, r *lessons.Sandboxes) error {
	sb := r.Box
	// A /proc of the sandbox's PID namespace, so that /proc/1 in the shell
	// is the agent.
	if err := sb.Mount(ctx, "proc", "/proc"); err != nil {
		return err
	}
	ids, err := sb.IDs()
	if err != nil {
		return err
	}
	if _, ok := ids["time"]; !ok {
		return fmt.Errorf("this kernel has no time namespaces (/proc/PID/ns/time): Linux 5.6 or newer is needed")
	}
	r.Set(timeTimeBefore, ids["time"].Label("time"))
	if r.Box.Confined()&sandbox.CloneNewTime != 0 {
		start := map[string]string{}
		lessons.PutIDs(start, "", sandbox.IDs{timeStart: r.Box.StartIDs()["time"]})
		r.Set(timeStart, start[timeStart])
	}
	if err := sb.Unshare(ctx, sandbox.CloneNewTime); err != nil {
		return err
	}
	if ids, err = sb.IDs(); err != nil {
		return err
	}
	r.Set(timeForChildren, ids["time_for_children"].Label("time"))
	if err := sb.SetTimeOffset(ctx, "monotonic", timeMono); err != nil {
		return err
	}
	if err := sb.SetTimeOffset(ctx, "boottime", timeBoot); err != nil {
		return err
	}

	// The child reads its clocks between two readings of the host's, so
	// the offset is bounded from both sides.
	before := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewTime})
	child, err := sb.ObserveChild(ctx, []sandbox.View{sandbox.ViewIDs, sandbox.ViewTime})
	after := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewTime})
	if err != nil {
		return fmt.Errorf("a child in the new time namespace: %w", err)
	}
	if child.Clocks == nil || before.Clocks == nil || after.Clocks == nil {
		return fmt.Errorf("clocks not observed: child %v, host %v / %v", child.Errs, before.Errs, after.Errs)
	}
	r.Set(timeChildNS, child.IDs["time"].Label("time"))
	r.Set(timeChildMono, strconv.FormatInt(int64(child.Clocks.Monotonic), 10))
	r.Set(timeChildBoot, strconv.FormatInt(int64(child.Clocks.Boottime), 10))
	r.Set(timeHostMonoLo, strconv.FormatInt(int64(before.Clocks.Monotonic), 10))
	r.Set(timeHostMonoHi, strconv.FormatInt(int64(after.Clocks.Monotonic), 10))
	r.Set(timeHostBootLo, strconv.FormatInt(int64(before.Clocks.Boottime), 10))
	r.Set(timeHostBootHi, strconv.FormatInt(int64(after.Clocks.Boottime), 10))

	// The observer child has answered but may still be exiting; the
	// challenge starts from a namespace with no member, so wait (bounded).
	if err := lessons.WaitUntil(ctx, 5*time.Second, func() bool {
		_, member := timeMember(ctx, r)
		return !member
	}); err != nil {
		return fmt.Errorf("the observer child did not exit: %w", err)
	}

	// A process has entered: the kernel now refuses new offsets. The
	// refusal is the lesson, so it is kept, not returned.
	err = sb.SetTimeOffset(ctx, "boottime", timeSecondOffset)
	var se *sandbox.SyscallError
	switch {
	case err == nil:
		r.Set(timeSecondErrno, "")
	case errors.As(err, &se):
		r.Set(timeSecondErrno, se.Errno)
	default:
		return err
	}
	if err := timeJoined(ctx, r); err != nil {
		return err
	}
	return timeTool(ctx, r)
}

// timeJoined has a process join the namespace with setns(2) instead of
// being born in it: nsenter(1) in the sandbox's shell, which is in the
// agent's own time namespace (the host's clocks), reads /proc/uptime
// after the join. It exits at once, so the challenge still starts from a
// namespace with no member.
func timeJoined(ctx context.Context, r *lessons.Sandboxes) error {
	if _, err := exec.LookPath("nsenter"); err != nil {
		return nil // not installed: the prediction has no answer here
	}
	lo, err := readUptime()
	if err != nil {
		return err
	}
	out, err := lessons.Shell(ctx, r.Box, timeJoinCmd)
	if errors.Is(err, sandbox.ErrNoEnter) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("join the time namespace with nsenter: %w", err)
	}
	hi, err := readUptime()
	if err != nil {
		return err
	}
	f := strings.Fields(out)
	if len(f) == 0 {
		return fmt.Errorf("%s printed no uptime: %q", timeJoinCmd, out)
	}
	r.Set(timeJoinedUptime, f[0])
	r.Set(timeJoinedLo, lo)
	r.Set(timeJoinedHi, hi)
	return lessons.WaitUntil(ctx, 5*time.Second, func() bool {
		_, member := timeMember(ctx, r)
		return !member
	})
}

// timeJoinedShift is how far ahead of the host's the boot-time clock of
// the process that joined by setns was, bounded by the host's readings
// around it; ok is false when it was not read.
func timeJoinedShift(ex map[string]string) (lo, hi float64, ok bool) {
	j, e1 := strconv.ParseFloat(ex[timeJoinedUptime], 64)
	hlo, e2 := strconv.ParseFloat(ex[timeJoinedLo], 64)
	hhi, e3 := strconv.ParseFloat(ex[timeJoinedHi], 64)
	if e1 != nil || e2 != nil || e3 != nil || hhi < hlo || j <= 0 {
		return 0, 0, false
	}
	return j - hhi, j - hlo, true
}

// timeTool runs the util-linux equivalent, unshare --time with the same
// offsets, between two readings of the host's /proc/uptime.
func timeTool(ctx context.Context, r *lessons.Sandboxes) error {
	path, err := exec.LookPath("unshare")
	if err != nil {
		return nil // not installed: the fact about it is left out
	}
	args := []string{"--time", "--monotonic", strconv.Itoa(timeMono), "--boottime", strconv.Itoa(timeBoot), "--fork"}
	if os.Geteuid() != 0 {
		args = append(args, "--user", "--map-root-user")
	}
	args = append(args, "cat", "/proc/uptime")
	lo, err := readUptime()
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, path, args...).Output()
	if err != nil {
		return fmt.Errorf("run unshare(1): %w", err)
	}
	hi, err := readUptime()
	if err != nil {
		return err
	}
	f := strings.Fields(string(out))
	if len(f) == 0 {
		return fmt.Errorf("unshare(1) printed no uptime: %q", out)
	}
	r.Set(timeToolCmd, "unshare "+strings.Join(args, " "))
	r.Set(timeToolUptime, f[0])
	r.Set(timeUptimeLo, lo)
	r.Set(timeUptimeHi, hi)
	return nil
}

func readUptime() (string, error) {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return "", fmt.Errorf("read the host's uptime: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "", fmt.Errorf("empty /proc/uptime")
	}
	return f[0], nil
}

func extraDur(o lessons.Observation, key string) (time.Duration, bool) {
	n, err := strconv.ParseInt(o.Extra[key], 10, 64)
	return time.Duration(n), err == nil
}

// offsetFact states that a child's clock was ahead of the host's by want
// seconds: the child read between the host's lo and hi readings, so
// child-hi <= offset <= child-lo.
func offsetFact(o lessons.Observation, clock string, childKey, loKey, hiKey string, want int) lessons.Fact {
	c, ok1 := extraDur(o, childKey)
	lo, ok2 := extraDur(o, loKey)
	hi, ok3 := extraDur(o, hiKey)
	off := time.Duration(want) * time.Second
	ok := ok1 && ok2 && ok3 && c-hi <= off && off <= c-lo
	return lessons.NewFact(fmt.Sprintf("a child reads %s exactly %d s (%v) ahead of the host", clock, want, off), ok,
		"child %v, host %v…%v: ahead by %v…%v", c.Round(time.Millisecond), lo.Round(time.Millisecond), hi.Round(time.Millisecond),
		(c - hi).Round(time.Millisecond), (c - lo).Round(time.Millisecond))
}

func timeFacts(o lessons.Observation) []lessons.Fact {
	ex := o.Extra
	var fs []lessons.Fact
	if _, confined := ex[timeStart]; confined {
		fs = append(fs, timeConfinedFact(o))
	} else {
		fs = append(fs, lessons.NSFact(o, "time", true, "unshare(CLONE_NEWTIME) left the agent in the host's time namespace"))
	}
	fs = append(fs, lessons.NewFact("…its time_for_children is a new one, the namespace its next children get",
		ex[timeForChildren] != "" && ex[timeForChildren] != o.Host.IDs["time"].Label("time") && ex[timeForChildren] != o.Sandbox.IDs["time"].Label("time") &&
			ex[timeForChildren] == o.Sandbox.IDs["time_for_children"].Label("time"),
		"host %s, agent's time_for_children %s (now %s)", o.Host.IDs["time"].Label("time"), ex[timeForChildren], o.Sandbox.IDs["time_for_children"].Label("time")))
	fs = append(fs, lessons.NewFact("the child the agent started afterwards is in that new namespace", ex[timeChildNS] != "" && ex[timeChildNS] == ex[timeForChildren],
		"child %s", ex[timeChildNS]))
	fs = append(fs, offsetFact(o, "CLOCK_MONOTONIC", timeChildMono, timeHostMonoLo, timeHostMonoHi, timeMono))
	fs = append(fs, offsetFact(o, "CLOCK_BOOTTIME", timeChildBoot, timeHostBootLo, timeHostBootHi, timeBoot))

	sc, hc := o.Sandbox.Clocks, o.Host.Clocks
	agentSame := sc != nil && hc != nil && absDur(sc.Monotonic-hc.Monotonic) < time.Minute && absDur(sc.Boottime-hc.Boottime) < time.Minute
	got := "clocks not observed"
	if sc != nil && hc != nil {
		got = fmt.Sprintf("agent monotonic %v, host %v", sc.Monotonic.Round(time.Millisecond), hc.Monotonic.Round(time.Millisecond))
	}
	fs = append(fs, lessons.NewFact("the agent itself still reads the host's clocks", agentSame, "%s", got))

	wantOffsets := fmt.Sprintf("monotonic %d 0; boottime %d 0", timeMono, timeBoot)
	offs := ""
	if sc != nil {
		offs = sc.Offsets
	}
	fs = append(fs, lessons.NewFact("the agent's /proc/PID/timens_offsets shows the offsets of its children's namespace, as last written before a process entered", offs == wantOffsets,
		"%q", offs))
	jlo, jhi, jok := timeJoinedShift(ex)
	fs = append(fs, lessons.NewFact("a process that joined the namespace with setns(2) (nsenter --time), not born in it, reads the shifted CLOCK_BOOTTIME too",
		jok && jlo-60 <= timeBoot && timeBoot <= jhi+60,
		"`%s`: uptime %s s, the host's %s…%s s", timeJoinCmd, lessons.OrNone(ex[timeJoinedUptime]), lessons.OrNone(ex[timeJoinedLo]), lessons.OrNone(ex[timeJoinedHi])))
	fs = append(fs, lessons.NewFact("once a process has entered, the kernel refuses new offsets with EACCES", ex[timeSecondErrno] == "EACCES",
		"writing \"boottime %d 0\" afterwards: %q", timeSecondOffset, ex[timeSecondErrno]))

	if ex[timeToolCmd] != "" {
		// /proc/uptime has a resolution of 10 ms.
		tool, e1 := strconv.ParseFloat(ex[timeToolUptime], 64)
		lo, e2 := strconv.ParseFloat(ex[timeUptimeLo], 64)
		hi, e3 := strconv.ParseFloat(ex[timeUptimeHi], 64)
		ok := strings.HasPrefix(ex[timeToolCmd], "unshare --time ") && e1 == nil && e2 == nil && e3 == nil && tool-hi-0.01 <= timeBoot && timeBoot <= tool-lo+0.01
		fs = append(fs, lessons.NewFact("util-linux unshare(1) does the same: its child's /proc/uptime is a week ahead", ok,
			"`%s` printed %s; the host's uptime was %s…%s", ex[timeToolCmd], ex[timeToolUptime], ex[timeUptimeLo], ex[timeUptimeHi]))
	}
	return fs
}

// timeConfinedFact replaces "left the agent in the host's time namespace"
// for a learner of a class (nslab serve): the server started the agent in
// a time namespace of its own (with no offsets), and unshare left it
// there.
func timeConfinedFact(o lessons.Observation) lessons.Fact {
	start, ok := lessons.ExtraID(o, timeStart)
	h, s, both := lessons.NSPair(o, "time")
	return lessons.NewFact("unshare(CLONE_NEWTIME) left the agent in the time namespace it started in: the class server's new one, not the host's",
		ok && both && s == start && start != h,
		"started in %s, now %s; host %s", start.Label("time"), s.Label("time"), h.Label("time"))
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func timeAnswer(o lessons.Observation) (int, string) {
	lo, hi, ok := timeJoinedShift(o.Extra)
	if !ok {
		return -1, "No process joined the namespace with setns here (is nsenter(1) installed?)."
	}
	why := fmt.Sprintf("`%s` read an uptime of %s s while the host's was %s…%s s", timeJoinCmd,
		o.Extra[timeJoinedUptime], o.Extra[timeJoinedLo], o.Extra[timeJoinedHi])
	const slack = 60 // seconds: the readings are moments apart
	switch {
	case lo-slack <= timeBoot && timeBoot <= hi+slack:
		return 1, why + ": a week ahead. Offsets belong to the namespace, and setns(2) into a time namespace moves the caller itself, so every member reads them, however it came in (time_namespaces(7))."
	case lo > -slack && hi < slack:
		return 0, why + ": the host's clock."
	}
	return 2, why + "."
}

// timeMember finds a process of the sandbox, other than the agent, that
// is in the agent's time_for_children namespace, and describes it. When
// there is none it says, in the learner's terms, where the likely attempts
// went: a sleep in a time namespace of its own (unshare --time made it),
// or one in the host's, where the learner's shell is.
func timeMember(ctx context.Context, r *lessons.Sandboxes) (string, bool) {
	snap, err := lessons.ObserveBox(ctx, r, sandbox.ViewPIDs)
	if err != nil {
		return "", false
	}
	ids, err := r.Box.IDs()
	if err != nil {
		return "", false
	}
	target, agentTime := ids["time_for_children"], ids["time"]
	// Where the shell is: the host's time namespace, or in a class the
	// one the server started the sandbox in.
	shellNS := "the host's time namespace"
	if r.Box.Confined()&sandbox.CloneNewTime != 0 {
		shellNS = "the time namespace the class server started the sandbox in (not the host's)"
	}
	var own, inHost []string
	for _, p := range snap.Procs {
		if p.HostPID == r.Box.PID() {
			continue
		}
		pids, err := sandbox.ReadIDs(p.HostPID)
		if err != nil {
			continue // exited meanwhile
		}
		switch pids["time"] {
		case target:
			offs, _ := os.ReadFile(fmt.Sprintf("/proc/%d/timens_offsets", p.HostPID))
			return fmt.Sprintf("PID %d (%s) lives in %s, with offsets %s", p.PID, p.Comm, target.Label("time"),
				strings.Join(strings.Fields(string(offs)), " ")), true
		case agentTime:
			if p.Comm != "sh" && p.Comm != "bash" && p.Comm != "zsh" && p.Comm != "dash" {
				inHost = append(inHost, fmt.Sprintf("PID %d (%s)", p.PID, p.Comm))
			}
		default:
			own = append(own, fmt.Sprintf("PID %d (%s) in %s", p.PID, p.Comm, pids["time"].Label("time")))
		}
	}
	switch {
	case len(own) > 0:
		return fmt.Sprintf("%s: that is a time namespace of its own, made afresh (with no offsets set), not the agent's time_for_children %s",
			strings.Join(own, ", "), target.Label("time")), false
	case len(inHost) > 0:
		return fmt.Sprintf("%s: in %s, where your shell is too, not in the agent's time_for_children %s",
			strings.Join(inHost, ", "), shellNS, target.Label("time")), false
	}
	return fmt.Sprintf("no process of the sandbox is in %s (the agent's time_for_children) right now; %d processes looked at",
		target.Label("time"), len(snap.Procs)), false
}

func timeCheck(ctx context.Context, r *lessons.Sandboxes) (bool, string, error) {
	if _, err := lessons.ObserveBox(ctx, r, sandbox.ViewIDs); err != nil {
		return false, "", err
	}
	detail, ok := timeMember(ctx, r)
	return ok, detail, nil
}

// timeSolve runs the solution, then waits (bounded) for the background
// nsenter to have joined the namespace: the shell returns as soon as it
// has forked it.
func timeSolve(ctx context.Context, r *lessons.Sandboxes) error {
	if err := lessons.RunSolution(ctx, r, r.Lesson.Challenge.Solution); err != nil {
		return err
	}
	var detail string
	err := lessons.WaitUntil(ctx, 3*time.Second, func() bool {
		var ok bool
		detail, ok = timeMember(ctx, r)
		return ok
	})
	if err != nil {
		return fmt.Errorf("the background sleep did not enter the time namespace: %s: %w", detail, err)
	}
	return nil
}
