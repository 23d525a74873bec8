package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/catalog"
	"github.com/nslab/nslab/lessons/doctor"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/sandbox/sandboxtest"
)

// binPath is the nslab binary TestMain builds once; the end-to-end tests
// exec it like a learner would.
type testBinary struct {
	path string
	err  error
}

// bin is set once by TestMain before any test runs and only read after.
var bin testBinary

func TestMain(m *testing.M) {
	// In-process tests start sandboxes, whose agents re-execute this test
	// binary with a hidden argument.
	if sandbox.IsHidden(os.Args) {
		os.Exit(sandbox.RunHidden(os.Args))
	}
	// Under `sudo go test` (the README's command) nslab would act for the
	// user who ran sudo; the tests set SUDO_* themselves where they mean it.
	for _, k := range []string{"SUDO_USER", "SUDO_UID", "SUDO_GID"} {
		os.Unsetenv(k)
	}
	dir, err := os.MkdirTemp("", "nslab-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Readable and executable by nobody, for the unprivileged runs.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// nslab and, beside it, the slim agent binary its engine starts agents
	// from (agentbin_test.go runs nslab without it too).
	bin.path = filepath.Join(dir, "nslab")
	// `go test` puts its own toolchain first on PATH.
	if goCmd, err := exec.LookPath("go"); err != nil {
		bin.err = fmt.Errorf("no go command to build nslab with: %w", err)
	} else if out, err := exec.Command(goCmd, "build", "-o", dir+"/", ".", "../nslab-agent").CombinedOutput(); err != nil {
		bin.err = fmt.Errorf("go build: %w\n%s", err, out)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func needBinary(t *testing.T) string {
	t.Helper()
	if bin.err != nil {
		t.Fatal(bin.err)
	}
	return bin.path
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("needs root (this test runs as uid %d)", os.Geteuid())
	}
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.code, r.stdout, r.stderr)
}

type invocation struct {
	args   []string
	env    []string // added to the base environment; "NAME" alone removes NAME
	stdin  io.Reader
	nobody bool // run as nobody:nogroup through setpriv
}

func baseEnv(home string) []string {
	return []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + home, "LANG=C.UTF-8"}
}

// nslab runs the binary and waits at most a minute.
func nslab(t *testing.T, inv invocation) result {
	t.Helper()
	path := needBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	argv := append([]string{path}, inv.args...)
	if inv.nobody {
		argv = append([]string{"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	env := baseEnv(t.TempDir())
	for _, e := range inv.env {
		name, _, set := strings.Cut(e, "=")
		env = slices.DeleteFunc(env, func(x string) bool { return strings.HasPrefix(x, name+"=") })
		if set {
			env = append(env, e)
		}
	}
	cmd.Env = env
	cmd.Dir = os.TempDir()
	// A process left holding the output pipes must fail the test, not hang it.
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if inv.stdin != nil {
		cmd.Stdin = inv.stdin
	}
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("%v: %v", argv, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%v did not finish within a minute", argv)
	}
	return r
}

func catalogIDs(t *testing.T) []string {
	t.Helper()
	ls, err := catalog.All()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range ls {
		ids = append(ids, l.ID)
	}
	return ids
}

func TestListOneLessonALineInOrder(t *testing.T) {
	r := nslab(t, invocation{args: []string{"list"}})
	if r.code != 0 {
		t.Fatal(r)
	}
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	if n := len(catalog.Logics()); len(lines) != n {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), n, r.stdout)
	}
	var ids []string
	for _, l := range lines {
		ids = append(ids, strings.Fields(l)[0])
	}
	if want := catalogIDs(t); !slices.Equal(ids, want) {
		t.Fatalf("ids %v, want %v", ids, want)
	}
	if ids[0] != "overview" || ids[11] != "time" {
		t.Errorf("curriculum order: %v", ids)
	}
	for i, l := range lines {
		if !strings.Contains(l, " min") || !(strings.Contains(l, "rootless") || strings.Contains(l, "root")) {
			t.Errorf("line %d lacks minutes or rootless: %q", i, l)
		}
	}
}

func TestListJSON(t *testing.T) {
	r := nslab(t, invocation{args: []string{"list", "--json"}})
	if r.code != 0 {
		t.Fatal(r)
	}
	var got []listEntry
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(got) != len(catalog.Logics()) {
		t.Fatalf("%d lessons", len(got))
	}
	for i, e := range got {
		if e.Number != i+1 || e.ID == "" || e.Title == "" || e.Minutes <= 0 || len(e.Syscalls) == 0 {
			t.Errorf("entry %d: %+v", i, e)
		}
	}
}

func TestUnknownLessonNamesClosest(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "utz"}, "uts"},
		{[]string{"run", "nosuch", "--plain"}, "nslab list"},
		{[]string{"progress", "--reset", "contaner", "--yes"}, "container"},
		{[]string{"--lesson", "pdi"}, "pid"},
	} {
		r := nslab(t, invocation{args: tc.args})
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "nslab list") {
			t.Errorf("%v: want exit 2 naming %q and `nslab list`:\n%s", tc.args, tc.want, r)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"list", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"--bogus"}, "unknown flag"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"lsit"}, "list"},
		{[]string{"uts"}, "nslab run uts"},
		{[]string{"run"}, "one lesson id"},
		{[]string{"run", "uts", "pid"}, "one lesson id"},
		{[]string{"run", "uts", "--plain", "--json"}, "exclude each other"},
		{[]string{"doctor", "extra"}, "unknown command"},
		{[]string{"progress", "uts"}, "--reset uts"},
	} {
		r := nslab(t, invocation{args: tc.args})
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: want exit 2 with %q:\n%s", tc.args, tc.want, r)
		}
		if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine") {
			t.Errorf("%v: %s", tc.args, r)
		}
	}
}

func TestHelpDocumentsExitCodes(t *testing.T) {
	r := nslab(t, invocation{args: []string{"--help"}})
	if r.code != 0 {
		t.Fatal(r)
	}
	for _, want := range []string{"Exit codes:", "  2 ", "  3 ", "  4 ", "130", "doctor", "progress", "completion"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--help lacks %q:\n%s", want, r.stdout)
		}
	}
	// The root line is counted from the catalog, not written down.
	all, err := catalog.All()
	if err != nil {
		t.Fatal(err)
	}
	rootless := 0
	for _, l := range all {
		if l.Rootless {
			rootless++
		}
	}
	if want := fmt.Sprintf("%d of the %d lessons run as an ordinary user", rootless, len(all)); !strings.Contains(r.stdout, want) || strings.Contains(r.stdout, "Most lessons need root") {
		t.Errorf("--help does not say %q:\n%s", want, r.stdout)
	}
}

func TestVersion(t *testing.T) {
	r := nslab(t, invocation{args: []string{"version"}})
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	release := unix.ByteSliceToString(u.Release[:])
	if r.code != 0 || !strings.HasPrefix(r.stdout, "nslab ") || !strings.Contains(r.stdout, runtime.Version()) || !strings.Contains(r.stdout, "Linux "+release) {
		t.Fatal(r)
	}
}

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{
		"bash": "__start_nslab",
		"zsh":  "#compdef nslab",
		"fish": "complete -c nslab",
	} {
		r := nslab(t, invocation{args: []string{"completion", shell}})
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("completion %s: want %q:\n%.400s", shell, want, r.stdout)
		}
	}
	// The lesson ids complete through the binary's hidden __complete.
	r := nslab(t, invocation{args: []string{"__complete", "run", "u"}})
	if r.code != 0 || !strings.Contains(r.stdout, "uts") || !strings.Contains(r.stdout, "user") || strings.Contains(r.stdout, "pid\t") {
		t.Errorf("run id completion:\n%s", r)
	}
}

func TestNoTerminal(t *testing.T) {
	// stdout a pipe (the test's buffer).
	r := nslab(t, invocation{})
	if r.code != exitMachine || !strings.Contains(r.stderr, "needs a terminal") || !strings.Contains(r.stderr, "nslab run ID --plain") {
		t.Fatalf("stdout piped:\n%s", r)
	}
	if strings.Contains(r.stdout, "\x1b[") {
		t.Errorf("escape sequences written to a pipe: %q", r.stdout)
	}
}

// TERM=dumb on a real terminal (a pseudo-terminal) is refused the same way.
func TestDumbTerminal(t *testing.T) {
	path := needBinary(t)
	ptmx, pts := openPty(t)
	defer ptmx.Close()
	defer pts.Close()
	go io.Copy(io.Discard, ptmx)
	cmd := exec.Command(path)
	cmd.Env = append(baseEnv(t.TempDir()), "TERM=dumb")
	var errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitMachine || !strings.Contains(errb.String(), "needs a terminal") {
			t.Fatalf("TERM=dumb: %v\n%s", err, errb.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("nslab with TERM=dumb started something instead of refusing")
	}
}

// openPty opens a pseudo-terminal pair with /dev/ptmx.
func openPty(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	ptmx := os.NewFile(uintptr(fd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ptmx, pts
}

func TestProgressResetNeedsConfirmation(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, ".local", "state", "nslab", "progress.json")
	p := lessons.NewProgress()
	p.Mark("uts", lessons.StatusDone, lessons.PartRecap)
	p.Mark("pid", lessons.StatusInProgress, lessons.PartObserve)
	if err := lessons.SaveProgress(path, p); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	env := []string{"HOME=" + home}

	r := nslab(t, invocation{args: []string{"progress"}, env: env})
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("1 of %d lessons done", len(catalog.Logics()))) || !strings.Contains(r.stdout, "in-progress") {
		t.Fatalf("progress:\n%s", r)
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	for _, args := range [][]string{{"progress", "--reset"}, {"progress", "--reset", "uts"}} {
		r = nslab(t, invocation{args: args, env: env, stdin: devnull})
		if r.code != exitUsage || !strings.Contains(r.stderr, "--yes") || !strings.Contains(r.stderr, "no terminal") {
			t.Errorf("%v without a terminal:\n%s", args, r)
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
			t.Fatalf("%v changed the progress file", args)
		}
	}
	r = nslab(t, invocation{args: []string{"progress", "--reset", "uts", "--yes"}, env: env})
	if r.code != 0 {
		t.Fatal(r)
	}
	got, _, err := lessons.LoadProgress(path)
	if err != nil || got.Get("uts").Status != lessons.StatusNotStarted || got.Get("pid").Status != lessons.StatusInProgress {
		t.Fatalf("after reset uts: %+v %v", got, err)
	}
	r = nslab(t, invocation{args: []string{"progress", "--reset", "-y"}, env: env})
	if got, _, _ := lessons.LoadProgress(path); r.code != 0 || len(got.Lessons) != 0 {
		t.Fatalf("after reset all: %+v\n%s", got, r)
	}
}

func TestProgressBadFileAndHome(t *testing.T) {
	home := t.TempDir()
	dir := filepath.Join(home, ".local", "state", "nslab")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "progress.json"), []byte(`{"version":1,"lessons":{"uts":`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := nslab(t, invocation{args: []string{"progress"}, env: []string{"HOME=" + home}})
	if want := fmt.Sprintf("0 of %d", len(catalogIDs(t))); r.code != 0 || !strings.Contains(r.stderr, "moved it to") || !strings.Contains(r.stdout, want) {
		t.Fatalf("truncated file:\n%s", r)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "progress.json.corrupt-*")); len(m) != 1 {
		t.Errorf("moved aside: %v", m)
	}

	r = nslab(t, invocation{args: []string{"progress"}, env: []string{"HOME", "XDG_STATE_HOME"}})
	if r.code != exitMachine || !strings.Contains(r.stderr, "HOME is not set") {
		t.Fatalf("HOME unset:\n%s", r)
	}
	xdg := t.TempDir()
	r = nslab(t, invocation{args: []string{"progress", "--reset", "--yes"}, env: []string{"HOME", "XDG_STATE_HOME=" + xdg}})
	if _, err := os.Stat(filepath.Join(xdg, "nslab", "progress.json")); r.code != 0 || err != nil {
		t.Fatalf("HOME unset, XDG_STATE_HOME set: %v\n%s", err, r)
	}
}

// readHost takes the host's fingerprint, the one every privileged test in
// the module shares (sandbox/sandboxtest).
func readHost(t *testing.T) sandboxtest.HostPrint {
	t.Helper()
	return sandboxtest.TakeHostPrint(t)
}

// ourBinary reports whether exe (a /proc/PID/exe link) is the test's nslab
// or the nslab-agent built beside it, from which agents and shells start.
func ourBinary(exe string) bool {
	exe = strings.TrimSuffix(exe, " (deleted)")
	return exe == bin.path || exe == filepath.Join(filepath.Dir(bin.path), sandbox.AgentName)
}

// leftovers lists processes still running the test's nslab binary or its
// agent binary.
func leftovers() []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		exe, err := os.Readlink("/proc/" + e.Name() + "/exe")
		if err == nil && ourBinary(exe) {
			cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			out = append(out, e.Name()+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return out
}

// checkHostUnchanged compares the host with before, allowing the kernel a
// bounded time for its asynchronous namespace teardown, and fails on any
// process of nslab left behind.
func checkHostUnchanged(t testing.TB, before sandboxtest.HostPrint) {
	t.Helper()
	sandboxtest.UnchangedSince(t, before, func() string {
		var out []string
		for _, l := range leftovers() {
			out = append(out, "process left: "+l)
		}
		return strings.Join(out, "\n")
	})
}

func TestDoctorAsRoot(t *testing.T) {
	needRoot(t)
	before := readHost(t)
	r := nslab(t, invocation{args: []string{"doctor"}})
	if r.code != 0 {
		t.Fatalf("doctor as root on this machine:\n%s", r)
	}
	for _, k := range sandbox.Kinds() {
		if !strings.Contains(r.stdout, "✓ new "+k.Name+" namespace ("+k.FlagName+")") {
			t.Errorf("doctor does not show the %s kind working:\n%s", k.Name, r.stdout)
		}
	}
	for _, id := range catalogIDs(t) {
		if !strings.Contains(r.stdout, " "+id+" ") {
			t.Errorf("doctor does not mention lesson %s", id)
		}
	}
	if !strings.Contains(r.stdout, fmt.Sprintf("All %d lessons can run here as root.", len(catalog.Logics()))) {
		t.Errorf("summary:\n%s", r.stdout)
	}
	r = nslab(t, invocation{args: []string{"doctor", "--json"}})
	var rep struct {
		OK      bool                  `json:"ok"`
		Checks  []doctor.Check        `json:"checks"`
		Lessons []doctor.LessonAccess `json:"lessons"`
		Machine sandbox.Machine       `json:"machine"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 0 {
		t.Fatalf("%v\n%s", err, r)
	}
	if !rep.OK || rep.Machine.EUID != 0 || len(rep.Lessons) != len(catalog.Logics()) || len(rep.Checks) == 0 {
		t.Fatalf("report: ok=%v euid=%d lessons=%d", rep.OK, rep.Machine.EUID, len(rep.Lessons))
	}
	for _, la := range rep.Lessons {
		if la.Access != doctor.AccessRoot {
			t.Errorf("lesson %s as root: %s (%s)", la.ID, la.Access, la.Why)
		}
	}
	checkHostUnchanged(t, before)
}

// nobodyHome makes a home directory that nobody owns, where nobody can
// reach it (t.TempDir's parents are root's and closed).
func nobodyHome(t *testing.T) string {
	t.Helper()
	home, err := os.MkdirTemp("", "nslab-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	if err := os.Chown(home, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	return home
}

func needNobody(t *testing.T) {
	t.Helper()
	needRoot(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) is not installed")
	}
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skip("no user nobody")
	}
	if _, err := user.LookupGroup("nogroup"); err != nil {
		t.Skip("no group nogroup")
	}
}

// As nobody the doctor tells the truth: what it claims about the rootless
// path is checked against util-linux's unshare run as nobody too.
func TestDoctorAsNobody(t *testing.T) {
	needNobody(t)
	home := nobodyHome(t)
	env := []string{"HOME=" + home}
	unshareCmd := exec.Command("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
		"unshare", "--user", "--map-root-user", "--uts", "--ipc", "--mount", "--net", "--pid", "--fork", "--cgroup", "true")
	unshareCmd.Dir = os.TempDir()
	rootlessWorks := unshareCmd.Run() == nil

	r := nslab(t, invocation{args: []string{"doctor", "--json"}, env: env, nobody: true})
	var rep struct {
		OK      bool                  `json:"ok"`
		Checks  []doctor.Check        `json:"checks"`
		Lessons []doctor.LessonAccess `json:"lessons"`
		Machine sandbox.Machine       `json:"machine"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	if rep.Machine.EUID != 65534 {
		t.Fatalf("euid %d", rep.Machine.EUID)
	}
	for _, c := range rep.Checks {
		if c.ID == "caps" && c.OK {
			t.Errorf("nobody is said to have the capabilities: %+v", c)
		}
		if c.ID == "ns.uts" {
			if !strings.Contains(c.Detail, "clone(CLONE_NEWUTS) = EPERM") {
				t.Errorf("nobody's direct clone of a UTS namespace: %+v", c)
			}
			if c.OK != rootlessWorks {
				t.Errorf("doctor says rootless uts %v, unshare as nobody says %v: %+v", c.OK, rootlessWorks, c)
			}
		}
	}
	for _, la := range rep.Lessons {
		want := doctor.AccessNeedsRoot
		if la.Rootless && rootlessWorks {
			want = doctor.AccessRootless
		}
		if la.ID == "time" && rootlessWorks && la.Access != doctor.AccessRootless {
			// unshare --time is not in the probe above; trust but show.
			t.Logf("time as nobody: %s (%s)", la.Access, la.Why)
			continue
		}
		if la.Access != want {
			t.Errorf("lesson %s as nobody: %s (%s), want %s", la.ID, la.Access, la.Why, want)
		}
	}
	if rootlessWorks && r.code != 0 {
		t.Errorf("every lesson runs in some way here, yet exit %d", r.code)
	}

	// The text form names the user and says what needs sudo.
	r = nslab(t, invocation{args: []string{"doctor"}, env: env, nobody: true})
	if !strings.Contains(r.stdout, "uid 65534") || !strings.Contains(r.stdout, "sudo nslab run net") {
		t.Errorf("doctor as nobody:\n%s", r)
	}
	// A lesson that needs root says which capability and what to do, with
	// no bare EPERM.
	r = nslab(t, invocation{args: []string{"run", "net", "--plain", "--solve"}, env: env, nobody: true})
	if r.code != exitMachine || !strings.Contains(r.stderr, "CAP_NET_ADMIN") || !strings.Contains(r.stderr, "sudo nslab run net") {
		t.Errorf("run net as nobody:\n%s", r)
	}
	if rootlessWorks && !strings.Contains(r.stderr, "without sudo: ") {
		t.Errorf("no rootless lessons offered:\n%s", r)
	}
}

// As nobody, a progress file nobody cannot read, or a state directory
// nobody cannot write, is an error that says what to do, and nothing is
// changed or moved.
func TestProgressPermissionsAsNobody(t *testing.T) {
	needNobody(t)
	home := nobodyHome(t)
	dir := filepath.Join(home, ".local", "state", "nslab")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Join(home, ".local"), filepath.Join(home, ".local", "state"), dir} {
		if err := os.Chown(d, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "progress.json")
	p := lessons.NewProgress()
	p.Mark("uts", lessons.StatusDone, lessons.PartRecap)
	if err := lessons.SaveProgress(path, p); err != nil { // root-owned 0600: unreadable for nobody
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	env := []string{"HOME=" + home}
	r := nslab(t, invocation{args: []string{"progress"}, env: env, nobody: true})
	if r.code != exitMachine || !strings.Contains(r.stderr, "cannot read your progress file") || !strings.Contains(r.stderr, "chown") {
		t.Errorf("unreadable file:\n%s", r)
	}
	if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, before) {
		t.Errorf("the unreadable file was changed or moved: %v", err)
	}

	// Readable, but in a directory nobody may not write.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r = nslab(t, invocation{args: []string{"progress", "--reset", "--yes"}, env: env, nobody: true})
	if r.code != exitMachine || !strings.Contains(r.stderr, "cannot save your progress") || !strings.Contains(r.stderr, "XDG_STATE_HOME") {
		t.Errorf("unwritable dir:\n%s", r)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Errorf("the progress changed")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("files left in %s: %v", dir, ents)
	}
}

func utsReady(t *testing.T) {
	t.Helper()
	l, err := catalog.ByID("uts")
	if err != nil {
		t.Fatal(err)
	}
	if l.Logic.Perform == nil || l.Logic.Check == nil {
		t.Skip("the uts lesson's logic is not written yet (Perform/Check/Solve missing)")
	}
}

func TestRunUTSPlainSolve(t *testing.T) {
	needRoot(t)
	utsReady(t)
	before := readHost(t)
	home := t.TempDir()
	r := nslab(t, invocation{args: []string{"run", "uts", "--plain", "--solve"}, env: []string{"HOME=" + home}})
	if r.code != 0 || !strings.Contains(r.stdout, "PASSED") || !strings.Contains(r.stdout, "CLONE_NEWUTS") {
		t.Fatalf("run uts --plain --solve:\n%s", r)
	}
	checkHostUnchanged(t, before)
	// --solve is the reference solution, not the learner's: in progress.
	p, _, err := lessons.LoadProgress(filepath.Join(home, ".local", "state", "nslab", "progress.json"))
	if err != nil || p.Get("uts").Status != lessons.StatusInProgress {
		t.Errorf("progress after run --solve: %+v %v", p.Get("uts"), err)
	}

	r = nslab(t, invocation{args: []string{"run", "2", "--json", "--solve"}, env: []string{"HOME=" + home}})
	if r.code != 0 {
		t.Fatal(r)
	}
	var last map[string]any
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if err := json.Unmarshal([]byte(line), &last); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
	}
	if last["type"] != "result" || last["passed"] != true {
		t.Errorf("last JSON line: %v", last)
	}
	checkHostUnchanged(t, before)
}

// A learner who quits at the challenge (stdin ends) did not pass: exit 1.
func TestRunQuitIsNotPassed(t *testing.T) {
	needRoot(t)
	utsReady(t)
	before := readHost(t)
	r := nslab(t, invocation{args: []string{"run", "uts"}, stdin: strings.NewReader("1\nhint\n")})
	if r.code != exitFailed || !strings.Contains(r.stdout, "Hint 1/") || !strings.Contains(r.stderr, "did not pass") {
		t.Fatalf("quit at the challenge:\n%s", r)
	}
	// `nslab --plain` is the same runner instead of the TUI.
	r = nslab(t, invocation{args: []string{"--plain", "--lesson", "uts"}, stdin: strings.NewReader("2\nquit\n")})
	if r.code != exitFailed || !strings.Contains(r.stdout, "CLONE_NEWUTS") || !strings.Contains(r.stdout, "Stopped before the end") {
		t.Fatalf("--plain --lesson uts:\n%s", r)
	}
	checkHostUnchanged(t, before)
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// SIGINT, SIGTERM and SIGHUP while a lesson's sandbox is open (the runner
// waits at the challenge prompt, blocked on stdin) close every sandbox and
// exit 128+signal, leaving the host as it was.
func TestRunSignals(t *testing.T) {
	needRoot(t)
	utsReady(t)
	path := needBinary(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(signalName(sig), func(t *testing.T) {
			before := readHost(t)
			cmd := exec.Command(path, "run", "uts", "--plain", "--answer", "1")
			cmd.Env = baseEnv(t.TempDir())
			out, errb, done := startAtChallenge(t, cmd)
			agent := agentPID(out.String())
			if agent == 0 || unix.Kill(agent, 0) != nil {
				t.Fatalf("no live agent named in the output (pid %d)", agent)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("%v did not end nslab within 10 s", sig)
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 128+int(sig) {
				t.Errorf("exit %v, want %d\n%s", err, 128+int(sig), errb.String())
			}
			if !strings.Contains(errb.String(), signalName(sig)) || !strings.Contains(errb.String(), "every sandbox was closed") {
				t.Errorf("stderr: %s", errb.String())
			}
			if err := unix.Kill(agent, 0); !errors.Is(err, unix.ESRCH) {
				t.Errorf("agent %d still exists after %v: %v", agent, sig, err)
			}
			checkHostUnchanged(t, before)
		})
	}
}

// startAtChallenge starts cmd (an `nslab run ID --plain`) with its stdin
// held open, so that the challenge prompt blocks, and waits (bounded)
// until the prompt shows; done receives cmd.Wait's result.
func startAtChallenge(t *testing.T, cmd *exec.Cmd) (out, errb *lockedBuffer, done chan error) {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close() })
	out, errb = &lockedBuffer{}, &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done = make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(out.String(), "challenge> ") {
		select {
		case err := <-done:
			t.Fatalf("ended before the challenge: %v\n%s\n%s", err, out.String(), errb.String())
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("no challenge prompt:\n%s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return out, errb, done
}

// agentPID reads the sandbox's host PID from the runner's nsenter hint.
func agentPID(out string) int {
	const marker = "nsenter --target "
	i := strings.LastIndex(out, marker)
	if i < 0 {
		return 0
	}
	f := strings.Fields(out[i+len(marker):])
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

// On a real terminal (a pseudo-terminal of 100x30) `nslab` starts the
// lesson browser, lists the lessons, and quits on q with exit 0, leaving
// the terminal's alternate screen and the host as they were.
func TestTUIStartsAndQuits(t *testing.T) {
	path := needBinary(t)
	ptmx, pts := openPty(t)
	defer ptmx.Close()
	if err := unix.IoctlSetWinsize(int(pts.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 30, Col: 100}); err != nil {
		t.Fatal(err)
	}
	before := readHost(t)
	cmd := exec.Command(path)
	cmd.Env = append(baseEnv(t.TempDir()), "TERM=xterm-256color")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pts.Close()
	var screen lockedBuffer
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		// Answer the terminal queries a real terminal answers (background
		// colour, cursor position), or the TUI waits for them to time out.
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			chunk := buf[:n]
			screen.Write(chunk)
			if bytes.Contains(chunk, []byte("\x1b]11;?")) {
				ptmx.Write([]byte("\x1b]11;rgb:0000/0000/0000\x1b\\"))
			}
			if bytes.Contains(chunk, []byte("\x1b[6n")) {
				ptmx.Write([]byte("\x1b[1;1R"))
			}
			if err != nil {
				return
			}
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(screen.String(), "UTS namespaces") {
		select {
		case err := <-done:
			t.Fatalf("the TUI ended before showing the lessons: %v\n%q", err, screen.String())
		case <-deadline:
			cmd.Process.Kill()
			<-done
			t.Fatalf("no lesson list on the screen:\n%q", screen.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if _, err := ptmx.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("q: %v\n%q", err, screen.String())
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("q did not quit:\n%q", screen.String())
	}
	// nslab's last bytes (leaving the alternate screen) can still be in the
	// pty when Wait returns: the reader has them all once the master reads
	// EIO, the slave's last holder gone.
	select {
	case <-drained:
	case <-time.After(10 * time.Second):
		t.Fatalf("the terminal still open 10 s after nslab exited (a process of nslab holding it?):\n%q", screen.String())
	}
	if !strings.Contains(screen.String(), "\x1b[?1049l") {
		t.Errorf("the alternate screen was not left")
	}
	checkHostUnchanged(t, before)
}

// Under sudo (root with SUDO_UID/SUDO_GID of the learner, here nobody) the
// progress file and the directories nslab creates belong to the learner,
// and none is writable by others. (The state directory is nobody's: nslab
// writes with the learner's permissions, see leastpriv_test.go.)
func TestProgressUnderSudoBelongsToTheUser(t *testing.T) {
	needRoot(t)
	base, err := os.MkdirTemp("", "nslab-sudo-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	state := filepath.Join(base, "state")
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(state, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	r := nslab(t, invocation{args: []string{"progress", "--reset", "--yes"},
		env: []string{"SUDO_USER=nobody", "SUDO_UID=65534", "SUDO_GID=65534", "XDG_STATE_HOME=" + state}})
	if r.code != 0 {
		t.Fatal(r)
	}
	for _, p := range []string{filepath.Join(state, "nslab"), filepath.Join(state, "nslab", "progress.json")} {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != 65534 || st.Gid != 65534 || st.Mode&0o022 != 0 {
			t.Errorf("%s: owner %d:%d mode %o", p, st.Uid, st.Gid, st.Mode&0o777)
		}
	}
}

// Root without CAP_SYS_ADMIN (what an unprivileged container gives): the
// doctor exits 3 naming the capability, and a lesson is refused with the
// capability and the fix, never a bare EPERM.
func TestRootWithoutCapSysAdmin(t *testing.T) {
	needRoot(t)
	path := needBinary(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) is not installed")
	}
	run := func(args ...string) result {
		argv := append([]string{"--bounding-set=-sys_admin", "--inh-caps=-sys_admin", path}, args...)
		cmd := exec.Command("setpriv", argv...)
		cmd.Env = baseEnv(t.TempDir())
		cmd.Dir = os.TempDir()
		cmd.WaitDelay = 5 * time.Second
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		r := result{stdout: out.String(), stderr: errb.String()}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return r
	}
	before := readHost(t)
	r := run("doctor")
	if r.code != exitMachine || !strings.Contains(r.stdout, "missing CAP_SYS_ADMIN") || !strings.Contains(r.stdout, "✗") || !strings.Contains(r.stdout, "fix: ") {
		t.Errorf("doctor without CAP_SYS_ADMIN:\n%s", r)
	}
	r = run("run", "uts", "--plain", "--solve")
	if r.code != exitMachine || !strings.Contains(r.stderr, "CAP_SYS_ADMIN") || !strings.Contains(r.stderr, "sudo -i") {
		t.Errorf("run uts without CAP_SYS_ADMIN:\n%s", r)
	}
	if strings.Contains(r.stdout+r.stderr, "operation not permitted") {
		t.Errorf("a bare EPERM reached the learner:\n%s", r)
	}
	checkHostUnchanged(t, before)
}
