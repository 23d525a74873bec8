package lessons

// Helpers shared by every lesson's logic: facts derived from observations,
// lookups in snapshots, and running the learner's own shell commands inside
// a sandbox (so a reference solution does exactly what the Solution text
// tells the learner to type). Their API is stable: other lesson authors
// code against it.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/sys/mountinfo"

	"github.com/nslab/nslab/sandbox"
)

// ErrShell wraps a shell command inside a sandbox that exited non-zero or
// timed out; the error text carries its output.
var ErrShell = errors.New("command inside the sandbox failed")

// NewFact builds a Fact; got is formatted with args like fmt.Sprintf.
func NewFact(text string, ok bool, got string, args ...any) Fact {
	if len(args) > 0 {
		got = fmt.Sprintf(got, args...)
	}
	return Fact{Text: text, OK: ok, Got: got}
}

// NSPair returns both sides' identity of a namespace kind ("uts",
// "pid_for_children" ...); known is false when either side lacks it.
func NSPair(o Observation, kind string) (host, sb sandbox.NSID, known bool) {
	host, hok := o.Host.IDs[kind]
	sb, sok := o.Sandbox.IDs[kind]
	return host, sb, hok && sok && !host.IsZero() && !sb.IsZero()
}

// SameNS reports whether host and sandbox are in the same namespace of
// kind. Unknown identities count as not the same (and not different: use
// NSFact, which says so).
func SameNS(o Observation, kind string) bool {
	h, s, ok := NSPair(o, kind)
	return ok && h == s
}

// DifferentNS reports whether both identities are known and differ.
func DifferentNS(o Observation, kind string) bool {
	h, s, ok := NSPair(o, kind)
	return ok && h != s
}

// NSFact states that the sandbox is (wantSame) or is not in the host's
// namespace of kind, checked on the identities. Got shows both.
func NSFact(o Observation, kind string, wantSame bool, text string) Fact {
	h, s, ok := NSPair(o, kind)
	if !ok {
		return NewFact(text, false, "%s identity not observed on both sides", kind)
	}
	return NewFact(text, (h == s) == wantSame, "host %s, sandbox %s", h.Label(kind), s.Label(kind))
}

// SharedExcept states that every namespace kind in the table other than
// except is shared with the host (pid_for_children and time_for_children
// are not looked at). Got lists the kinds compared, or the ones that differ.
func SharedExcept(o Observation, text string, except ...string) Fact {
	skip := map[string]bool{}
	for _, e := range except {
		skip[e] = true
	}
	var same, diff []string
	for _, k := range sandbox.Kinds() {
		if skip[k.Name] || skip[k.ProcName] {
			continue
		}
		h, s, ok := NSPair(o, k.ProcName)
		if !ok {
			continue // a kind this kernel lacks
		}
		if h == s {
			same = append(same, k.ProcName)
		} else {
			diff = append(diff, k.ProcName)
		}
	}
	if len(diff) > 0 {
		return NewFact(text, false, "different: %s", strings.Join(diff, ", "))
	}
	if len(same) == 0 {
		return NewFact(text, false, "no namespace identity observed")
	}
	return NewFact(text, true, "same: %s", strings.Join(same, ", "))
}

// DifferentKinds lists the kinds (table order, /proc names) whose identity
// differs between host and sandbox.
func DifferentKinds(o Observation) []string {
	var out []string
	for _, k := range sandbox.Kinds() {
		if DifferentNS(o, k.ProcName) {
			out = append(out, k.ProcName)
		}
	}
	return out
}

// ProcByHostPID finds the process with that host PID.
func ProcByHostPID(ps []sandbox.Proc, hostPID int) (sandbox.Proc, bool) {
	for _, p := range ps {
		if p.HostPID == hostPID {
			return p, true
		}
	}
	return sandbox.Proc{}, false
}

// ProcByPID finds the process with that PID as the side sees it.
func ProcByPID(ps []sandbox.Proc, pid int) (sandbox.Proc, bool) {
	for _, p := range ps {
		if p.PID == pid {
			return p, true
		}
	}
	return sandbox.Proc{}, false
}

// MountAt returns the topmost mount at path (the last one in mountinfo
// order, which is the one a lookup of path finds).
func MountAt(ms []sandbox.Mount, path string) (sandbox.Mount, bool) {
	var m sandbox.Mount
	found := false
	for _, x := range ms {
		if x.Mountpoint == path {
			m, found = x, true
		}
	}
	return m, found
}

// AllOK reports whether every fact is OK (and there is at least one).
func AllOK(fs []Fact) bool {
	for _, f := range fs {
		if !f.OK {
			return false
		}
	}
	return len(fs) > 0
}

// shellTimeout bounds a shell command when the context has no deadline.
const shellTimeout = 10 * time.Second

// Shell runs script with /bin/sh -c inside every namespace of box, the way
// the learner's shell would, and returns its combined output. A non-zero
// exit or a timeout is an error wrapping ErrShell. It is bounded by ctx
// (10 s when ctx has no deadline); on timeout the whole process group is
// killed.
func Shell(ctx context.Context, box *sandbox.Sandbox, script string) (string, error) {
	if box == nil {
		return "", fmt.Errorf("shell: %w", ErrNotPerformed)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, shellTimeout)
		defer cancel()
	}
	cmd, err := box.ShellCommand("/bin/sh", "-c", script)
	if err != nil {
		return "", fmt.Errorf("shell %q: %w", script, err)
	}
	var out bytes.Buffer
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group, so a timeout kills the command and anything
	// it started, not just the entering process.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("shell %q: %w", script, err)
	}
	if err := WaitOrKillGroup(ctx, cmd); ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return out.String(), fmt.Errorf("shell %q: %w: %w", script, ErrShell, err)
	} else if err != nil {
		return out.String(), fmt.Errorf("shell %q: %w: %w: %s", script, ErrShell, err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// WaitOrKillGroup waits for cmd, started as the leader of its own process
// group, to exit; when ctx ends first it kills the whole group (the
// command and anything it started) and returns ctx.Err().
func WaitOrKillGroup(ctx context.Context, cmd *exec.Cmd) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return ctx.Err()
	}
}

// RunSolution runs every line of a challenge's Solution in the lesson
// sandbox's shell, in order, stopping at the first failure. Lines starting
// with '#' are comments.
func RunSolution(ctx context.Context, r *Sandboxes, lines []string) error {
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if _, err := Shell(ctx, r.Box, l); err != nil {
			return err
		}
	}
	return nil
}

// ObserveBox takes a fresh snapshot of what the lesson's sandbox sees, for
// challenge checks.
func ObserveBox(ctx context.Context, r *Sandboxes, views ...sandbox.View) (sandbox.Snapshot, error) {
	if r.Box == nil {
		return sandbox.Snapshot{}, fmt.Errorf("observe: %w", ErrNotPerformed)
	}
	return r.Box.Observe(ctx, views)
}

// PutIDs stores namespace identities in an Extra map under prefix+kind
// ("plain.uts"), in a form ExtraID reads back.
func PutIDs(extra map[string]string, prefix string, ids sandbox.IDs) {
	for k, id := range ids {
		extra[prefix+k] = fmt.Sprintf("%d:%d", id.Dev, id.Ino)
	}
}

// ExtraID reads an identity stored with PutIDs.
func ExtraID(o Observation, key string) (sandbox.NSID, bool) {
	var id sandbox.NSID
	v, ok := o.Extra[key]
	if !ok {
		return id, false
	}
	if _, err := fmt.Sscanf(v, "%d:%d", &id.Dev, &id.Ino); err != nil {
		return sandbox.NSID{}, false
	}
	return id, !id.IsZero()
}

// ParentPID reads a process's parent PID from the host's /proc/PID/stat.
func ParentPID(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("parent of %d: %w", pid, err)
	}
	// comm may hold spaces and parentheses: the state and PPID follow the
	// last ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 2 {
		return 0, fmt.Errorf("parent of %d: %w", pid, sandbox.ErrParse)
	}
	var ppid int
	if _, err := fmt.Sscanf(f[1], "%d", &ppid); err != nil {
		return 0, fmt.Errorf("parent of %d: %w", pid, sandbox.ErrParse)
	}
	return ppid, nil
}

// outcomeOKPrefix starts an Outcome that succeeded.
const outcomeOKPrefix = "ok"

// Outcome renders a call's result for Extra: "ok: TEXT" on success, the
// errno name ("ENETUNREACH") when the kernel refused, or "error: MSG".
func Outcome(text string, err error) string {
	if err == nil {
		return outcomeOKPrefix + ": " + text
	}
	var se *sandbox.SyscallError
	if errors.As(err, &se) && se.Errno != "" {
		return se.Errno
	}
	return "error: " + err.Error()
}

// OutcomeOK reports whether an outcome kept with Outcome succeeded.
func OutcomeOK(s string) bool { return strings.HasPrefix(s, outcomeOKPrefix+":") }

// OutcomeFailed reports whether an outcome is a recorded failure (not
// merely missing).
func OutcomeFailed(s string) bool { return s != "" && !OutcomeOK(s) }

// OrNone shows an empty value as "(none)".
func OrNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// MountCount counts the mounts stacked on path.
func MountCount(ms []sandbox.Mount, path string) int {
	n := 0
	for _, m := range ms {
		if m.Mountpoint == path {
			n++
		}
	}
	return n
}

// WaitUntil polls cond every 20 ms until it holds, ctx ends or limit
// passes.
func WaitUntil(ctx context.Context, limit time.Duration, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("still not so after %v", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// PositiveInt parses a PID, a count or an inode kept in Extra; ok is false
// for anything that is not a decimal number above zero, so that a fact
// never shows garbage (or an identity where a PID belongs) as a number.
func PositiveInt(s string) (n int, ok bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0
}

// IsNSLabel reports whether s is a namespace identity as readlink shows
// it for kind: "uts:[4026531838]".
func IsNSLabel(s, kind string) bool {
	rest, ok := strings.CutPrefix(s, kind+":[")
	if !ok {
		return false
	}
	ino, ok := strings.CutSuffix(rest, "]")
	_, pos := PositiveInt(ino)
	return ok && pos
}

// IsErrno reports whether an outcome kept with Outcome is a refusal by
// the kernel with an errno name ("ENETUNREACH"), not some other failure.
func IsErrno(s string) bool {
	if len(s) < 2 || s[0] != 'E' {
		return false
	}
	for _, r := range s[1:] {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// HostMountOf returns a host mount point whose file system (device number)
// is that of mount id in process pid's mount table, or "" when the host
// mounts no such file system. Every tmpfs instance has a device number of
// its own, so a bind of a host's tmpfs (/dev/shm, say) is found, and a new
// tmpfs made inside is not.
func HostMountOf(pid, id int) (string, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		return "", fmt.Errorf("read the sandbox's mounts: %w", err)
	}
	mine, err := mountinfo.GetMountsFromReader(f, func(in *mountinfo.Info) (skip, stop bool) { return in.ID != id, false })
	f.Close()
	if err != nil || len(mine) != 1 {
		return "", fmt.Errorf("mount %d of the sandbox: %w", id, errors.Join(err, sandbox.ErrParse))
	}
	host, err := mountinfo.GetMounts(func(in *mountinfo.Info) (skip, stop bool) {
		return in.Major != mine[0].Major || in.Minor != mine[0].Minor, false
	})
	if err != nil {
		return "", fmt.Errorf("read the host's mounts: %w", err)
	}
	if len(host) == 0 {
		return "", nil
	}
	return host[0].Mountpoint, nil
}

// KindNames joins the /proc names of the kinds in flags with commas, the
// form KindList reads back (a class server's added kinds, kept in Extra).
func KindNames(flags uintptr) string {
	var names []string
	for _, k := range sandbox.KindsIn(flags) {
		names = append(names, k.ProcName)
	}
	return strings.Join(names, ",")
}

// KindList reads a list KindNames wrote; false when it is empty or names
// something that is no kind, so a fact reading it cannot hold on garbage.
func KindList(s string) ([]string, bool) {
	if s == "" {
		return nil, false
	}
	names := strings.Split(s, ",")
	for _, n := range names {
		if _, err := sandbox.KindByName(n); err != nil {
			return names, false
		}
	}
	return names, true
}
