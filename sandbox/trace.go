package sandbox

import (
	"fmt"
	"strings"
	"time"
)

// Event is one namespace-relevant syscall that nslab (or one of its agents)
// performed, with what the kernel answered.
type Event struct {
	Seq     int       `json:"seq"`
	Time    time.Time `json:"time"`
	Syscall string    `json:"syscall"` // "unshare", "clone3", "setns", "write" ...
	Args    []string  `json:"args"`    // symbolic arguments, rendered
	Ret     int64     `json:"ret"`     // return value; -1 on error
	Errno   string    `json:"errno,omitempty"`
	PID     int       `json:"pid"` // host PID of the caller
	TID     int       `json:"tid"`
	// Learner marks a call made by the learner's shell or a process it
	// started (package shelltrace), not by nslab. For those, NSPID and
	// NSTID are the caller's pid and tid in its own PID namespace when
	// they differ from the host's, and Comm is its command name.
	Learner bool   `json:"learner,omitempty"`
	NSPID   int    `json:"nspid,omitempty"`
	NSTID   int    `json:"nstid,omitempty"`
	Comm    string `json:"comm,omitempty"`
	// Kind, Before, After: the namespace the call was about, and the
	// caller's identity for it before and after, when it changes one.
	Kind   string `json:"kind,omitempty"`
	Before NSID   `json:"before,omitempty"`
	After  NSID   `json:"after,omitempty"`
	Note   string `json:"note,omitempty"` // one short explanation for learners
}

// String renders the event like strace: `unshare(CLONE_NEWUTS) = 0`,
// `setns(7, CLONE_NEWNET) = -1 EINVAL (Invalid argument)`.
func (e Event) String() string {
	var b strings.Builder
	b.WriteString(e.Syscall)
	b.WriteByte('(')
	b.WriteString(strings.Join(e.Args, ", "))
	b.WriteString(") = ")
	if e.Errno != "" {
		fmt.Fprintf(&b, "-1 %s", e.Errno)
		if d := ErrnoDescription(e.Errno); d != "" {
			fmt.Fprintf(&b, " (%s)", d)
		}
	} else {
		fmt.Fprintf(&b, "%d", e.Ret)
	}
	return b.String()
}

// Detail renders the identity change of the event, if any:
// "uts:[4026531838] → uts:[4026532201]".
func (e Event) Detail() string {
	if e.Kind == "" || (e.Before.IsZero() && e.After.IsZero()) {
		return ""
	}
	if e.Before == e.After {
		return e.Before.Label(e.Kind) + " (unchanged)"
	}
	if e.After.IsZero() {
		// pid_for_children after unshare(CLONE_NEWPID): the new namespace
		// has no member yet, and the kernel shows nothing until it has.
		return e.Before.Label(e.Kind) + " → " + e.Kind + ": new, empty until the first child enters"
	}
	return e.Before.Label(e.Kind) + " → " + e.After.Label(e.Kind)
}
