package main

// The bad-input suite: what a learner, their machine or their shell can
// throw at `nslab` that cli_test.go does not already cover. Each case
// wants a clear message saying what to do, a non-zero exit where it is an
// error, no panic, no hang (every exec is bounded), the progress file
// unchanged (or, where a run legitimately records itself, every earlier
// record intact) and, for runs, the host as it was.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/catalog"
)

const biLimit = 60 * time.Second

// biOut is one finished run.
type biOut struct {
	code           int
	stdout, stderr string
}

func (r biOut) String() string {
	return "exit " + strconv.Itoa(r.code) + "\n--- stdout\n" + biCut(r.stdout) + "\n--- stderr\n" + biCut(r.stderr)
}

func biCut(s string) string {
	if len(s) > 4000 {
		return s[:2000] + "\n…\n" + s[len(s)-2000:]
	}
	return s
}

// biCmd prepares bin with a clean environment: HOME and XDG_STATE_HOME in
// state (env entries override; "NAME" alone removes NAME).
func biCmd(ctx context.Context, bin, state string, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	base := map[string]string{
		"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME": state, "XDG_STATE_HOME": state, "LANG": "C.UTF-8",
	}
	for _, e := range env {
		k, v, set := strings.Cut(e, "=")
		if set {
			base[k] = v
		} else {
			delete(base, k)
		}
	}
	for k, v := range base {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Dir = os.TempDir()
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// biRun runs bin to its end, at most biLimit, stdin from in (nil: none).
func biRun(t *testing.T, bin, state string, env []string, in io.Reader, args ...string) biOut {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), biLimit)
	defer cancel()
	cmd := biCmd(ctx, bin, state, env, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.Stdin = &o, &e, in
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("nslab %v hung: not done within %v\n%s\n%s", args, biLimit, o.String(), e.String())
	}
	r := biOut{stdout: o.String(), stderr: e.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("nslab %v: %v", args, err)
	}
	biNoCrash(t, args, r)
	return r
}

// biNoCrash fails on a Go panic or runtime crash in the output.
func biNoCrash(t *testing.T, args []string, r biOut) {
	t.Helper()
	all := r.stdout + r.stderr
	for _, bad := range []string{"goroutine ", "panic:", "fatal error:", "SIGSEGV"} {
		if strings.Contains(all, bad) {
			t.Errorf("nslab %v crashed (%q in its output):\n%s", args, bad, r)
		}
	}
}

// biProgress writes a progress file with one lesson done, and returns its
// path and bytes.
func biProgress(t *testing.T, state string) (string, []byte) {
	t.Helper()
	path := filepath.Join(state, "nslab", "progress.json")
	p := lessons.NewProgress()
	p.Mark("overview", lessons.StatusDone, lessons.PartRecap)
	if err := lessons.SaveProgress(path, p); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, b
}

func biSame(t *testing.T, what, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s: the progress file changed (%v)", what, err)
	}
}

func biNeedRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("needs root (uid %d)", os.Geteuid())
	}
}

// biLesson skips while lesson id is still a placeholder.
func biLesson(t *testing.T, id string) {
	t.Helper()
	l, err := catalog.ByID(id)
	if err != nil {
		t.Fatal(err)
	}
	if l.Logic.Perform == nil || l.Logic.Check == nil {
		t.Skipf("lesson %s is still a placeholder", id)
	}
}

// TestBadInput builds the faultinject nslab once (without NSLAB_FAULT it
// is nslab as shipped) and runs every case against it.
func TestBadInput(t *testing.T) {
	bin := fiBuild(t)
	t.Run("Usage", func(t *testing.T) { biUsage(t, bin) })
	t.Run("ProgressFiles", func(t *testing.T) { biProgressFiles(t, bin) })
	t.Run("NoStateDir", func(t *testing.T) { biNoStateDir(t, bin) })
	t.Run("DumbAndPiped", func(t *testing.T) { biDumbAndPiped(t, bin) })
	t.Run("ChallengeAnswers", func(t *testing.T) { biChallengeAnswers(t, bin) })
	t.Run("LearnerHostname", func(t *testing.T) { biLearnerHostname(t, bin) })
	t.Run("BinaryGone", func(t *testing.T) { biBinaryGone(t, bin) })
	t.Run("NoNamespaces", func(t *testing.T) { biNoNamespaces(t, bin) })
}

// Usage errors cli_test.go leaves out: a part where a lesson id goes, an
// unknown flag of `run`, a flag value of the wrong type. Exit 2, a word
// on what to do, the progress untouched.
func biUsage(t *testing.T, bin string) {
	state := t.TempDir()
	path, before := biProgress(t, state)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "uts/observe", "--plain"}, "nslab list"},
		{[]string{"run", "uts:perform"}, "nslab list"},
		{[]string{"run", "99"}, "nslab list"},
		{[]string{"run", "-1"}, "unknown shorthand flag"},
		{[]string{"run", ""}, "nslab list"},
		{[]string{"run", "uts", "--part", "observe"}, "unknown flag: --part"},
		{[]string{"run", "uts", "--solve=maybe"}, "--solve"},
		{[]string{"run", strings.Repeat("x", 100000)}, "nslab list"},
		{[]string{"run", "uts\x1b[31m"}, "nslab list"},
	} {
		r := biRun(t, bin, state, nil, nil, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%.60q: want exit 2 saying %q:\n%s", tc.args, tc.want, r)
		}
		if strings.Contains(r.stderr, "\x1b") {
			t.Errorf("%.60q: a raw escape from the command line reached the terminal: %q", tc.args, r.stderr)
		}
		biSame(t, strings.Join(tc.args, " "), path, before)
	}
}

// A progress file nslab cannot trust, met by `nslab run`: the lesson still
// runs (exit 0), the file is moved aside intact with a warning saying
// where, and nothing hangs (a FIFO). A symlink is neither followed nor
// moved: the run says so and records nothing (see leastpriv_test.go).
func biProgressFiles(t *testing.T, bin string) {
	biNeedRoot(t)
	biLesson(t, "uts")
	outside := filepath.Join(t.TempDir(), "someone-elses-file")
	if err := os.WriteFile(outside, []byte("not yours\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	huge := append([]byte(`{"version":1,"lessons":{}}`), bytes.Repeat([]byte(" "), lessons.MaxProgressSize)...)
	for _, tc := range []struct {
		name    string
		content []byte            // written as the file, unless make is set
		make    func(path string) // makes the file some other way
		want    string
		refused bool // left in place, progress not recorded
	}{
		{name: "corrupt", content: []byte("{\x00\xff garbage"), want: "is not valid"},
		{name: "truncated", content: []byte(`{"version":1,"lessons":{"overview":{"status":"do`), want: "is not valid"},
		{name: "empty", content: []byte{}, want: "is empty"},
		{name: "huge", content: huge, want: "is bigger than"},
		{name: "future", content: []byte(`{"version":99,"lessons":{"x":{"shape":"unknown"}}}`), want: "newer nslab"},
		{name: "symlink", make: func(p string) {
			if err := os.Symlink(outside, p); err != nil {
				t.Fatal(err)
			}
		}, want: "is a symlink", refused: true},
		{name: "fifo", make: func(p string) {
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
		}, want: "not a regular file"},
		{name: "directory", make: func(p string) {
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
		}, want: "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := t.TempDir()
			dir := filepath.Join(state, "nslab")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "progress.json")
			if tc.make != nil {
				tc.make(path)
			} else if err := os.WriteFile(path, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			r := biRun(t, bin, state, nil, nil, "run", "uts", "--plain", "--solve")
			if tc.refused {
				if r.code != 0 || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "progress not recorded") {
					t.Fatalf("want exit 0 and %q … progress not recorded:\n%s", tc.want, r)
				}
				if aside, _ := filepath.Glob(path + ".corrupt-*"); len(aside) != 0 {
					t.Errorf("moved aside: %v", aside)
				}
				if b, err := os.ReadFile(outside); err != nil || string(b) != "not yours\n" {
					t.Errorf("the symlink's target was touched: %q %v", b, err)
				}
				return
			}
			if r.code != 0 || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "moved it to") {
				t.Fatalf("want exit 0 and a warning %q … moved it to:\n%s", tc.want, r)
			}
			aside, _ := filepath.Glob(path + ".corrupt-*")
			if len(aside) != 1 {
				t.Fatalf("moved aside: %v", aside)
			}
			if tc.make == nil {
				biSame(t, "moved-aside copy", aside[0], tc.content)
			}
			if b, err := os.ReadFile(outside); err != nil || string(b) != "not yours\n" {
				t.Errorf("the symlink's target was touched: %q %v", b, err)
			}
			// The run then starts a fresh, valid file.
			if p, warning, err := lessons.LoadProgress(path); err != nil || warning != "" || p.Get("uts").Status != lessons.StatusInProgress {
				t.Errorf("the new progress file: %+v %q %v", p.Get("uts"), warning, err)
			}
		})
	}
}

// Where the progress cannot be kept (HOME unset, a state directory that is
// a file), `nslab run` still plays the lesson, says the progress was not
// recorded and why, and exits 0; `nslab --plain` (which reads progress to
// pick a lesson) does not fall over either.
func biNoStateDir(t *testing.T, bin string) {
	biNeedRoot(t)
	biLesson(t, "uts")
	r := biRun(t, bin, t.TempDir(), []string{"HOME", "XDG_STATE_HOME"}, nil, "run", "uts", "--plain", "--solve")
	if r.code != 0 || !strings.Contains(r.stderr, "progress not recorded") || !strings.Contains(r.stderr, "HOME") {
		t.Errorf("HOME unset:\n%s", r)
	}
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = biRun(t, bin, t.TempDir(), []string{"XDG_STATE_HOME=" + file}, nil, "run", "uts", "--plain", "--solve")
	if r.code != 0 || !strings.Contains(r.stderr, "progress not recorded") {
		t.Errorf("state directory under a file:\n%s", r)
	}
	if b, _ := os.ReadFile(file); string(b) != "x" {
		t.Errorf("the file in the way was changed: %q", b)
	}
	r = biRun(t, bin, t.TempDir(), []string{"HOME", "XDG_STATE_HOME"}, strings.NewReader("1\nquit\n"), "--plain", "--lesson", "uts")
	if r.code != exitFailed || !strings.Contains(r.stderr, "did not pass") {
		t.Errorf("--plain with HOME unset, quit at the challenge:\n%s", r)
	}
}

// `nslab` with no arguments, TERM=dumb and stdout a pipe: refused with
// the way out (--plain), exit 3, nothing drawn.
func biDumbAndPiped(t *testing.T, bin string) {
	r := biRun(t, bin, t.TempDir(), []string{"TERM=dumb"}, nil)
	if r.code != exitMachine || !strings.Contains(r.stderr, "--plain") {
		t.Errorf("TERM=dumb, piped:\n%s", r)
	}
	if strings.Contains(r.stdout+r.stderr, "\x1b[") {
		t.Errorf("escape sequences without a terminal: %q", r.stdout+r.stderr)
	}
}

// Any answer at the challenge prompt: random bytes, a line far past
// bufio.Scanner's limit, NULs and escapes, nothing at all. nslab quits or
// keeps asking, never crashes or hangs, never echoes a raw escape, exits
// 1 (not passed), and keeps earlier progress.
func biChallengeAnswers(t *testing.T, bin string) {
	biNeedRoot(t)
	biLesson(t, "uts")
	rng := rand.New(rand.NewPCG(6, 6))
	random := make([]byte, 64<<10)
	for i := range random {
		random[i] = byte(rng.UintN(256))
	}
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"eof", nil},
		{"random-bytes", random},
		{"huge-line", append(bytes.Repeat([]byte("check"), 1<<18), '\n')},
		{"nul-and-escapes", []byte("\x00\x00check\x00\n\x1b[2J\x1b]0;owned\x07\nhint\x1b[31m\n\xff\xfe\n")},
		{"many-lines", bytes.Repeat([]byte("hint\nsolution\nbogus\n\n"), 2000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := t.TempDir()
			path, _ := biProgress(t, state)
			r := biRun(t, bin, state, nil, bytes.NewReader(tc.in), "run", "uts", "--plain", "--answer", "1")
			if r.code != exitFailed || !strings.Contains(r.stderr, "did not pass") {
				t.Errorf("want exit 1 (not passed):\n%s", r)
			}
			if strings.Contains(r.stdout, "\x1b") {
				i := strings.Index(r.stdout, "\x1b")
				t.Errorf("a raw escape from stdin reached the output: %q", r.stdout[max(0, i-80):min(len(r.stdout), i+40)])
			}
			p, warning, err := lessons.LoadProgress(path)
			if err != nil || warning != "" || p.Get("overview").Status != lessons.StatusDone {
				t.Errorf("earlier progress lost: %+v %q %v", p, warning, err)
			}
		})
	}
}

// biWaitFor reads out until want appears, the process ends, or 30 s.
func biWaitFor(t *testing.T, out *fiLockedBuf, want string, done <-chan error) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(out.String(), want) {
		select {
		case err := <-done:
			t.Fatalf("nslab ended (%v) before %q:\n%s", err, want, out.String())
		case <-deadline:
			t.Fatalf("no %q within 30 s:\n%s", want, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

type fiLockedBuf struct {
	mu chan struct{}
	b  bytes.Buffer
}

func newFiLockedBuf() *fiLockedBuf { return &fiLockedBuf{mu: make(chan struct{}, 1)} }

func (l *fiLockedBuf) Write(p []byte) (int, error) {
	l.mu <- struct{}{}
	defer func() { <-l.mu }()
	return l.b.Write(p)
}

func (l *fiLockedBuf) String() string {
	l.mu <- struct{}{}
	defer func() { <-l.mu }()
	return l.b.String()
}

// A hostname the learner sets inside the sandbox from their shell: one the
// kernel refuses (65 bytes) fails in the shell and nslab carries on; one
// the kernel takes but that is no valid hostname (escapes, spaces) reaches
// nslab's check, which must quote it, not paint the terminal with it.
func biLearnerHostname(t *testing.T, bin string) {
	biNeedRoot(t)
	biLesson(t, "uts")
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Skip("needs nsenter (util-linux)")
	}
	before := fiTakeHostPrint(t, bin)
	ctx, cancel := context.WithTimeout(t.Context(), biLimit)
	defer cancel()
	run := biStartAtChallenge(ctx, t, bin)
	out := run.out
	agent := agentPID(out.String())
	if agent == 0 {
		t.Fatalf("no agent pid in the output:\n%s", out.String())
	}
	// hostname(1) refuses a name too long or with bytes it finds invalid;
	// writing the sysctl file sets any bytes (up to 64) without a check.
	setName := func(script, name string) error {
		c := exec.CommandContext(ctx, "nsenter", "--target", strconv.Itoa(agent), "--uts", "sh", "-c", script, "sh", name)
		b, err := c.CombinedOutput()
		if err != nil {
			return errors.New(strings.TrimSpace(string(b)))
		}
		return nil
	}
	if err := setName(`hostname "$1"`, strings.Repeat("a", 65)); err == nil {
		t.Error("hostname(1) took a 65-byte name")
	}
	evil := "bad name\x1b[2J\x1b]0;owned\x07"
	if err := setName(`printf %s "$1" > /proc/sys/kernel/hostname`, evil); err != nil {
		t.Fatalf("set a hostname with escapes inside the sandbox: %v", err)
	}
	mark := len(out.String())
	io.WriteString(run.stdin, "check\n")
	biWaitFor(t, out, "not yet", run.done)
	r := run.end(t, "quit\n", "nslab did not end after quit")
	code := r.code
	biNoCrash(t, []string{"run", "uts"}, r)
	if got := r.stdout[mark:]; strings.Contains(got, "\x1b") {
		t.Errorf("the learner's hostname reached the terminal unquoted: %q", got)
	}
	if code != exitFailed {
		t.Errorf("want exit 1:\n%s", r)
	}
	fiSettleHost(t, bin, before)
}

// biChallengeRun is `nslab run uts --plain` waiting at its challenge
// prompt for the learner's commands on stdin.
type biChallengeRun struct {
	stdin io.WriteCloser
	out   *fiLockedBuf
	errb  bytes.Buffer
	done  chan error
}

func biStartAtChallenge(ctx context.Context, t *testing.T, bin string) *biChallengeRun {
	t.Helper()
	cmd := biCmd(ctx, bin, t.TempDir(), nil, "run", "uts", "--plain", "--answer", "1")
	r := &biChallengeRun{out: newFiLockedBuf(), done: make(chan error, 1)}
	var err error
	if r.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = r.out, &r.errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- cmd.Wait() }()
	biWaitFor(t, r.out, "challenge> ", r.done)
	return r
}

// end sends the last input, closes stdin and waits (bounded) for nslab to
// exit; hang is the failure when it does not.
func (r *biChallengeRun) end(t *testing.T, input, hang string) biOut {
	t.Helper()
	io.WriteString(r.stdin, input)
	r.stdin.Close()
	var err error
	select {
	case err = <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatal(hang)
	}
	code, _ := fiExit(err)
	return biOut{code: code, stdout: r.out.String(), stderr: r.errb.String()}
}

// fiSettleHost fails t if the host differs from before after a bounded
// wait for the kernel's asynchronous teardown.
func fiSettleHost(t *testing.T, bin string, before fiHostPrint) {
	t.Helper()
	var d []string
	for deadline := time.Now().Add(fiSettle); ; {
		d = before.diff(fiTakeHostPrint(t, bin))
		if len(d) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, x := range d {
		t.Errorf("left behind: %s", x)
	}
}

// The nslab binary deleted or replaced while a lesson runs. The engine
// starts agents through /proc/self/exe, which reaches the running binary
// whatever happened to its path, so every case must carry on and pass:
// (a) deleted at the challenge (the check then talks to a live agent);
// (b) deleted, replaced by something that is not nslab, or replaced by a
// copy (an upgrade in place), each just before Perform starts the agent
// (the faultinject build stops there). No hang, nothing left.
func biBinaryGone(t *testing.T, bin string) {
	biNeedRoot(t)
	biLesson(t, "uts")
	built := bin
	copyBin := func(t *testing.T) string {
		t.Helper()
		dir := t.TempDir()
		p := filepath.Join(dir, "nslab")
		b, err := os.ReadFile(built)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	replaceWith := func(t *testing.T, path string, content []byte) {
		t.Helper()
		tmp := path + ".new"
		if err := os.WriteFile(tmp, content, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	notNslab := []byte("#!/bin/sh\necho 'this is not nslab' >&2\nexit 7\n")

	t.Run("deleted-at-challenge", func(t *testing.T) {
		bin := copyBin(t)
		before := fiTakeHostPrint(t, bin)
		ctx, cancel := context.WithTimeout(t.Context(), biLimit)
		defer cancel()
		run := biStartAtChallenge(ctx, t, bin)
		if err := os.Remove(bin); err != nil {
			t.Fatal(err)
		}
		r := run.end(t, "check\nhint\nquit\n", "nslab hung after its binary was deleted")
		biNoCrash(t, []string{"run", "uts"}, r)
		if r.code != exitFailed || !strings.Contains(r.stdout, "not yet") {
			t.Errorf("want the check to run and exit 1:\n%s", r)
		}
		fiSettleHost(t, bin, before)
	})

	for _, tc := range []struct {
		name    string
		change  func(t *testing.T, path string)
		wantOK  bool
		message string
	}{
		{"deleted-before-perform", func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}, true, ""},
		{"replaced-by-other-before-perform", func(t *testing.T, p string) { replaceWith(t, p, notNslab) }, true, ""},
		{"replaced-by-copy-before-perform", func(t *testing.T, p string) {
			b, err := os.ReadFile(built)
			if err != nil {
				t.Fatal(err)
			}
			replaceWith(t, p, b)
		}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := copyBin(t)
			before := fiTakeHostPrint(t, bin)
			ctx, cancel := context.WithTimeout(t.Context(), biLimit)
			defer cancel()
			cmd := biCmd(ctx, bin, t.TempDir(), []string{"NSLAB_FAULT=perform:wait"}, "run", "uts", "--plain", "--solve")
			var out bytes.Buffer
			errb := newFiLockedBuf()
			cmd.Stdout, cmd.Stderr = &out, errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			biWaitFor(t, errb, "NSLAB-AT-PART perform", done)
			tc.change(t, bin)
			_ = cmd.Process.Signal(syscall.SIGUSR1)
			var err error
			select {
			case err = <-done:
			case <-time.After(45 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("nslab hung after its binary changed")
			}
			code, sig := fiExit(err)
			r := biOut{code: code, stdout: out.String(), stderr: errb.String()}
			biNoCrash(t, []string{"run", "uts"}, r)
			t.Logf("exit %d%s; stderr: %s", code, fiSigWord(sig), strings.TrimSpace(errb.String()))
			switch {
			case tc.wantOK && code != 0:
				t.Errorf("an in-place upgrade broke the running lesson:\n%s", r)
			case !tc.wantOK && (code == 0 || sig != 0 || !strings.Contains(r.stderr, tc.message)):
				t.Errorf("want a failure with a message:\n%s", r)
			}
			fiSettleHost(t, bin, before)
		})
	}
}

// Not root, and no user namespaces to be had: as nobody inside a user
// namespace whose user.max_user_namespaces is 0 (the sysctl is per user
// namespace since Linux 4.9, so the host's limit stays as it is). And as
// root of such a namespace whose user.max_uts_namespaces is 0: the kernel
// refuses one kind. Both: exit 3 with what to do, no raw errno alone.
func biNoNamespaces(t *testing.T, bin string) {
	biNeedRoot(t)
	biLesson(t, "uts")
	for _, tc := range []struct {
		name   string
		script string
		want   []string
	}{
		{"nobody-no-userns", `echo 0 > /proc/sys/user/max_user_namespaces && exec setpriv --reuid=65534 --regid=65534 --clear-groups "$0" run uts --plain --solve`,
			[]string{"cannot run", "doctor"}},
		{"root-no-uts", `echo 0 > /proc/sys/user/max_uts_namespaces && exec "$0" run uts --plain --solve`,
			[]string{"uts"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), biLimit)
			defer cancel()
			state := t.TempDir()
			if err := os.Chmod(state, 0o777); err != nil {
				t.Fatal(err)
			}
			cmd := exec.CommandContext(ctx, "sh", "-c", tc.script, bin)
			cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + state, "XDG_STATE_HOME=" + state}
			cmd.Dir = "/"
			// An identity map: nobody is nobody inside, root is root of
			// this namespace only.
			cmd.SysProcAttr = &syscall.SysProcAttr{
				Cloneflags:  syscall.CLONE_NEWUSER,
				UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}},
				GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}},
				// setpriv --clear-groups needs setgroups(2) inside.
				GidMappingsEnableSetgroups: true,
			}
			var o, e bytes.Buffer
			cmd.Stdout, cmd.Stderr = &o, &e
			cmd.WaitDelay = 5 * time.Second
			err := cmd.Run()
			if ctx.Err() != nil {
				t.Fatalf("hung:\n%s\n%s", o.String(), e.String())
			}
			code, _ := fiExit(err)
			r := biOut{code: code, stdout: o.String(), stderr: e.String()}
			biNoCrash(t, []string{"run", "uts"}, r)
			t.Logf("exit %d; stderr: %s", code, strings.TrimSpace(e.String()))
			if code != exitMachine {
				t.Errorf("want exit 3:\n%s", r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("want %q in the message:\n%s", w, r)
				}
			}
		})
	}
}
