// Package pid is lesson 3, "PID namespaces: PID 1 again": its Go logic.
// Its text and prompts are lesson.md and lesson.toml beside this file;
// package catalog registers Logic. It may import lessons and sandbox,
// never another lesson, catalog or ui.
package pid

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/sys/mountinfo"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// Keys of the pid lesson's Extra.
const (
	pidInner        = "inner.pid"         // getpid() inside the agent
	pidHost         = "host.pid"          // the agent's PID on the host
	pidBoxStart     = "box.start"         // the agent's start time (clock ticks since boot)
	pidHostInit     = "host.pid1.start"   // the start time of the host's PID 1
	pidBeforePID1   = "proc.before.pid1"  // start time of PID 1 in the /proc the sandbox inherited
	pidBeforeCount  = "proc.before.count" // processes listed in the inherited /proc
	pidOrphanChild  = "orphan.child"      // inner PID of the child that exited
	pidOrphanGrand  = "orphan.grandchild" // inner PID of the orphan
	pidDoomedBefore = "doomed.before"     // processes in the second namespace while its PID 1 lived
	pidDoomedAfter  = "doomed.after"      // processes in it after its PID 1 was killed
	pidDoomedNS     = "doomed.pidns"
	pidHostProcMnts = "host.proc.mounts" // mounts at /proc on the host before the lesson
	pidKillOne      = "kill1.status"     // what `kill -KILL 1` from inside printed ("sent" when kill(2) returned 0)
	pidKillAlive    = "kill1.alive"      // the agent's start time after it, "" when it was gone
	pidKillCmd      = "kill -KILL 1 && echo sent"
)

// pidDoomedChildren is how many idle processes the second sandbox's PID 1
// starts before it is killed.
const pidDoomedChildren = 3

// Logic is the lesson's Go side, for the registry in package catalog.
func Logic() lessons.Logic {
	return lessons.Logic{
		Spec: sandbox.Spec{Flags: sandbox.CloneNewPID | sandbox.CloneNewNS, Label: "pid"},
		Perform: func(ctx context.Context, r *lessons.Sandboxes) error {
			host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewMount})
			r.Set(pidHostProcMnts, strconv.Itoa(lessons.MountCount(host.Mounts, "/proc")))

			// What the inherited /proc shows, read through the agent's
			// root: the lookup walks the agent's own mount table.
			root := fmt.Sprintf("/proc/%d/root/proc", r.Box.PID())
			n, err := pidCountDirs(root)
			if err != nil {
				return err
			}
			r.Set(pidBeforeCount, strconv.Itoa(n))
			if st, err := pidStartTime(root + "/1/stat"); err == nil {
				r.Set(pidBeforePID1, st)
			}

			pids, err := r.Box.Orphan(ctx)
			if err != nil {
				return fmt.Errorf("make an orphan: %w", err)
			}
			if len(pids) == 2 {
				r.Set(pidOrphanChild, strconv.Itoa(pids[0]))
				r.Set(pidOrphanGrand, strconv.Itoa(pids[1]))
				if err := pidAwaitOrphan(ctx, r, pids[0]); err != nil {
					return err
				}
			}
			if err := pidKillInit(ctx, r); err != nil {
				return err
			}
			return pidDoomed(ctx, r)
		},
		Extra: func(_ context.Context, r *lessons.Sandboxes) (map[string]string, error) {
			ex := map[string]string{
				pidInner: strconv.Itoa(r.Box.InnerPID()),
				pidHost:  strconv.Itoa(r.Box.PID()),
			}
			var err error
			if ex[pidBoxStart], err = pidStartTime(fmt.Sprintf("/proc/%d/stat", r.Box.PID())); err != nil {
				return nil, err
			}
			if ex[pidHostInit], err = pidStartTime("/proc/1/stat"); err != nil {
				return nil, err
			}
			return ex, nil
		},
		Views:  []sandbox.View{sandbox.ViewIDs, sandbox.ViewPIDs, sandbox.ViewMount},
		Facts:  pidFacts,
		Answer: pidAnswer,
		Check:  pidCheck,
	}
}

// pidAwaitOrphan waits (bounded) until the orphan's parent, the child, has
// exited and been reaped: Orphan returns as soon as both are started, and
// the child's exit, like the re-parenting, happens on its own time.
func pidAwaitOrphan(ctx context.Context, r *lessons.Sandboxes, child int) error {
	ids, err := r.Box.IDs()
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; {
		ps, err := sandbox.ObserveProcs(ids["pid"])
		if err != nil {
			return err
		}
		if _, ok := lessons.ProcByPID(ps, child); !ok {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil // the fact will say the child is still there
}

// pidKillInit has a process inside the sandbox send SIGKILL to PID 1, the
// agent, from the shell nslab offers (its process is inside the PID
// namespace): the kernel drops a signal to a namespace's init from its
// own members unless init handles it, and SIGKILL cannot be handled, so
// the agent lives on. The outcome is kept, not returned.
func pidKillInit(ctx context.Context, r *lessons.Sandboxes) error {
	out, err := lessons.Shell(ctx, r.Box, pidKillCmd)
	if errors.Is(err, sandbox.ErrNoEnter) {
		return nil // no way in: the prediction has no answer here
	}
	r.Set(pidKillOne, lessons.Outcome(strings.TrimSpace(out), err))
	// A SIGKILL that got through would end the agent at once; give it a
	// moment to show.
	time.Sleep(200 * time.Millisecond)
	if st, err := pidStartTime(fmt.Sprintf("/proc/%d/stat", r.Box.PID())); err == nil {
		r.Set(pidKillAlive, st)
	}
	return nil
}

// pidDoomed starts a second PID namespace, gives its PID 1 idle children,
// kills only PID 1 and counts what is left.
func pidDoomed(ctx context.Context, r *lessons.Sandboxes) error {
	doomed, err := r.StartOther(ctx, sandbox.Spec{Flags: sandbox.CloneNewPID, Label: "pid-doomed"})
	if err != nil {
		return fmt.Errorf("start a second PID namespace: %w", err)
	}
	if _, err := doomed.Spawn(ctx, pidDoomedChildren); err != nil {
		return fmt.Errorf("spawn in the second PID namespace: %w", err)
	}
	ids, err := doomed.IDs()
	if err != nil {
		return err
	}
	pidns := ids["pid"]
	r.Set(pidDoomedNS, pidns.Label("pid"))
	before, err := sandbox.ObserveProcs(pidns)
	if err != nil {
		return err
	}
	r.Set(pidDoomedBefore, strconv.Itoa(len(before)))
	// Only PID 1 is killed, by its host PID: the kernel does the rest.
	if err := syscall.Kill(doomed.PID(), syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill the second namespace's PID 1: %w", err)
	}
	var after []sandbox.Proc
	for deadline := time.Now().Add(3 * time.Second); ; {
		after, err = sandbox.ObserveProcs(pidns)
		if err != nil || len(after) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.Set(pidDoomedAfter, strconv.Itoa(len(after)))
	// Reap it; the engine's error for an agent that died is expected here.
	if err := doomed.Close(); err != nil && !errors.Is(err, sandbox.ErrAgent) {
		return err
	}
	return nil
}

func pidAnswer(o lessons.Observation) (int, string) {
	sent, alive := o.Extra[pidKillOne], o.Extra[pidKillAlive]
	switch {
	case sent == "":
		return -1, "no process inside sent the signal"
	case lessons.OutcomeFailed(sent):
		return 2, "`" + pidKillCmd + "` inside failed: " + sent
	case alive != "" && alive == o.Extra[pidBoxStart]:
		return 1, fmt.Sprintf("kill(1, SIGKILL) inside returned 0 (%s), and the agent, host PID %s, still runs with the same start time: "+
			"the kernel drops a signal to a PID namespace's init from its own members unless init has a handler for it, and SIGKILL can have none (pid_namespaces(7))",
			sent, o.Extra[pidHost])
	}
	return 0, "the agent was gone after kill -KILL 1 from inside"
}

func pidCheck(ctx context.Context, r *lessons.Sandboxes) (bool, string, error) {
	// The sandbox's mounts are read from the host, /proc/AGENT/mountinfo:
	// the agent reads its own through /proc/self, which a proc of another
	// PID namespace (a plausible wrong attempt) does not have.
	f, err := os.Open(fmt.Sprintf("/proc/%d/mountinfo", r.Box.PID()))
	if err != nil {
		return false, "", fmt.Errorf("read the sandbox's mounts: %w", err)
	}
	infos, err := mountinfo.GetMountsFromReader(f, func(in *mountinfo.Info) (skip, stop bool) { return in.Mountpoint != "/proc", false })
	f.Close()
	if err != nil {
		return false, "", fmt.Errorf("read the sandbox's mounts: %w", err)
	}
	var sb sandbox.Snapshot
	for _, in := range infos {
		sb.Mounts = append(sb.Mounts, sandbox.Mount{ID: in.ID, Parent: in.Parent, Mountpoint: in.Mountpoint, FSType: in.FSType, Source: in.Source})
	}
	host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewMount})
	if n := strconv.Itoa(lessons.MountCount(host.Mounts, "/proc")); n != r.Get(pidHostProcMnts) {
		return false, fmt.Sprintf("the HOST's /proc changed: %s mounts there, was %s", n, r.Get(pidHostProcMnts)), nil
	}
	top, ok := lessons.MountAt(sb.Mounts, "/proc")
	if !ok || top.FSType != "proc" {
		return false, "the sandbox has no proc mounted at /proc", nil
	}
	// /proc/1 in the sandbox's /proc must be the agent itself.
	root := fmt.Sprintf("/proc/%d/root/proc", r.Box.PID())
	n, err := pidCountDirs(root)
	if err != nil {
		return false, "", err
	}
	one, err1 := pidStartTime(root + "/1/stat")
	if errors.Is(err1, fs.ErrNotExist) {
		// A proc of another PID namespace, whose init is gone (unshare
		// --pid --fork mount -t proc ...): it lists no PID 1 at all.
		return false, fmt.Sprintf("/proc inside lists %d processes and no PID 1, so PID 1 is not the agent: it is the proc of another PID namespace, not the sandbox's", n), nil
	}
	agent, err2 := pidStartTime(fmt.Sprintf("/proc/%d/stat", r.Box.PID()))
	if err := errors.Join(err1, err2); err != nil {
		return false, "", err
	}
	if one != agent {
		return false, fmt.Sprintf("/proc inside lists %d processes and its PID 1 is not the agent: it is still the host's PID namespace", n), nil
	}
	return true, fmt.Sprintf("/proc inside is a fresh proc (mount %d): it lists %d processes and PID 1 is the agent", top.ID, n), nil
}

func pidFacts(o lessons.Observation) []lessons.Fact {
	var fs []lessons.Fact
	fs = append(fs, lessons.NewFact("`kill -KILL 1` from inside was delivered to no one: kill(2) returned 0 and the agent, PID 1, lives on",
		lessons.OutcomeOK(o.Extra[pidKillOne]) && o.Extra[pidKillAlive] != "" && o.Extra[pidKillAlive] == o.Extra[pidBoxStart],
		"%s; the agent's start time after it %s, now %s", lessons.OrNone(o.Extra[pidKillOne]), lessons.OrNone(o.Extra[pidKillAlive]), lessons.OrNone(o.Extra[pidBoxStart])))
	fs = append(fs, lessons.NSFact(o, "pid", false, "The agent is in a new PID namespace"))
	fs = append(fs, lessons.NewFact("The agent is PID 1 to itself: getpid() inside returns 1", o.Extra[pidInner] == "1", "getpid() = %s", o.Extra[pidInner]))

	hostPID, _ := strconv.Atoi(o.Extra[pidHost])
	agent, found := lessons.ProcByHostPID(o.Sandbox.Procs, hostPID)
	fs = append(fs, lessons.NewFact("…and another PID on the host: its NSpid line lists both numbers, outermost first",
		found && hostPID != 1 && len(agent.NSpid) >= 2 && agent.NSpid[0] == hostPID && agent.NSpid[len(agent.NSpid)-1] == 1,
		"NSpid: %s", pidJoinInts(agent.NSpid)))
	fs = append(fs, lessons.NewFact("Its parent lives outside the namespace, so inside its PPID reads 0",
		found && agent.PPID == 0, "PPID %d", agent.PPID))

	missing := 0
	for _, p := range o.Sandbox.Procs {
		if _, ok := lessons.ProcByHostPID(o.Host.Procs, p.HostPID); !ok {
			missing++
		}
	}
	fs = append(fs, lessons.NewFact("The sandbox sees only its own processes; the host sees those too, under other numbers",
		len(o.Sandbox.Procs) > 0 && missing == 0 && len(o.Host.Procs) > len(o.Sandbox.Procs),
		"sandbox %d processes, host %d", len(o.Sandbox.Procs), len(o.Host.Procs)))

	grand, _ := strconv.Atoi(o.Extra[pidOrphanGrand])
	child, childOK := lessons.PositiveInt(o.Extra[pidOrphanChild])
	g, gok := lessons.ProcByPID(o.Sandbox.Procs, grand)
	_, cok := lessons.ProcByPID(o.Sandbox.Procs, child)
	fs = append(fs, lessons.NewFact("An orphan whose parent was inside is re-parented to the init of its parent's PID namespace, the sandbox's PID 1",
		grand > 1 && gok && childOK && child > 1 && child != grand && !cok && g.PPID == 1,
		"child %d exited; grandchild %d has PPID %d", child, grand, g.PPID))

	beforeCount, beforeCountOK := lessons.PositiveInt(o.Extra[pidBeforeCount])
	fs = append(fs, lessons.NewFact("Until a fresh proc is mounted, /proc inside still lists the host's PID namespace: its PID 1 is the host's init",
		o.Extra[pidBeforePID1] != "" && o.Extra[pidBeforePID1] == o.Extra[pidHostInit] && o.Extra[pidBeforePID1] != o.Extra[pidBoxStart] && beforeCountOK && beforeCount > 1,
		"%s processes listed; its PID 1 started at tick %s, the host's init at %s", o.Extra[pidBeforeCount], o.Extra[pidBeforePID1], o.Extra[pidHostInit]))

	before, _ := strconv.Atoi(o.Extra[pidDoomedBefore])
	fs = append(fs, lessons.NewFact("When PID 1 of a namespace dies, the kernel kills every other process in it",
		before > 1 && o.Extra[pidDoomedAfter] == "0" && lessons.IsNSLabel(o.Extra[pidDoomedNS], "pid") && o.Extra[pidDoomedNS] != o.Sandbox.IDs["pid"].Label("pid"),
		"%s: %d processes while PID 1 lived, %s after it was killed", o.Extra[pidDoomedNS], before, o.Extra[pidDoomedAfter]))
	return fs
}

// pidCountDirs counts the numeric entries of a proc mount.
func pidCountDirs(dir string) (int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("list %s: %w", dir, err)
	}
	n := 0
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err == nil {
			n++
		}
	}
	return n, nil
}

// pidStartTime reads field 22 of a /proc/PID/stat file: when the process
// started, in clock ticks since boot. It tells two processes apart even
// when two proc mounts give them the same number.
func pidStartTime(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	// After the comm: state is field 3, so starttime (22) is f[19].
	if len(f) < 20 {
		return "", fmt.Errorf("%s: %w", path, sandbox.ErrParse)
	}
	return f[19], nil
}

func pidJoinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, " ")
}
