// Package nesting is lesson 15, "Nesting: namespaces own namespaces": its
// Go logic. Its text and prompts are lesson.md and lesson.toml beside this
// file; package catalog registers Logic. It may import lessons and
// sandbox, never another lesson, catalog or ui.
package nesting

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// Keys of the values the lesson keeps (Sandboxes.Set during Perform, and
// its live Extra), and the names it uses.
const (
	nestingHostname = "nesting" // the sandbox's hostname, set by its root
	nestingTry      = "nested"  // the hostname the nested root tries to set

	nestingNestedPID  = "nesting.nested_pid"     // the nested process, as the sandbox numbers it
	nestingGrandPID   = "nesting.grandchild_pid" // its child in the nested PID namespace, likewise
	nestingNestedSet  = "nesting.nested_sethostname"
	nestingParentIn   = "nesting.parent_inside"    // NS_GET_PARENT of the nested user namespace, asked by the agent
	nestingOwnerIn    = "nesting.owner_uid_inside" // NS_GET_OWNER_UID of it, asked by the agent
	nestingPIDOwnerIn = "nesting.pid_owner_inside" // NS_GET_USERNS of the nested PID namespace
	nestingPIDParent  = "nesting.pid_parent_inside"
	nestingUTSOwnerIn = "nesting.uts_owner_inside" // NS_GET_USERNS of the sandbox's UTS namespace
	nestingSelfParent = "nesting.self_parent"      // NS_GET_PARENT of the agent's own user namespace: refused

	// Live, asked from the host (Extra).
	nestingNestedUser  = "nesting.nested_user"         // the nested process's user namespace
	nestingParentHost  = "nesting.parent_host"         // NS_GET_PARENT of it, from the host
	nestingSbParent    = "nesting.sandbox_parent_host" // NS_GET_PARENT of the sandbox's, from the host
	nestingOwnerHost   = "nesting.owner_uid_host"      // NS_GET_OWNER_UID of the nested one, from the host
	nestingOutsideUID  = "nesting.agent_outside_uid"   // the agent's effective uid as the host sees it
	nestingNestedComm  = "nslab-nested"                // the nested process's name in ps and pgrep
	nestingStatusField = "Uid:"
)

// Logic: a sandbox with its own user, PID, UTS and mount namespaces; a
// user namespace nested inside its user namespace, whose root is refused
// the sandbox's hostname; a PID namespace owned by the nested one; and
// the ownership asked of the kernel with ioctl_ns(2), from inside and from
// the host.
func Logic() lessons.Logic {
	return lessons.Logic{
		Spec: sandbox.Spec{Flags: sandbox.CloneNewPID | sandbox.CloneNewUTS | sandbox.CloneNewNS,
			Rootless: sandbox.RootlessAlways, MapRootToNobody: os.Geteuid() == 0, Label: "nesting"},
		Perform: nestingPerform,
		Views:   []sandbox.View{sandbox.ViewIDs, sandbox.ViewTree, sandbox.ViewPIDs, sandbox.ViewUTS},
		Extra:   nestingExtra,
		Facts:   nestingFacts,
		Answer:  nestingAnswer,
		Check:   nestingCheck,
		Solve:   nestingSolve,
	}
}

// nestingSolve runs the solution lines, then waits (bounded) until the
// process they leave in the background has made its user namespace: the
// line returns as soon as the job is started.
func nestingSolve(ctx context.Context, r *lessons.Sandboxes) error {
	if err := lessons.RunSolution(ctx, r, r.Lesson.Challenge.Solution); err != nil {
		return err
	}
	return lessons.WaitUntil(ctx, 5*time.Second, func() bool {
		ok, _, err := nestingCheck(ctx, r)
		return err == nil && ok
	})
}

func nestingPerform(ctx context.Context, r *lessons.Sandboxes) error {
	sb := r.Box
	// A /proc of the sandbox's own: the agent names processes by the
	// sandbox's PIDs, and so does the learner's shell.
	if err := sb.Mount(ctx, "proc", "/proc"); err != nil {
		return err
	}
	if err := sb.SetHostname(ctx, nestingHostname); err != nil {
		return err
	}
	from := len(sb.Events(0))
	n, g, err := sb.Nested(ctx, nestingTry)
	if err != nil {
		return err
	}
	r.Set(nestingNestedPID, strconv.Itoa(n))
	r.Set(nestingGrandPID, strconv.Itoa(g))
	for _, e := range sb.Events(from) {
		if e.Syscall == "sethostname" {
			r.Set(nestingNestedSet, lessons.Outcome("set", errnoOf(e)))
		}
	}
	asks := []struct {
		key  string
		pid  int
		kind string
		req  sandbox.NSRequest
	}{
		{nestingParentIn, n, "user", sandbox.NSGetParent},
		{nestingOwnerIn, n, "user", sandbox.NSGetOwnerUID},
		{nestingPIDOwnerIn, g, "pid", sandbox.NSGetUserNS},
		{nestingPIDParent, g, "pid", sandbox.NSGetParent},
		{nestingUTSOwnerIn, 0, "uts", sandbox.NSGetUserNS},
		{nestingSelfParent, 0, "user", sandbox.NSGetParent},
	}
	for _, a := range asks {
		got, err := sb.NSIoctl(ctx, a.pid, a.kind, a.req)
		var se *sandbox.SyscallError
		switch {
		case err == nil:
			r.Set(a.key, got)
		case errors.As(err, &se):
			// A refusal is an answer: kept, shown by the facts.
			r.Set(a.key, se.Errno)
		default:
			return err
		}
	}
	return nil
}

// errnoOf is the error a traced event carries (nil when it succeeded).
func errnoOf(e sandbox.Event) error {
	if e.Errno == "" {
		return nil
	}
	return &sandbox.SyscallError{Op: e.Syscall, Errno: e.Errno, Err: errors.New(e.Errno)}
}

// nestedHostPID finds the host PID of the nested process from the PID the
// sandbox gave it.
func nestedHostPID(r *lessons.Sandboxes, key string) (int, error) {
	n, ok := lessons.PositiveInt(r.Get(key))
	if !ok || r.Box == nil {
		return 0, lessons.ErrNotPerformed
	}
	procs, err := sandbox.ObserveProcsAt(fmt.Sprintf("/proc/%d/ns/pid", r.Box.PID()))
	if err != nil {
		return 0, err
	}
	p, ok := lessons.ProcByPID(procs, n)
	if !ok {
		return 0, fmt.Errorf("process %d of the sandbox is gone", n)
	}
	return p.HostPID, nil
}

func nestingExtra(_ context.Context, r *lessons.Sandboxes) (map[string]string, error) {
	h, err := nestedHostPID(r, nestingNestedPID)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	up := fmt.Sprintf("/proc/%d/ns/user", h)
	ids, err := sandbox.ReadIDs(h)
	if err != nil {
		return nil, fmt.Errorf("the nested process: %w", err)
	}
	out[nestingNestedUser] = ids["user"].Label("user")
	if p, err := sandbox.NSRelative(up, sandbox.NSGetParent); err == nil {
		out[nestingParentHost] = p.Label("user")
	}
	if p, err := sandbox.NSRelative(fmt.Sprintf("/proc/%d/ns/user", r.Box.PID()), sandbox.NSGetParent); err == nil {
		out[nestingSbParent] = p.Label("user")
	}
	if uid, err := sandbox.NSOwnerUID(up); err == nil {
		out[nestingOwnerHost] = strconv.Itoa(uid)
	}
	if uid, err := effectiveUID(r.Box.PID()); err == nil {
		out[nestingOutsideUID] = strconv.Itoa(uid)
	}
	return out, nil
}

// effectiveUID reads a process's effective uid as the host sees it.
func effectiveUID(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, nestingStatusField); ok {
			f := strings.Fields(v)
			if len(f) >= 2 {
				return strconv.Atoi(f[1])
			}
		}
	}
	return 0, fmt.Errorf("no %s line in /proc/%d/status", nestingStatusField, pid)
}

// label is the sandbox's namespace of kind, as readlink shows it ("" when
// unknown).
func label(ids sandbox.IDs, kind string) string {
	if ids[kind].IsZero() {
		return ""
	}
	return ids[kind].Label(kind)
}

func nestingFacts(o lessons.Observation) []lessons.Fact {
	var fs []lessons.Fact
	x := o.Extra
	host, sbUser, sbPID := label(o.Host.IDs, "user"), label(o.Sandbox.IDs, "user"), label(o.Sandbox.IDs, "pid")
	nested := x[nestingNestedUser]
	isUser := func(s string) bool { return lessons.IsNSLabel(s, "user") }

	fs = append(fs, lessons.NewFact("the sandbox's user namespace is a child of the host's (NS_GET_PARENT, asked from the host)",
		isUser(x[nestingSbParent]) && host != "" && x[nestingSbParent] == host && sbUser != host,
		"parent of %s: %s", lessons.OrNone(sbUser), lessons.OrNone(x[nestingSbParent])))

	fs = append(fs, lessons.NewFact("the nested user namespace's parent is the sandbox's: the agent and the host get the same answer",
		isUser(nested) && nested != sbUser && nested != host && sbUser != "" && x[nestingParentIn] == sbUser && x[nestingParentHost] == sbUser,
		"parent of %s: %s inside, %s from the host", lessons.OrNone(nested), lessons.OrNone(x[nestingParentIn]), lessons.OrNone(x[nestingParentHost])))

	ownerHost, okHost := uidValue(x[nestingOwnerHost])
	outside, okOut := uidValue(x[nestingOutsideUID])
	fs = append(fs, lessons.NewFact("inside, NS_GET_OWNER_UID says the sandbox's uid 0 created the nested user namespace",
		x[nestingOwnerIn] == "0", "owner uid inside: %s", lessons.OrNone(x[nestingOwnerIn])))
	fs = append(fs, lessons.NewFact("from the host, the same owner is the uid the sandbox's root has outside",
		okHost && okOut && ownerHost == outside && x[nestingOwnerIn] == "0" && outside != 0,
		"owner uid from the host: %s; the agent's uid outside: %s", lessons.OrNone(x[nestingOwnerHost]), lessons.OrNone(x[nestingOutsideUID])))

	fs = append(fs, lessons.NewFact("root of the nested user namespace, with every capability there, may not rename the sandbox's UTS namespace: EPERM",
		x[nestingNestedSet] == "EPERM" && o.Sandbox.Hostname == nestingHostname && o.Host.Hostname != nestingHostname,
		"sethostname(%q) by the nested root: %s; the sandbox's hostname: %s", nestingTry, lessons.OrNone(x[nestingNestedSet]), lessons.OrNone(o.Sandbox.Hostname)))

	fs = append(fs, lessons.NewFact("the sandbox's UTS namespace is owned by the sandbox's user namespace, the nested one's parent (NS_GET_USERNS)",
		sbUser != "" && sbUser != host && x[nestingUTSOwnerIn] == sbUser,
		"owner of %s: %s", lessons.OrNone(label(o.Sandbox.IDs, "uts")), lessons.OrNone(x[nestingUTSOwnerIn])))

	fs = append(fs, lessons.NewFact("the nested PID namespace is owned by the nested user namespace, and its parent is the sandbox's (NS_GET_USERNS, NS_GET_PARENT)",
		isUser(nested) && x[nestingPIDOwnerIn] == nested && sbPID != "" && sbPID != label(o.Host.IDs, "pid") && x[nestingPIDParent] == sbPID,
		"owner %s, parent %s", lessons.OrNone(x[nestingPIDOwnerIn]), lessons.OrNone(x[nestingPIDParent])))

	g, okG := lessons.PositiveInt(x[nestingGrandPID])
	gp, found := lessons.ProcByPID(o.Sandbox.Procs, g)
	fs = append(fs, lessons.NewFact("the grandchild has three PIDs, one per PID namespace: host, sandbox, its own 1 (NSpid)",
		okG && found && len(gp.NSpid) == 3 && gp.NSpid[0] == gp.HostPID && gp.NSpid[1] == g && gp.NSpid[2] == 1,
		"NSpid %v", gp.NSpid))

	fs = append(fs, lessons.NewFact("from inside, the agent may not ask for its own user namespace's parent: EPERM",
		x[nestingSelfParent] == "EPERM" && isUser(x[nestingSbParent]),
		"NS_GET_PARENT of its own user namespace: %s", lessons.OrNone(x[nestingSelfParent])))
	return fs
}

// uidValue parses a uid kept as text.
func uidValue(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}

func nestingAnswer(o lessons.Observation) (int, string) {
	owner, okOwner := uidValue(o.Extra[nestingOwnerHost])
	outside, okOut := uidValue(o.Extra[nestingOutsideUID])
	switch {
	case okOwner && okOut && owner == outside && owner != 0:
		return 1, fmt.Sprintf("%d: the creator was the sandbox's uid 0, which is uid %d on the host. The kernel keeps the creator's real uid and shows it as the asker's user namespace maps it: 0 to the agent inside, %d to the host.", owner, outside, owner)
	case okOwner && owner == 0:
		return 0, "0: the creator's uid 0 inside is uid 0 outside too."
	default:
		return 2, "The host got no answer."
	}
}

// nestingCheck looks, from the host, at every process of the sandbox's
// PID namespace for one in a user namespace whose parent (NS_GET_PARENT)
// is the nested one.
func nestingCheck(_ context.Context, r *lessons.Sandboxes) (bool, string, error) {
	h, err := nestedHostPID(r, nestingNestedPID)
	if err != nil {
		return false, "", err
	}
	ids, err := sandbox.ReadIDs(h)
	if err != nil {
		return false, "", fmt.Errorf("the nested process: %w", err)
	}
	nested := ids["user"]
	own, err := sandbox.ReadIDs(r.Box.PID())
	if err != nil {
		return false, "", fmt.Errorf("the sandbox: %w", err)
	}
	procs, err := sandbox.ObserveProcsAt(fmt.Sprintf("/proc/%d/ns/pid", r.Box.PID()))
	if err != nil {
		return false, "", err
	}
	joined, sibling, deeper := "", "", ""
	for _, p := range procs {
		if p.HostPID == h {
			continue
		}
		path := fmt.Sprintf("/proc/%d/ns/user", p.HostPID)
		pids, err := sandbox.ReadIDs(p.HostPID)
		if err != nil {
			continue // gone meanwhile
		}
		who := fmt.Sprintf("pid %d (%s)", p.PID, p.Comm)
		switch pids["user"] {
		case own["user"]:
			continue
		case nested:
			if p.Comm != "nslab-idle" {
				joined = who
			}
			continue
		}
		up, err := sandbox.NSAncestors(path)
		if err != nil {
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
				continue // gone meanwhile
			}
			return false, "", err
		}
		switch {
		case len(up) > 0 && up[0] == nested:
			return true, fmt.Sprintf("%s runs in %s, whose parent is the nested %s", who, pids["user"].Label("user"), nested.Label("user")), nil
		case len(up) > 0 && up[0] == own["user"]:
			sibling = who
		case slices.Contains(up, nested):
			deeper = who
		}
	}
	switch {
	case deeper != "":
		return false, deeper + " runs in a user namespace further down: its parent is itself below the nested one. Make it one level higher", nil
	case joined != "":
		return false, joined + " joined the nested user namespace and runs in it, but nothing runs in a new user namespace below it yet", nil
	case sibling != "":
		return false, "the user namespace of " + sibling + " hangs directly below the sandbox's own, beside the nested one, not inside it", nil
	}
	return false, "every process of the sandbox runs in the sandbox's user namespace or the nested one: none in a user namespace below the nested one yet (and it must keep running)", nil
}
