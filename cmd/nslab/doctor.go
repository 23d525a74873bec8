package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// How a lesson can run on this machine, for the user running nslab now.
const (
	accessRoot      = "root"       // runs now, with the caller's privileges
	accessRootless  = "rootless"   // runs now, unprivileged, through a user namespace
	accessNeedsRoot = "needs-root" // not for this user, but root could run it here
	accessBlocked   = "blocked"    // not on this machine, not even as root, until fixed
)

// lessonAccess is one lesson's line in the doctor and its lock in the TUI.
type lessonAccess struct {
	ID       string   `json:"id"`
	Number   int      `json:"number"`
	Title    string   `json:"title"`
	Kinds    []string `json:"kinds"`
	Flags    string   `json:"flags"`
	Rootless bool     `json:"rootless"` // the lesson works rootless where the kernel allows it
	Access   string   `json:"access"`   // accessRoot ...
	Why      string   `json:"why,omitempty"`
}

// runnable: the lesson can run now, as this user.
func (la lessonAccess) runnable() bool {
	return la.Access == accessRoot || la.Access == accessRootless
}

// lessonFlags are the namespace kinds a lesson creates or joins: its
// sandbox's clone flags and the kinds its metadata names (the unshare and
// setns lessons start a plain agent and create the rest later).
func lessonFlags(l lessons.Lesson) uintptr {
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
func rootCouldCreate(m sandbox.Machine, flags uintptr) bool {
	if m.Container.Inside || (m.Baseline.Tried && !m.Baseline.OK) {
		return false
	}
	for _, k := range sandbox.KindsIn(flags) {
		if v, ok := m.Sysctls[sandbox.SysctlMaxFor(k.Name)]; ok && v == 0 {
			return false
		}
		if k.MinKernel != "" && !m.Kernel.IsZero() {
			if v, err := sandbox.ParseKernelRelease(k.MinKernel); err == nil && !m.Kernel.AtLeast(v.Major, v.Minor) {
				return false
			}
		}
	}
	return true
}

// rootlessProbesOK reports whether every kind in flags was created
// through a new user namespace by the probe.
func rootlessProbesOK(m sandbox.Machine, flags uintptr) bool {
	for _, k := range sandbox.KindsIn(flags) {
		p, ok := m.Probe(k.Name)
		if !ok {
			return false
		}
		if k.Flag == sandbox.CloneNewUser {
			if !p.Direct.OK {
				return false
			}
			continue
		}
		if !p.Rootless.OK {
			return false
		}
	}
	return true
}

// assessLesson decides how lesson l can run on machine m.
func assessLesson(m sandbox.Machine, l lessons.Lesson) lessonAccess {
	flags := lessonFlags(l)
	la := lessonAccess{
		ID: l.ID, Number: l.Number, Title: l.Title, Kinds: l.Kinds,
		Flags: sandbox.FlagString(flags), Rootless: l.Rootless,
	}
	ok, rootless, why := m.CanCreate(flags)
	isRoot := m.EUID == 0
	switch {
	case ok && !rootless:
		la.Access = accessRoot
		if l.Rootless && rootlessProbesOK(m, flags) {
			la.Why = "rootless too"
		}
	case ok && isRoot:
		// Only a user namespace works, but nslab as root creates
		// namespaces directly (the engine adds a user namespace only for
		// other users), so root without the capabilities is blocked.
		la.Access = accessBlocked
		fix := "run nslab from a root shell that keeps every capability (`sudo -i`, then `nslab`)"
		if m.Container.Inside {
			fix = m.ContainerFix()
		}
		la.Why = fmt.Sprintf("root here cannot create namespaces directly (it lacks CAP_SYS_ADMIN, or something refuses clone); %s", fix)
	case ok && l.Rootless:
		la.Access = accessRootless
	case ok:
		la.Access = accessNeedsRoot
		la.Why = fmt.Sprintf("it %s, which a user namespace cannot give; run `sudo nslab run %s`", lessonNeedsWhat(l), l.ID)
	case !isRoot && rootCouldCreate(m, flags):
		la.Access = accessNeedsRoot
		la.Why = strings.TrimSuffix(why, ".") + fmt.Sprintf(" (`sudo nslab run %s`)", l.ID)
	default:
		la.Access = accessBlocked
		la.Why = why
	}
	return la
}

// lessonNeedsWhat says, for a lesson that cannot go rootless, what it
// does that needs the host's root.
func lessonNeedsWhat(l lessons.Lesson) string {
	if slices.Contains(l.Syscalls, "setns") {
		return "joins namespaces that the host's user namespace owns with setns(2) (CAP_SYS_ADMIN there)"
	}
	if lessonFlags(l)&sandbox.CloneNewNet != 0 {
		return "connects its network namespace to the host with a veth pair (CAP_NET_ADMIN in the host's network namespace)"
	}
	return "changes what only the host's root may change (CAP_SYS_ADMIN in the host's namespaces)"
}

// assessLessons assesses every lesson, in curriculum order.
func assessLessons(m sandbox.Machine, ls []lessons.Lesson) []lessonAccess {
	out := make([]lessonAccess, 0, len(ls))
	for _, l := range ls {
		out = append(out, assessLesson(m, l))
	}
	return out
}

// lessonLocks maps every lesson the current user cannot run on this
// machine to the reason, with what to do. The TUI locks those; the doctor
// prints the same reasons.
func lessonLocks(m sandbox.Machine, ls []lessons.Lesson) map[string]string {
	locks := map[string]string{}
	for _, la := range assessLessons(m, ls) {
		if !la.runnable() {
			locks[la.ID] = la.Why
		}
	}
	return locks
}

// doctorReport is what `nslab doctor --json` prints.
type doctorReport struct {
	OK       bool             `json:"ok"`
	ExitCode int              `json:"exit_code"`
	Summary  string           `json:"summary"`
	Fixes    []string         `json:"fixes,omitempty"`
	Checks   []sandbox.Check  `json:"checks"`
	Lessons  []lessonAccess   `json:"lessons"`
	Machine  *sandbox.Machine `json:"machine"`
}

// diagnose turns the machine's facts into the doctor's verdict. It is
// pure, so fixture machines test it.
func diagnose(m sandbox.Machine, ls []lessons.Lesson) doctorReport {
	r := doctorReport{Checks: m.Checks(), Lessons: assessLessons(m, ls), Machine: &m}
	var blocked, needsRoot, runnable []string
	for _, la := range r.Lessons {
		switch la.Access {
		case accessBlocked:
			blocked = append(blocked, la.ID)
		case accessNeedsRoot:
			needsRoot = append(needsRoot, la.ID)
		default:
			runnable = append(runnable, la.ID)
		}
	}
	failed := sandbox.FailedChecks(r.Checks, sandbox.SeverityError)
	seen := map[string]bool{}
	for _, c := range failed {
		if c.Fix != "" && !seen[c.Fix] {
			seen[c.Fix] = true
			r.Fixes = append(r.Fixes, c.Fix)
		}
	}
	r.OK = len(blocked) == 0 && len(failed) == 0
	r.ExitCode = exitOK
	if !r.OK {
		r.ExitCode = exitMachine
	}
	var s []string
	switch {
	case len(blocked) == 0 && len(needsRoot) == 0:
		s = append(s, fmt.Sprintf("All %d lessons can run here as %s.", len(ls), userWord(m)))
	default:
		s = append(s, fmt.Sprintf("%d of %d lessons can run here as %s.", len(runnable), len(ls), userWord(m)))
	}
	if len(needsRoot) > 0 {
		s = append(s, fmt.Sprintf("With sudo: %s.", strings.Join(needsRoot, ", ")))
	}
	if len(blocked) > 0 {
		s = append(s, fmt.Sprintf("Blocked on this machine: %s.", strings.Join(blocked, ", ")))
	}
	if len(failed) > 0 {
		var names []string
		for _, c := range failed {
			names = append(names, c.Title)
		}
		s = append(s, "Must be fixed: "+strings.Join(names, "; ")+".")
	}
	r.Summary = strings.Join(s, " ")
	return r
}

func userWord(m sandbox.Machine) string {
	if m.EUID == 0 {
		return "root"
	}
	return fmt.Sprintf("uid %d", m.EUID)
}

func (a *app) doctorCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check what this machine can run, and how to fix the rest",
		Long: `doctor checks by doing: for every namespace kind a throwaway child tries
clone(2) with that flag, directly and inside a new user namespace. It then
reads the capabilities, sysctls, container, seccomp and AppArmor state, mount
propagation, kernel version and cgroup layout, and says per lesson whether it
runs as root, rootless, or is blocked, and why. Every ✗ comes with its fix.

It exits 0 when every lesson can run on this machine in some way (as root,
or rootless), 3 when something that matters is missing.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.doctor(cmd.Context(), asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	return cmd
}

func (a *app) doctor(ctx context.Context, asJSON bool) error {
	ls, err := allLessons()
	if err != nil {
		return err
	}
	m := sandbox.ProbeMachine(ctx)
	r := diagnose(m, ls)
	if asJSON {
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return withCode(exitInternal, fmt.Errorf("write the report: %w", err))
		}
	} else {
		printDoctor(a.out, r)
	}
	if r.ExitCode != exitOK {
		return withCode(r.ExitCode, errSilent)
	}
	return nil
}

// checkMark is ✓ for a passed check, ✗ for a failed error, ! for a failed
// warning or note.
func checkMark(c sandbox.Check) string {
	switch {
	case c.OK:
		return "✓"
	case c.Severity == sandbox.SeverityError:
		return "✗"
	}
	return "!"
}

func accessMark(la lessonAccess) string {
	switch la.Access {
	case accessRoot, accessRootless:
		return "✓"
	case accessNeedsRoot:
		return "!"
	}
	return "✗"
}

func accessWords(la lessonAccess) string {
	switch la.Access {
	case accessRoot:
		return "runnable as root"
	case accessRootless:
		return "runnable rootless"
	case accessNeedsRoot:
		return "needs root"
	}
	return "blocked"
}

func padRight(s string, n int) string {
	if w := utf8.RuneCountInString(s); w < n {
		return s + strings.Repeat(" ", n-w)
	}
	return s
}

func printDoctor(w io.Writer, r doctorReport) {
	m := r.Machine
	where := "not in a container"
	if m.Container.Inside {
		where = "inside " + m.Container.Engine
	}
	fmt.Fprintf(w, "nslab doctor: Linux %s, %s, %s\n\n", m.KernelRelease, userWord(*m), where)
	tw := 0
	for _, c := range r.Checks {
		tw = max(tw, utf8.RuneCountInString(c.Title))
	}
	tw = min(tw, 50)
	for _, c := range r.Checks {
		fmt.Fprintf(w, "%s %s  %s\n", checkMark(c), padRight(c.Title, tw), c.Detail)
		if !c.OK && c.Fix != "" {
			fmt.Fprintf(w, "    fix: %s\n", c.Fix)
		}
	}
	fmt.Fprintf(w, "\nLessons, for %s:\n", userWord(*m))
	iw := 0
	for _, la := range r.Lessons {
		iw = max(iw, len(la.ID))
	}
	for _, la := range r.Lessons {
		fmt.Fprintf(w, "%s %02d %s  %s", accessMark(la), la.Number, padRight(la.ID, iw), accessWords(la))
		if la.Why != "" {
			fmt.Fprintf(w, ": %s", la.Why)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\n%s\n", r.Summary)
	for _, f := range r.Fixes {
		fmt.Fprintf(w, "  fix: %s\n", f)
	}
	for _, p := range m.Problems {
		fmt.Fprintf(w, "  (could not check: %s)\n", p)
	}
}
