package doctor

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// Report is the doctor's verdict: what `nslab doctor --json` prints, and
// what its text is made from.
type Report struct {
	OK      bool             `json:"ok"` // every lesson runs in some way, and no check failed as an error
	Summary string           `json:"summary"`
	Fixes   []string         `json:"fixes,omitempty"`
	Checks  []Check          `json:"checks"`
	Lessons []LessonAccess   `json:"lessons"`
	Machine *sandbox.Machine `json:"machine"`
}

// Diagnose turns the machine's facts into the doctor's verdict.
func Diagnose(m sandbox.Machine, ls []lessons.Lesson) Report {
	r := Report{Checks: Checks(m), Lessons: AssessAll(m, ls), Machine: &m}
	var blocked, needsRoot, runnable []string
	for _, la := range r.Lessons {
		switch la.Access {
		case AccessBlocked:
			blocked = append(blocked, la.ID)
		case AccessNeedsRoot:
			needsRoot = append(needsRoot, la.ID)
		default:
			runnable = append(runnable, la.ID)
		}
	}
	failed := FailedChecks(r.Checks, SeverityError)
	seen := map[string]bool{}
	for _, c := range failed {
		if c.Fix != "" && !seen[c.Fix] {
			seen[c.Fix] = true
			r.Fixes = append(r.Fixes, c.Fix)
		}
	}
	r.OK = len(blocked) == 0 && len(failed) == 0
	var s []string
	switch {
	case len(blocked) == 0 && len(needsRoot) == 0:
		s = append(s, fmt.Sprintf("All %d lessons can run here as %s.", len(ls), UserWord(m)))
	default:
		s = append(s, fmt.Sprintf("%d of %d lessons can run here as %s.", len(runnable), len(ls), UserWord(m)))
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

// UserWord names the caller: "root" or "uid 1000".
func UserWord(m sandbox.Machine) string {
	if m.EUID == 0 {
		return "root"
	}
	return fmt.Sprintf("uid %d", m.EUID)
}

// checkMark is ✓ for a passed check, ✗ for a failed error, ! for a failed
// warning or note.
func checkMark(c Check) string {
	switch {
	case c.OK:
		return "✓"
	case c.Severity == SeverityError:
		return "✗"
	}
	return "!"
}

func accessMark(la LessonAccess) string {
	switch la.Access {
	case AccessRoot, AccessRootless:
		return "✓"
	case AccessNeedsRoot:
		return "!"
	}
	return "✗"
}

func accessWords(la LessonAccess) string {
	switch la.Access {
	case AccessRoot:
		return "runnable as root"
	case AccessRootless:
		return "runnable rootless"
	case AccessNeedsRoot:
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

// WriteText prints the report as `nslab doctor` shows it: the checks, each
// failed one with its fix right under it, the lessons, the summary.
func (r Report) WriteText(w io.Writer) {
	m := r.Machine
	where := "not in a container"
	if m.Container.Inside {
		where = "inside " + m.Container.Engine
	}
	fmt.Fprintf(w, "nslab doctor: Linux %s, %s, %s\n\n", m.KernelRelease, UserWord(*m), where)
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
	fmt.Fprintf(w, "\nLessons, for %s:\n", UserWord(*m))
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
