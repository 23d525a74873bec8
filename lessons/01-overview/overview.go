// Package overview is lesson 1, "Namespaces: what a process can see": its Go logic.
// Its text and prompts are lesson.md and lesson.toml beside this file;
// package catalog registers Logic. It may import lessons and sandbox,
// never another lesson, catalog or ui.
package overview

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// overviewFlags are the kinds the overview's child asks clone(2) for. Not
// user (it would change what "root" means, a lesson of its own) and not
// time (Linux 5.6+ only): the child keeps those two, which is the point of
// the "shares what it did not ask for" fact.
const overviewFlags = sandbox.CloneNewUTS | sandbox.CloneNewIPC | sandbox.CloneNewNS |
	sandbox.CloneNewNet | sandbox.CloneNewPID | sandbox.CloneNewCgroup

// Keys of the overview's Extra.
const (
	overviewPlain      = "plain.ns."     // + kind: the flagless child's identities (not "plain.": "plain.pid" is the child's PID)
	overviewNslabPID   = "nslab.pid"     // this process
	overviewBoxPPID    = "box.ppid"      // the flagged child's parent, as the host sees it
	overviewPlainPPID  = "plain.ppid"    // the flagless child's parent
	overviewPlainPID   = "plain.pid"     // the flagless child
	overviewBoxFlags   = "box.flags"     // the flags the flagged child was cloned with
	overviewHostName   = "host.hostname" // the host's hostname before the lesson
	overviewPlainFlags = "plain.flags"   // the flags the flagless child was cloned with
	overviewBoxPID     = "box.pid"       // the flagged child
	// In a class: the flagless child is the agent's, numbered as the
	// sandbox numbers processes, and so is the agent.
	overviewAgentInner = "box.inner_pid" // the agent's PID in its own PID namespace
)

// Logic is the lesson's Go side, for the registry in package catalog.
func Logic() lessons.Logic {
	return lessons.Logic{
		Spec: sandbox.Spec{Flags: overviewFlags, Label: "overview"},
		Perform: func(ctx context.Context, r *lessons.Sandboxes) error {
			r.Set(overviewHostName, r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewUTS}).Hostname)
			if lessons.KeepConfinedStart(r, r.Box) {
				return overviewConfinedPlain(ctx, r)
			}
			plain, err := r.StartOther(ctx, sandbox.Spec{Flags: 0, Rootless: sandbox.RootlessNever, Label: "overview-plain"})
			if err != nil {
				return fmt.Errorf("start the flagless child: %w", err)
			}
			r.Set(overviewPlainPID, strconv.Itoa(plain.PID()))
			r.Set(overviewPlainFlags, sandbox.FlagString(plain.Flags()))
			return nil
		},
		Extra: func(ctx context.Context, r *lessons.Sandboxes) (map[string]string, error) {
			ex := map[string]string{
				overviewNslabPID: strconv.Itoa(os.Getpid()),
				overviewBoxPID:   strconv.Itoa(r.Box.PID()),
				// What the lesson asked for: in a class the server adds
				// the rest (Confined), and a fact says so.
				overviewBoxFlags: sandbox.FlagString(r.Box.Flags() &^ r.Box.Confined()),
			}
			if r.Engine.Confined() {
				// The flagless child was kept by Perform: it has exited.
				ppid, err := lessons.ParentPID(r.Box.PID())
				if err != nil {
					return nil, err
				}
				ex[overviewBoxPPID] = strconv.Itoa(ppid)
				return ex, nil
			}
			others := r.Others()
			if len(others) == 0 {
				return nil, fmt.Errorf("the flagless child is missing: %w", lessons.ErrNotPerformed)
			}
			plain := others[0]
			ids, err := plain.IDs()
			if err != nil {
				return nil, fmt.Errorf("identities of the flagless child: %w", err)
			}
			lessons.PutIDs(ex, overviewPlain, ids)
			for key, pid := range map[string]int{overviewBoxPPID: r.Box.PID(), overviewPlainPPID: plain.PID()} {
				ppid, err := lessons.ParentPID(pid)
				if err != nil {
					return nil, err
				}
				ex[key] = strconv.Itoa(ppid)
			}
			return ex, nil
		},
		Views: []sandbox.View{sandbox.ViewIDs, sandbox.ViewUTS},
		Facts: overviewFacts,
		Answer: func(o lessons.Observation) (int, string) {
			var diff, total []string
			parent, whose := o.Host.IDs, "nslab's"
			if lessons.IsConfined(o) {
				parent, whose = o.Sandbox.IDs, "its parent's, the sandbox's agent (in a class the server starts every process of yours in new namespaces, so the agent made this clone)"
			}
			for _, k := range sandbox.Kinds() {
				p, ok := lessons.ExtraID(o, overviewPlain+k.ProcName)
				h, hok := parent[k.ProcName]
				if !ok || !hok {
					continue
				}
				total = append(total, k.ProcName)
				if p != h {
					diff = append(diff, k.ProcName)
				}
			}
			switch {
			case len(total) > 0 && len(diff) == 0:
				return 0, fmt.Sprintf("all %d identities of the flagless child (PID %s) equal %s: clone() without CLONE_NEW* flags shares them all", len(total), o.Extra[overviewPlainPID], whose)
			case len(diff) == len(total):
				return 1, fmt.Sprintf("every identity differs (%s)", strings.Join(diff, ", "))
			default:
				return 2, fmt.Sprintf("these differ: %s", strings.Join(diff, ", "))
			}
		},
		Check: func(ctx context.Context, r *lessons.Sandboxes) (bool, string, error) {
			sb, err := lessons.ObserveBox(ctx, r, sandbox.ViewIDs, sandbox.ViewUTS)
			if err != nil {
				return false, "", err
			}
			host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewUTS})
			uts := sb.IDs["uts"]
			want := strconv.FormatUint(uts.Ino, 10)
			switch {
			case uts.IsZero():
				return false, "the sandbox's uts identity could not be read", nil
			case host.Hostname != r.Get(overviewHostName):
				return false, fmt.Sprintf("the HOST's hostname changed from %q to %q", r.Get(overviewHostName), host.Hostname), nil
			case sb.Hostname != want:
				// The value itself is the challenge: say what it must be, not what.
				return false, fmt.Sprintf("the sandbox's hostname is %q, which is not the inode number of its uts namespace (readlink /proc/self/ns/uts shows it inside)", sb.Hostname), nil
			}
			return true, fmt.Sprintf("the sandbox is called %q, the inode of %s; the host is still %q", sb.Hostname, uts.Label("uts"), host.Hostname), nil
		},
	}
}

// overviewConfinedPlain is the flagless clone in a class. The server
// starts every process of a learner in new namespaces of every kind, so a
// flagless child of nslab's would tell nothing: the sandbox's agent clones
// it instead (a child that observes itself and exits), and the facts
// compare it with the agent, its parent.
func overviewConfinedPlain(ctx context.Context, r *lessons.Sandboxes) error {
	mark := len(r.Box.Events(0))
	child, err := r.Box.ObserveChild(ctx, []sandbox.View{sandbox.ViewIDs})
	if err != nil {
		return fmt.Errorf("the agent's flagless child: %w", err)
	}
	// Its flags and its parent, as the trace recorded the clone that
	// returned its PID: the caller is the parent.
	flags, parent := "", 0
	for _, e := range r.Box.Events(mark) {
		if strings.HasPrefix(e.Syscall, "clone") && e.Ret == int64(child.PID) {
			f, err := newFlagsIn(e.Args)
			if err != nil {
				return err
			}
			flags, parent = sandbox.FlagString(f), e.PID
			if e.NSPID != 0 {
				parent = e.NSPID // numbered in the sandbox, as the child is
			}
		}
	}
	if flags == "" {
		return fmt.Errorf("the clone of the agent's flagless child (PID %d) is not in the trace: %w", child.PID, sandbox.ErrAgent)
	}
	r.Set(overviewPlainPID, strconv.Itoa(child.PID))
	r.Set(overviewPlainPPID, strconv.Itoa(parent))
	r.Set(overviewPlainFlags, flags)
	r.Set(overviewAgentInner, strconv.Itoa(r.Box.InnerPID()))
	ids := map[string]string{}
	lessons.PutIDs(ids, overviewPlain, child.IDs)
	for k, v := range ids {
		r.Set(k, v)
	}
	return nil
}

// newFlagsIn reads the CLONE_NEW* flags out of a traced clone's
// arguments.
func newFlagsIn(args []string) (uintptr, error) {
	var names []string
	for _, a := range args {
		for _, w := range strings.FieldsFunc(a, func(c rune) bool { return c != '_' && (c < 'A' || c > 'Z') }) {
			if strings.HasPrefix(w, "CLONE_NEW") {
				names = append(names, w)
			}
		}
	}
	return sandbox.ParseFlags(strings.Join(names, "|"))
}

func overviewFacts(o lessons.Observation) []lessons.Fact {
	var fs []lessons.Fact
	// In a class the flagless child is the agent's (overviewConfinedPlain).
	_, confined := lessons.ConfinedKinds(o)
	parent, parentName := o.Host.IDs, "its parent"
	if lessons.IsConfined(o) {
		parent, parentName = o.Sandbox.IDs, "its parent, the sandbox's agent"
		if !confined {
			parent = nil // the class server's list is not what it kept
		}
	}

	// /proc/self/ns has one entry per kind.
	var have []string
	for _, k := range sandbox.Kinds() {
		if _, ok := o.Host.IDs[k.ProcName]; ok {
			have = append(have, k.ProcName)
		}
	}
	core := []string{"uts", "ipc", "mnt", "net", "pid", "user", "cgroup"}
	missing := 0
	for _, c := range core {
		if _, ok := o.Host.IDs[c]; !ok {
			missing++
		}
	}
	fs = append(fs, lessons.NewFact("/proc/self/ns holds one link per namespace kind the process is in", missing == 0 && len(have) >= len(core),
		"%s", strings.Join(have, " ")))

	// A flagless clone shares every namespace.
	var same, diff []string
	for _, k := range have {
		p, ok := lessons.ExtraID(o, overviewPlain+k)
		if !ok {
			diff = append(diff, k+" (unread)")
			continue
		}
		if p == parent[k] {
			same = append(same, k)
		} else {
			diff = append(diff, k)
		}
	}
	plainText := "A child cloned with no CLONE_NEW* flag (flags " + o.Extra[overviewPlainFlags] + ") shares every namespace with " + parentName
	if o.Extra[overviewPlainFlags] != sandbox.FlagString(0) {
		fs = append(fs, lessons.NewFact(plainText, false, "the child's flags are %q, not none", o.Extra[overviewPlainFlags]))
	} else if len(diff) == 0 && len(same) > 0 {
		fs = append(fs, lessons.NewFact(plainText, true, "all %d identities equal", len(same)))
	} else {
		fs = append(fs, lessons.NewFact(plainText, false, "different: %s", strings.Join(diff, ", ")))
	}

	// The flagged child gets a new namespace of each kind asked for.
	flags, err := sandbox.ParseFlags(o.Extra[overviewBoxFlags])
	if err != nil || flags == 0 {
		fs = append(fs, lessons.NewFact("The child cloned with CLONE_NEW* flags is in new namespaces", false, "flags unknown: %q", o.Extra[overviewBoxFlags]))
		return fs
	}
	var asked, newOnes, notNew []string
	for _, k := range sandbox.KindsIn(flags) {
		asked = append(asked, k.ProcName)
		if lessons.DifferentNS(o, k.ProcName) {
			newOnes = append(newOnes, o.Sandbox.IDs[k.ProcName].Label(k.ProcName))
		} else {
			notNew = append(notNew, k.ProcName)
		}
	}
	flagText := "The child cloned with " + o.Extra[overviewBoxFlags] + " is in a new namespace of each kind asked for"
	if len(notNew) == 0 && len(newOnes) > 0 {
		fs = append(fs, lessons.NewFact(flagText, true, "%s", strings.Join(newOnes, " ")))
	} else {
		fs = append(fs, lessons.NewFact(flagText, false, "still the parent's: %s", strings.Join(notNew, ", ")))
	}
	if lessons.IsConfined(o) {
		fs = append(fs, lessons.ConfinedFacts(o, "…and it is still in the namespaces it started in: those it asked for, and those the class server added")...)
	} else {
		fs = append(fs, lessons.SharedExcept(o, "…and it stays in its parent's namespace of every kind it did not ask for", asked...))
	}

	// An identity is device + inode: every namespace file is on the one
	// nsfs device, the inode tells namespaces apart.
	devs := map[uint64]bool{}
	for _, ids := range []sandbox.IDs{o.Host.IDs, o.Sandbox.IDs} {
		for _, id := range ids {
			devs[id.Dev] = true
		}
	}
	h, s, ok := lessons.NSPair(o, "uts")
	fs = append(fs, lessons.NewFact("An identity is a device and an inode: every namespace file is on the same nsfs device, and the inode tells two namespaces apart",
		ok && len(devs) == 1 && h.Dev == s.Dev && h.Ino != s.Ino,
		"%d device(s); uts inodes host %d, sandbox %d", len(devs), h.Ino, s.Ino))

	// clone() makes a new process, a child of nslab. Every value must be
	// a PID: a namespace id in their place once passed (finding 9).
	pids := map[string]int{}
	var bad []string
	for _, k := range []string{overviewNslabPID, overviewBoxPID, overviewPlainPID, overviewBoxPPID, overviewPlainPPID} {
		n, err := strconv.Atoi(o.Extra[k])
		if err != nil || n <= 0 {
			bad = append(bad, fmt.Sprintf("%s %q", k, o.Extra[k]))
			continue
		}
		pids[k] = n
	}
	cloneText := "clone() creates a new process: both children have their own PID, and nslab is their parent"
	if lessons.IsConfined(o) {
		return append(fs, overviewConfinedClone(o, confined))
	}
	if len(bad) > 0 {
		fs = append(fs, lessons.NewFact(cloneText, false, "not a PID: %s", strings.Join(bad, ", ")))
		return fs
	}
	nslab, box, plain := pids[overviewNslabPID], pids[overviewBoxPID], pids[overviewPlainPID]
	fs = append(fs, lessons.NewFact(cloneText,
		pids[overviewBoxPPID] == nslab && pids[overviewPlainPPID] == nslab && box != nslab && plain != nslab && box != plain,
		"nslab %d; children %d and %d, parents %d and %d", nslab, box, plain, pids[overviewBoxPPID], pids[overviewPlainPPID]))
	return fs
}

// overviewConfinedClone is the clone fact in a class: the flagged child
// is nslab's (the class server's), the flagless one the agent's, and each
// has a PID of its own; valid is whether the class server's list was kept.
func overviewConfinedClone(o lessons.Observation, valid bool) lessons.Fact {
	num := func(k string) int {
		n, _ := lessons.PositiveInt(o.Extra[k])
		return n
	}
	nslab, box, boxParent := num(overviewNslabPID), num(overviewBoxPID), num(overviewBoxPPID)
	agent, plain, plainParent := num(overviewAgentInner), num(overviewPlainPID), num(overviewPlainPPID)
	return lessons.NewFact("clone() creates a new process: the flagged child is nslab's, the flagless one the sandbox's agent's, each with a PID of its own",
		valid && nslab > 0 && box > 0 && agent > 0 && plain > 0 && boxParent == nslab && box != nslab && plainParent == agent && plain != agent,
		"nslab %d: child %d (parent %d); in the sandbox, the agent %d: child %d (parent %d)", nslab, box, boxParent, agent, plain, plainParent)
}
