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
	TID     int       `json:"tid"` // host tid of the calling thread: gettid() as the host sees it
	// NSPID is the caller's PID in its own PID namespace, where it differs
	// from PID (the agent that is PID 1 of a new namespace).
	NSPID int `json:"nspid,omitempty"`
	// Learner marks a call made by the learner's shell or a process it
	// started (package shelltrace), not by nslab. For those, NSTID is the
	// caller's tid in its own PID namespace when it differs from the
	// host's, and Comm is its command name.
	Learner bool   `json:"learner,omitempty"`
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

// Who names the calling process unambiguously: "[pid 12345]", or
// "[pid 12345 (1 in sandbox)]" for a process whose own PID namespace
// numbers it differently.
func (e Event) Who() string {
	if e.NSPID != 0 && e.NSPID != e.PID {
		return fmt.Sprintf("[pid %d (%d in sandbox)]", e.PID, e.NSPID)
	}
	return fmt.Sprintf("[pid %d]", e.PID)
}
