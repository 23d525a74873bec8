package doctor

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// How a lesson can run on this machine, for the user running nslab now.
const (
	AccessRoot      = "root"       // runs now, with the caller's privileges
	AccessRootless  = "rootless"   // runs now, unprivileged, through a user namespace
	AccessNeedsRoot = "needs-root" // not for this user, but root could run it here
	AccessBlocked   = "blocked"    // not on this machine, not even as root, until fixed
)

// LessonAccess is one lesson's line in the doctor and its lock in the TUI.
type LessonAccess struct {
	ID       string   `json:"id"`
	Number   int      `json:"number"`
	Title    string   `json:"title"`
	Kinds    []string `json:"kinds"`
	Flags    string   `json:"flags"`
	Rootless bool     `json:"rootless"` // the lesson works rootless where the kernel allows it
	Access   string   `json:"access"`   // AccessRoot ...
	Why      string   `json:"why,omitempty"`
}

// Runnable reports whether the lesson can run now, as this user.
func (la LessonAccess) Runnable() bool {
	return la.Access == AccessRoot || la.Access == AccessRootless
}

// LessonFlags are the namespace kinds a lesson creates or joins: its
// sandbox's clone flags and the kinds its metadata names (the unshare and
// setns lessons start a plain agent and create the rest later).
func LessonFlags(l lessons.Lesson) uintptr {
	f := l.Logic.Spec.Flags
	if k, err := sandbox.ParseFlags(strings.Join(l.Kinds, ",")); err == nil {
		f |= k
	}
	return f
}

// rootCouldCreate reports whether root on this machine could create the
// kinds in flags: nothing but privilege stands in the way (no container,
// no per-kind limit of 0, a kernel new enough, a binary that re-executes).
// A non-root caller cannot try it, so this is judged from the facts.
func (f facts) rootCouldCreate(flags uintptr) bool {
	if f.Container.Inside || (f.Baseline.Tried && !f.Baseline.OK) {
		return false
	}
	for _, k := range sandbox.KindsIn(flags) {
		if f.sysctlIs(sandbox.SysctlMaxFor(k.Name), 0) || f.kernelBelow(k.MinKernel) {
			return false
		}
	}
	return true
}

// rootlessProbesOK reports whether every kind in flags was created
// through a new user namespace by the probe.
func (f facts) rootlessProbesOK(flags uintptr) bool {
	for _, k := range sandbox.KindsIn(flags) {
		p, ok := f.Probe(k.Name)
		switch {
		case !ok:
			return false
		case k.Flag == sandbox.CloneNewUser:
			if !p.Direct.OK {
				return false
			}
		case !p.Rootless.OK:
			return false
		}
	}
	return true
}

// Assess decides how lesson l can run on machine m.
func Assess(m sandbox.Machine, l lessons.Lesson) LessonAccess {
	f := facts{m}
	flags := LessonFlags(l)
	la := LessonAccess{
		ID: l.ID, Number: l.Number, Title: l.Title, Kinds: l.Kinds,
		Flags: sandbox.FlagString(flags), Rootless: l.Rootless,
	}
	ok, rootless, why := CanCreate(m, flags)
	switch {
	case ok && !rootless:
		la.Access = AccessRoot
		if l.Rootless && f.rootlessProbesOK(flags) {
			la.Why = "rootless too"
		}
	case ok && f.isRoot():
		// Only a user namespace works, but nslab as root creates
		// namespaces directly (the engine adds a user namespace only for
		// other users), so root without the capabilities is blocked.
		la.Access = AccessBlocked
		fix := fixKeepCaps
		if f.Container.Inside {
			fix = ContainerFix(m)
		}
		la.Why = fmt.Sprintf("root here cannot create namespaces directly (it lacks CAP_SYS_ADMIN, or something refuses clone); %s", fix)
	case ok && l.Rootless:
		la.Access = AccessRootless
	case ok:
		la.Access = AccessNeedsRoot
		la.Why = fmt.Sprintf("it %s, which a user namespace cannot give; "+fixSudoRun, needsWhat(l), l.ID)
	case !f.isRoot() && f.rootCouldCreate(flags):
		la.Access = AccessNeedsRoot
		la.Why = strings.TrimSuffix(why, ".") + " (" + fmt.Sprintf(fixSudoRun, l.ID) + ")"
	default:
		la.Access = AccessBlocked
		la.Why = why
	}
	return la
}

// needsWhat says, for a lesson that cannot go rootless, what it does that
// needs the host's root.
func needsWhat(l lessons.Lesson) string {
	if slices.Contains(l.Syscalls, "setns") {
		return "joins namespaces that the host's user namespace owns with setns(2) (CAP_SYS_ADMIN there)"
	}
	if LessonFlags(l)&sandbox.CloneNewNet != 0 {
		return "connects its network namespace to the host with a veth pair (CAP_NET_ADMIN in the host's network namespace)"
	}
	return "changes what only the host's root may change (CAP_SYS_ADMIN in the host's namespaces)"
}

// AssessAll assesses every lesson, in curriculum order.
func AssessAll(m sandbox.Machine, ls []lessons.Lesson) []LessonAccess {
	out := make([]LessonAccess, 0, len(ls))
	for _, l := range ls {
		out = append(out, Assess(m, l))
	}
	return out
}

// Locks maps every lesson the current user cannot run on this machine to
// the reason, with what to do. The TUI locks those; the doctor prints the
// same reasons.
func Locks(m sandbox.Machine, ls []lessons.Lesson) map[string]string {
	locks := map[string]string{}
	for _, la := range AssessAll(m, ls) {
		if !la.Runnable() {
			locks[la.ID] = la.Why
		}
	}
	return locks
}

// MissingCaps names the capabilities lesson l uses that this process
// lacks in its effective set; nil when the set is unknown.
func MissingCaps(m sandbox.Machine, l lessons.Lesson) []string {
	f := facts{m}
	if !f.CapsKnown {
		return nil
	}
	need := []string{"CAP_SYS_ADMIN"}
	if LessonFlags(l)&sandbox.CloneNewNet != 0 {
		need = append(need, "CAP_NET_ADMIN")
	}
	if slices.Contains(l.Syscalls, "setns") {
		// A lesson that joins namespaces opens other processes' /proc/PID/ns.
		need = append(need, "CAP_SYS_PTRACE")
	}
	var out []string
	for _, c := range need {
		if !f.has(c) {
			out = append(out, c)
		}
	}
	return out
}
