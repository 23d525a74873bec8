package lessontest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// Attempt is a plausible wrong answer to a lesson's challenge: Cmd is typed
// into the lesson's shell, and the check must then fail with a detail that
// contains Says (the learner's terms for what is wrong).
type Attempt struct {
	Cmd  string
	Says string
	// Undo, if set, is typed after the check, as a learner would have to
	// before the right answer can work (mount(8) refuses to mount cgroup2
	// where its own bind already is).
	Undo string
}

// experimentTimeout bounds one experiment or attempt in the shell.
const experimentTimeout = 20 * time.Second

// attemptSettle bounds the wait for a wrong attempt's background jobs to
// reach the state the check describes.
const attemptSettle = 5 * time.Second

// InShell types line into the shell nslab offers for box (ShellCommand
// with no argument: the learner's shell, the one the TUI starts), as the
// learner would, and returns what it printed on stdout and stderr. The
// shell ends at the end of its input, with the status of line. A command
// that leaves the output open (a background job without a redirection)
// is an error, as is a non-zero exit.
func InShell(ctx context.Context, box *sandbox.Sandbox, line string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(ctx, experimentTimeout)
	defer cancel()
	cmd, err := box.ShellCommand()
	if err != nil {
		return "", "", err
	}
	var out, errb bytes.Buffer
	cmd.Stdin = strings.NewReader(line + "\n")
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A background job that keeps the terminal's output open would make the
	// learner's next prompt wait for nothing: after the shell exits, its
	// output gets a second, then it counts as held open.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return "", "", err
	}
	err = lessons.WaitOrKillGroup(ctx, cmd)
	if errors.Is(err, exec.ErrWaitDelay) {
		err = fmt.Errorf("the shell exited but something it started still holds its output open: %w", err)
	}
	return out.String(), shellNoise(errb.String()), err
}

// shellNoise drops what an interactive shell without a terminal writes to
// stderr by itself (prompts, job-control warnings, "exit"), keeping what
// the command wrote.
func shellNoise(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if i := strings.LastIndex(l, "$ "); strings.HasPrefix(l, "[nslab:") && i >= 0 {
			l = strings.TrimSpace(l[i+2:]) // a prompt, maybe followed by output
		}
		switch {
		case l == "", l == "exit", strings.Contains(l, "no job control in this shell"),
			strings.Contains(l, "cannot set terminal process group"), strings.HasPrefix(l, "[nslab:"):
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

// Experiments runs every suggested experiment of l, in order, in the shell
// nslab offers: each must exit 0 and print something. Then the challenge
// check must still fail: an experiment may prepare the answer, never give
// it.
func Experiments(t testing.TB, ctx context.Context, s *lessons.Session, l lessons.Lesson) {
	t.Helper()
	box := s.Sandboxes().Box
	for _, e := range l.Experiments {
		out, errOut, err := InShell(ctx, box, e)
		if err != nil {
			t.Errorf("experiment %q: %v\nstdout: %s\nstderr: %s", e, err, out, errOut)
			continue
		}
		if strings.TrimSpace(out) == "" && errOut == "" {
			t.Errorf("experiment %q printed nothing", e)
		}
	}
	ok, detail, err := s.Check(ctx)
	if err != nil {
		t.Fatalf("check after the experiments: %v", err)
	}
	if ok {
		t.Errorf("the experiments alone solve the challenge: %s", detail)
	}
}

// WrongAttempts types each attempt into the lesson's shell, in order, and
// sees the check reject it with a detail that says what is wrong and
// shows none of secrets (see Want.Secrets).
func WrongAttempts(t testing.TB, ctx context.Context, s *lessons.Session, wrong []Attempt, secrets ...string) {
	t.Helper()
	if len(wrong) < 2 {
		t.Errorf("%d wrong attempts at the challenge are tried, want at least 2", len(wrong))
	}
	box := s.Sandboxes().Box
	for _, a := range wrong {
		if out, errOut, err := InShell(ctx, box, a.Cmd); err != nil {
			t.Errorf("wrong attempt %q did not even run: %v\n%s%s", a.Cmd, err, out, errOut)
			continue
		}
		// The shell returns as soon as it has forked a background job, which
		// then still has to exec, unshare or fork: until it has, the check
		// rightly describes a state on the way. Poll (bounded) until it says
		// what is wrong; it must not accept at any moment.
		// The learner may see any of those details, so none may give a
		// value away. WaitUntil's own error adds nothing: the last check's
		// verdict is judged below.
		var (
			ok                     bool
			detail, leak, leakedIn string
			err                    error
		)
		_ = lessons.WaitUntil(ctx, attemptSettle, func() bool {
			ok, detail, err = s.Check(ctx)
			if v, found := GivesAway(detail, secrets); found && !ok && leak == "" {
				leak, leakedIn = v, detail
			}
			return err != nil || ok || strings.Contains(detail, a.Says)
		})
		if err != nil {
			t.Fatalf("check after wrong attempt %q: %v", a.Cmd, err)
		}
		if ok {
			t.Errorf("the check accepts the wrong attempt %q: %s", a.Cmd, detail)
		} else if !strings.Contains(detail, a.Says) {
			t.Errorf("the check rejects %q but does not say %q within %v: %s", a.Cmd, a.Says, attemptSettle, detail)
		} else if leak != "" {
			t.Errorf("the check rejects %q but gives the value %q away: %s", a.Cmd, leak, leakedIn)
		}
		if a.Undo != "" {
			if out, errOut, err := InShell(ctx, box, a.Undo); err != nil {
				t.Errorf("undo %q: %v\n%s%s", a.Undo, err, out, errOut)
			}
		}
	}
}

// ShellNamespaces holds both shells nslab offers for the lesson's sandbox
// (the TUI's, ShellCommand, and the nsenter(1) line plain mode prints) to
// the lesson's data: each is in a namespace of its own exactly for the
// kinds listed in lesson.toml's shell_new, and in the host's for the rest.
func ShellNamespaces(t testing.TB, ctx context.Context, s *lessons.Session, l lessons.Lesson) {
	t.Helper()
	box := s.Sandboxes().Box
	var script strings.Builder
	for _, k := range sandbox.Kinds() {
		fmt.Fprintf(&script, "echo %s $(readlink /proc/self/ns/%s); ", k.ProcName, k.ProcName)
	}
	host, err := sandbox.ReadIDs(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	newKinds := map[string]bool{}
	for _, k := range l.ShellNew {
		newKinds[k] = true
	}
	// A class learner's sandbox (a confined engine) is in new namespaces
	// of every kind, whatever the lesson asked for.
	for _, k := range sandbox.KindsIn(box.Confined()) {
		newKinds[k.ProcName] = true
	}
	judge := func(which, out string) {
		t.Helper()
		seen := 0
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) != 2 {
				continue
			}
			h, ok := host[f[0]]
			if !ok {
				continue
			}
			seen++
			isNew := f[1] != h.Label(f[0])
			if isNew != newKinds[f[0]] {
				t.Errorf("%s: %s is %s (host %s); lesson.toml's shell_new %v says it is %s", which, f[0], f[1], h.Label(f[0]),
					l.ShellNew, map[bool]string{true: "a namespace of the sandbox", false: "the host's"}[newKinds[f[0]]])
			}
		}
		if seen == 0 {
			t.Errorf("%s: no namespace read: %q", which, out)
		}
	}
	out, errOut, err := InShell(ctx, box, script.String())
	if err != nil {
		t.Fatalf("the TUI's shell: %v: %s", err, errOut)
	}
	judge("the TUI's shell", out)

	path, err := exec.LookPath("nsenter")
	if err != nil {
		t.Log("no nsenter(1) here: the plain-mode line is not tried")
		return
	}
	c, cancel := context.WithTimeout(ctx, experimentTimeout)
	defer cancel()
	// The very line plain mode prints, with a command instead of a shell.
	b, err := exec.CommandContext(c, path, "--target", fmt.Sprint(box.PID()), "--all", "/bin/sh", "-c", script.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("nsenter --target %d --all: %v: %s", box.PID(), err, b)
	}
	judge("plain mode's nsenter line", string(b))
}
