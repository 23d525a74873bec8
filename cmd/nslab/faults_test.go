package main

// The fault-injection matrix: for every lesson of the catalogue, at every
// part boundary, a real `nslab run ID --plain --solve` (the faultinject
// build, see faultinject.go) is ended by each of: normal completion,
// SIGINT, SIGTERM, SIGHUP, SIGKILL of nslab, SIGKILL of the agent(s), and a
// panic in the runner's goroutine. After each, the host must be exactly as
// it was before (fiHostPrint), the learner's progress file intact, and no
// process of the run left. The matrix then runs a second time in a mount
// namespace of its own whose / is recursively shared, as on a systemd
// host: a mount made by a lesson must never show there.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/catalog"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/sandbox/sandboxtest"
)

const (
	// fiEnvSharedPass marks the re-executed test binary that runs the
	// matrix inside its own mount namespace with / made rshared.
	fiEnvSharedPass = "NSLAB_TEST_FAULT_SHARED_PASS"
	// fiEnvBin hands that child the binary the parent built.
	fiEnvBin = "NSLAB_TEST_FAULT_BIN"
	// fiEnvOnly limits the matrix to some lessons (comma-separated ids),
	// for a quick local run; CI leaves it unset.
	fiEnvOnly = "NSLAB_TEST_FAULT_ONLY"

	fiRunLimit    = 60 * time.Second // one run, start to exit
	fiMarkerLimit = 30 * time.Second // start to the boundary marker
	fiSettle      = 5 * time.Second  // the kernel's async netns teardown
	fiTermGone    = 2 * time.Second  // a closed terminal to nslab's end
)

// fiEnding is one way a run ends.
type fiEnding string

const (
	fiNormal    fiEnding = "normal"
	fiSIGINT    fiEnding = "SIGINT"
	fiSIGTERM   fiEnding = "SIGTERM"
	fiSIGHUP    fiEnding = "SIGHUP"
	fiKillNslab fiEnding = "SIGKILL-nslab"
	fiKillAgent fiEnding = "SIGKILL-agents"
	fiPanic     fiEnding = "panic"
	// fiTermClosed: nslab runs on a pty of its own, as the leader of the
	// session the pty controls, and the pty's master is closed at the
	// boundary, as when a terminal window closes: the kernel hangs the
	// pty up (SIGHUP to nslab, EIO on its terminal).
	fiTermClosed fiEnding = "terminal-closed"
	// fiLeak is no ending of the matrix: the self-test's run, which
	// leaves a process and a file on purpose (faultinject.go).
	fiLeak fiEnding = "leak-on-purpose"
)

func fiEndings() []fiEnding {
	return []fiEnding{fiNormal, fiSIGINT, fiSIGTERM, fiSIGHUP, fiTermClosed, fiKillNslab, fiKillAgent, fiPanic}
}

// fiEnvFull runs every ending at every boundary in both passes (about
// four times the default runs); the default skips, each with its reason,
// the cells that repeat a code path another cell already covers.
const fiEnvFull = "NSLAB_TEST_FAULT_FULL"

// fiSkip says why ending e is not run at part pi of the li-th lesson in
// this pass ("" = run it).
func fiSkip(e fiEnding, li, pi int, shared, full bool) string {
	perform := lessonIndex(lessons.PartPerform)
	switch {
	case e == fiNormal && pi > 0:
		return "normal completion passes every boundary in the one run made at the first"
	case e == fiKillAgent && pi <= perform:
		return "no agent exists before Perform starts the lesson's sandbox"
	case full:
		return ""
	case pi == lessonIndex(lessons.PartPredict):
		return "nothing but text happens between concept and predict: the concept boundary covers it"
	case shared && e != fiNormal && e != fiKillNslab:
		return "shared-root pass: a mount that reached the test namespace stays whatever stops the run; normal completion and SIGKILL at each boundary find it"
	case shared && e == fiKillNslab && pi <= perform:
		return "shared-root pass: no lesson mounts anything before Perform"
	}
	sigs := []fiEnding{fiSIGINT, fiSIGTERM, fiSIGHUP, fiTermClosed}
	if i := slices.Index(sigs, e); i >= 0 && (li+pi)%len(sigs) != i {
		return "SIGINT, SIGTERM, SIGHUP and a closed terminal share one handler: one of them a boundary, rotating over lessons and parts so each meets each part and each lesson"
	}
	return ""
}

func lessonIndex(p lessons.Part) int { return slices.Index(lessons.Parts(), p) }

// fiBuild builds the faultinject binary once for a test, into a directory
// every user may read (the bad-input tests run it as nobody too).
func fiBuild(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(fiEnvBin); p != "" {
		return p
	}
	dir := t.TempDir()
	// nobody runs it too; t.TempDir makes the parent 0700.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "nslab")
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = "/usr/local/go/bin/go" // where .ci/run and the Dockerfile put it
	}
	start := time.Now()
	out, err := exec.Command(goCmd, "build", "-tags", "faultinject", "-o", path, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build -tags faultinject: %v\n%s", err, out)
	}
	t.Logf("built the faultinject nslab in %v", time.Since(start).Round(time.Millisecond))
	return path
}

func TestFaultMatrix(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the matrix runs every lesson for real and compares the host")
	}
	if testing.Short() {
		t.Skip("-short: the fault-injection matrix runs every lesson dozens of times")
	}
	if os.Getenv(fiEnvSharedPass) == "1" {
		fiSharedChild(t)
		return
	}
	bin := fiBuild(t)
	start := time.Now()
	fiMatrix(t, bin, "host")
	t.Logf("fault matrix, host pass: %v", time.Since(start).Round(time.Second))
	if t.Failed() {
		return
	}
	start = time.Now()
	fiSharedPass(t, bin)
	t.Logf("fault matrix, shared-root pass: %v", time.Since(start).Round(time.Second))
}

// fiSharedPass re-executes this test binary in a new mount namespace
// (Unshareflags: Go makes its / rprivate first) where the child makes /
// rshared and runs the matrix again.
func fiSharedPass(t *testing.T, bin string) {
	limit := 20 * time.Minute
	if d, ok := t.Deadline(); ok {
		limit = time.Until(d) - 30*time.Second
	}
	args := []string{"-test.run=^TestFaultMatrix$", "-test.v", "-test.count=1", "-test.timeout=" + limit.String()}
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), fiEnvSharedPass+"=1", fiEnvBin+"="+bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		t.Log("shared-root pass | " + line)
	}
	if err != nil {
		t.Fatalf("the matrix in a mount namespace with / rshared failed: %v", err)
	}
	if !bytes.Contains(out, []byte("--- PASS: TestFaultMatrix")) {
		t.Fatal("the shared-root pass did not report a pass")
	}
}

// fiSharedChild is the re-executed test binary: check that it is in a
// mount namespace of its own, make / rshared there, run the matrix.
func fiSharedChild(t *testing.T) {
	self, err := sandbox.ReadIDs(0)
	if err != nil {
		t.Fatal(err)
	}
	parent, err := sandbox.ReadIDs(os.Getppid())
	if err != nil {
		t.Fatal(err)
	}
	if self["mnt"] == parent["mnt"] {
		t.Fatal("the shared-root pass must run in a mount namespace of its own")
	}
	// Only in this namespace: its mounts are a private copy of the host's.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SHARED, ""); err != nil {
		t.Fatalf("mount --make-rshared / in the test namespace: %v", err)
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.SplitN(fiRootLine(string(mi)), " - ", 2)[0], "shared:") {
		t.Fatalf("/ is not shared after --make-rshared:\n%s", fiRootLine(string(mi)))
	}
	fiMatrix(t, os.Getenv(fiEnvBin), "shared-root")
}

func fiRootLine(mountinfo string) string {
	for _, l := range strings.Split(mountinfo, "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == "/" {
			return l
		}
	}
	return ""
}

// fiMatrix runs every lesson × part × ending, in sequence.
func fiMatrix(t *testing.T, bin, pass string) {
	shared := pass != "host"
	full := os.Getenv(fiEnvFull) == "1"
	// Orphans of a killed nslab come to this process instead of PID 1, so
	// that a process left by the run is found by its ancestry even when
	// other test binaries run beside this one.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("become a child subreaper: %v", err)
	}
	ls, err := catalog.All()
	if err != nil {
		t.Fatal(err)
	}
	only := map[string]bool{}
	for _, id := range strings.Split(os.Getenv(fiEnvOnly), ",") {
		if id != "" {
			only[id] = true
		}
	}
	parts := lessons.Parts()
	var ran, skipped, placeholders int
	skips := map[string]int{}
	for li, l := range ls {
		if len(only) > 0 && !only[l.ID] {
			continue
		}
		if l.Logic.Perform == nil || l.Logic.Check == nil {
			placeholders++
			t.Logf("[%s] lesson %s SKIPPED: its logic is still a placeholder (no Perform or Solve); the matrix covers it once it lands", pass, l.ID)
			continue
		}
		lstart := time.Now()
		n := 0
		for pi, part := range parts {
			for _, e := range fiEndings() {
				if why := fiSkip(e, li, pi, shared, full); why != "" {
					skipped++
					skips[string(e)+": "+why]++
					continue
				}
				if d, ok := t.Deadline(); ok && time.Until(d) < 2*fiRunLimit {
					t.Fatalf("[%s] out of time before %s at %s of %s: the matrix needs about 5 minutes per pass on 2 cores; give go test -timeout 30m", pass, e, part, l.ID)
				}
				name := fmt.Sprintf("%s/%s/%s/%s", pass, l.ID, part, e)
				t.Run(name, func(t *testing.T) { fiOne(t, bin, l, part, e) })
				n++
			}
		}
		ran += n
		t.Logf("[%s] lesson %s: %d runs in %v", pass, l.ID, n, time.Since(lstart).Round(100*time.Millisecond))
	}
	lessonsRun := 0
	for _, l := range ls {
		if (len(only) == 0 || only[l.ID]) && l.Logic.Perform != nil && l.Logic.Check != nil {
			lessonsRun++
		}
	}
	t.Logf("[%s] fault matrix: %d lessons × %d parts × %d endings = %d cells; %d runs, %d skipped with a reason, %d placeholder lessons skipped",
		pass, lessonsRun, len(parts), len(fiEndings()), lessonsRun*len(parts)*len(fiEndings()), ran, skipped, placeholders)
	whys := slices.Sorted(maps.Keys(skips))
	for _, why := range whys {
		t.Logf("[%s]   skipped %d× %s", pass, skips[why], why)
	}
	if t.Failed() {
		t.Logf("[%s] fault matrix: FAILED", pass)
	} else {
		t.Logf("[%s] fault matrix: all %d runs left the host exactly as it was", pass, ran)
	}
}

// fiOne runs one cell of the matrix and checks the host afterwards.
func fiOne(t *testing.T, bin string, l lessons.Lesson, part lessons.Part, e fiEnding) {
	state := t.TempDir()
	tmp := t.TempDir()
	progress := filepath.Join(state, "nslab", "progress.json")
	// A learner's earlier progress, which no ending may lose.
	prior := lessons.NewProgress()
	prior.Mark("fault-matrix-prior", lessons.StatusDone, lessons.PartRecap)
	if err := lessons.SaveProgress(progress, prior); err != nil {
		t.Fatal(err)
	}
	before := fiTakeHostPrint(t, bin)

	ctx, cancel := context.WithTimeout(t.Context(), fiRunLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", l.ID, "--plain", "--solve")
	cmd.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + state, "XDG_STATE_HOME=" + state, "TMPDIR=" + tmp, "LANG=C.UTF-8",
	}
	switch e {
	case fiNormal:
	case fiLeak:
		cmd.Env = append(cmd.Env, "NSLAB_FAULT="+string(part)+":leak")
	case fiPanic:
		cmd.Env = append(cmd.Env, "NSLAB_FAULT="+string(part)+":panic")
	default:
		cmd.Env = append(cmd.Env, "NSLAB_FAULT="+string(part)+":wait")
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	var master *os.File
	ptyOut := make(chan struct{})
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.WaitDelay = 5 * time.Second
	// A test killed mid-run must not leave nslab running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if e == fiTermClosed {
		// nslab's stdin and stdout are a pty it leads the session of, as
		// on a terminal; stderr stays the pipe that carries the marker.
		var slave *os.File
		master, slave = fiOpenPty(t)
		defer master.Close()
		cmd.Stdin, cmd.Stdout = slave, slave
		cmd.SysProcAttr.Setsid, cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, true, 0
		err := cmd.Start()
		slave.Close()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer close(ptyOut)
			_, _ = stdout.ReadFrom(master) // ends with EIO or the close
		}()
	} else {
		close(ptyOut)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	var closedAt time.Time
	// Read stderr as it comes: the marker says the run is at the boundary.
	marker := make(chan []int, 1)
	var stderr bytes.Buffer
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			line := sc.Text()
			stderr.WriteString(line + "\n")
			if rest, ok := strings.CutPrefix(line, "NSLAB-AT-PART "); ok {
				f := strings.Fields(rest)
				var pids []int
				for _, s := range f[1:] {
					if n, err := strconv.Atoi(s); err == nil {
						pids = append(pids, n)
					}
				}
				marker <- pids
			}
		}
	}()

	var agents []int
	if e != fiNormal && e != fiPanic && e != fiLeak {
		select {
		case agents = <-marker:
		case <-readDone:
			// nslab ended before the boundary: fall through to Wait.
			_ = cmd.Wait()
			t.Fatalf("nslab ended before reaching part %s:\n%s\n--- stderr\n%s", part, stdout.String(), stderr.String())
		case <-time.After(fiMarkerLimit):
			_ = cmd.Process.Kill()
			<-readDone
			_ = cmd.Wait()
			t.Fatalf("nslab did not reach part %s within %v:\n%s", part, fiMarkerLimit, stderr.String())
		}
		if e == fiKillAgent && len(agents) == 0 {
			_ = cmd.Process.Kill()
			<-readDone
			_ = cmd.Wait()
			t.Fatalf("no agent running at part %s of lesson %s", part, l.ID)
		}
		switch e {
		case fiSIGINT:
			_ = cmd.Process.Signal(syscall.SIGINT)
		case fiSIGTERM:
			_ = cmd.Process.Signal(syscall.SIGTERM)
		case fiSIGHUP:
			_ = cmd.Process.Signal(syscall.SIGHUP)
		case fiTermClosed:
			closedAt = time.Now()
			master.Close()
		case fiKillNslab:
			_ = cmd.Process.Kill()
		case fiKillAgent:
			for _, pid := range agents {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
			_ = cmd.Process.Signal(syscall.SIGUSR1) // carry on without them
		}
	}
	<-readDone
	werr := cmd.Wait()
	took := time.Since(start)
	<-ptyOut
	if ctx.Err() != nil {
		t.Fatalf("nslab hung: not ended within %v (%s at %s)\n%s", fiRunLimit, e, part, stderr.String())
	}
	code, sig := fiExit(werr)
	out := stdout.String() + stderr.String()
	t.Logf("exit %d%s in %v", code, fiSigWord(sig), took.Round(10*time.Millisecond))

	// How it must end.
	switch e {
	case fiNormal, fiLeak:
		if code != 0 {
			t.Errorf("normal run: exit %d, want 0\n%s", code, out)
		}
	case fiSIGINT, fiSIGTERM, fiSIGHUP, fiTermClosed:
		want := map[fiEnding]int{fiSIGINT: 130, fiSIGTERM: 143, fiSIGHUP: 129, fiTermClosed: 129}[e]
		if code != want || !strings.Contains(stderr.String(), "every sandbox was closed") {
			t.Errorf("%s at %s: exit %d, want %d with a word that every sandbox was closed\n%s", e, part, code, want, out)
		}
		if e == fiTermClosed && time.Since(closedAt) > fiTermGone {
			t.Errorf("terminal closed at %s: nslab took %v to end, want at most %v", part, time.Since(closedAt).Round(time.Millisecond), fiTermGone)
		}
	case fiKillNslab:
		if sig != syscall.SIGKILL {
			t.Errorf("SIGKILL at %s: exit %d signal %v", part, code, sig)
		}
	case fiKillAgent:
		// The lesson may still pass when nothing after the boundary needs
		// the agent (recap); otherwise it must fail and say so.
		if sig != 0 || (code != 0 && code != exitFailed && code != exitInternal) {
			t.Errorf("agents killed at %s: exit %d%s\n%s", part, code, fiSigWord(sig), out)
		}
		if code != 0 && !strings.Contains(stderr.String(), "nslab: ") {
			t.Errorf("agents killed at %s: exit %d without a message\n%s", part, code, out)
		}
	case fiPanic:
		if code != exitInternal || !strings.Contains(stderr.String(), "fault injected at part "+string(part)) {
			t.Errorf("panic at %s: exit %d, want %d naming the panic\n%s", part, code, exitInternal, out)
		}
	}
	for _, bad := range []string{"goroutine ", "panic:", "fatal error:", "DATA RACE"} {
		if strings.Contains(out, bad) {
			t.Errorf("output holds %q:\n%s", bad, out)
		}
	}

	// Nothing left behind.
	var d []string
	for deadline := time.Now().Add(fiSettle); ; {
		fiReapOrphans()
		d = before.diff(fiTakeHostPrint(t, bin))
		d = append(d, fiLeftFiles(state, tmp)...)
		if len(d) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if e == fiLeak {
		fiCheckSelfTest(t, d)
		return
	}
	for _, x := range d {
		t.Errorf("left behind after %s at %s: %s", e, part, x)
	}
	// The learner's progress is intact: a valid file that still holds
	// what was there before.
	p, warning, err := lessons.LoadProgress(progress)
	switch {
	case err != nil || warning != "":
		t.Errorf("progress after %s at %s: %q %v", e, part, warning, err)
	case p.Get("fault-matrix-prior").Status != lessons.StatusDone:
		t.Errorf("progress lost after %s at %s: %+v", e, part, p)
	}
}

// fiCheckSelfTest wants the leftovers of a leak-on-purpose run reported,
// and then removes the leaked process.
func fiCheckSelfTest(t *testing.T, d []string) {
	t.Helper()
	var proc, file bool
	cgroup := true
	if _, v2, err := sandbox.CgroupLayout(); err == nil && v2 != "" {
		leaked := filepath.Join(v2, sandbox.CgroupPrefix+"leak-selftest")
		cgroup = strings.Contains(strings.Join(d, "\n"), "nslab's cgroups changed") && strings.Contains(strings.Join(d, "\n"), sandbox.CgroupPrefix+"leak-selftest")
		if err := os.Remove(leaked); err != nil {
			t.Errorf("remove the cgroup left on purpose: %v", err)
		}
	}
	for _, x := range d {
		t.Logf("detected, as it should be: %s", x)
		if rest, ok := strings.CutPrefix(x, "process left ("); ok && strings.Contains(x, "uts") {
			proc = true
			if _, after, ok := strings.Cut(rest, "): "); ok {
				if pid, err := strconv.Atoi(strings.Fields(after)[0]); err == nil {
					_ = unix.Kill(pid, unix.SIGKILL)
				}
			}
		}
		if strings.Contains(x, "file in TMPDIR: nslab-leak-selftest") {
			file = true
		}
	}
	if !proc || !file || !cgroup {
		t.Errorf("the matrix missed a leak made on purpose (process in a new uts namespace found: %v, file found: %v, cgroup found: %v)", proc, file, cgroup)
	}
	fiReapAfterKill()
}

// fiReapAfterKill reaps what the self-test killed, bounded.
func fiReapAfterKill() {
	for range 50 {
		fiReapOrphans()
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFaultMatrixSeesLeaks shows the matrix's detectors can fail: a run
// that leaves a process in a new namespace and a temporary file (the
// faultinject build's "leak" action) is caught.
func TestFaultMatrixSeesLeaks(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the leaked process gets a new UTS namespace")
	}
	bin := fiBuild(t)
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("become a child subreaper: %v", err)
	}
	l, err := catalog.ByID("overview")
	if err != nil {
		t.Fatal(err)
	}
	if l.Logic.Perform == nil {
		t.Skip("the overview lesson is still a placeholder")
	}
	fiOne(t, bin, l, lessons.PartConcept, fiLeak)
}

func fiExit(err error) (code int, sig syscall.Signal) {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -1, ws.Signal()
		}
		return ee.ExitCode(), 0
	}
	if err != nil {
		return -1, 0
	}
	return 0, 0
}

func fiSigWord(sig syscall.Signal) string {
	if sig == 0 {
		return ""
	}
	return " (killed by " + unix.SignalName(sig) + ")"
}

// fiLeftFiles lists files a run left in its state and temporary
// directories: only progress.json may be in the state directory.
func fiLeftFiles(state, tmp string) []string {
	var out []string
	ents, _ := os.ReadDir(filepath.Join(state, "nslab"))
	for _, e := range ents {
		if e.Name() != "progress.json" {
			out = append(out, "file in the state directory: "+e.Name())
		}
	}
	ents, _ = os.ReadDir(tmp)
	for _, e := range ents {
		out = append(out, "file in TMPDIR: "+e.Name())
	}
	return out
}

// fiHostPrint is what no run may change: the fingerprint every privileged
// test in the module shares (sandbox/sandboxtest), plus what only the
// matrix checks.
type fiHostPrint struct {
	host    sandboxtest.HostPrint
	mqNslab bool     // the lessons' POSIX queue /nslab exists in this ipc namespace
	shm     []string // /dev/shm entries naming nslab
	procs   map[string]string
}

// fiTakeHostPrint reads the host as this process sees it. Processes that
// belong to another test binary running at the same time (go test runs
// packages in parallel) are left out; see fiProcs.
func fiTakeHostPrint(t *testing.T, bin string) fiHostPrint {
	t.Helper()
	p := fiHostPrint{host: sandboxtest.TakeHostPrint(t)}
	// MQueueExists probes the calling thread's ipc namespace: this test
	// never leaves the host's.
	p.mqNslab, _ = sandbox.MQueueExists("/nslab")
	// POSIX shared memory and semaphores of nslab's (none today); files
	// in a temporary directory show in the run's own TMPDIR (fiLeftFiles).
	ents, _ := os.ReadDir("/dev/shm")
	for _, e := range ents {
		if strings.Contains(strings.ToLower(e.Name()), "nslab") {
			p.shm = append(p.shm, e.Name())
		}
	}
	p.procs = fiProcs(t, bin)
	return p
}

// fiProcInfo is what the process scan needs of one /proc entry.
type fiProcInfo struct {
	ppid  int
	state string
	exe   string
	comm  string
}

func fiReadProc(pid int) (fiProcInfo, bool) {
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return fiProcInfo{}, false
	}
	s := string(st)
	i := strings.LastIndexByte(s, ')')
	j := strings.IndexByte(s, '(')
	if i < 0 || j < 0 {
		return fiProcInfo{}, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return fiProcInfo{}, false
	}
	pp, _ := strconv.Atoi(f[1])
	exe, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	return fiProcInfo{ppid: pp, state: f[0], exe: strings.TrimSuffix(exe, " (deleted)"), comm: s[j+1 : i]}, true
}

// fiProcs maps the processes that count as left from a run to why: any
// process running the nslab binary under test, and any descendant of this
// test process. This process is a child subreaper (fiMatrix), so every
// process a run starts stays a descendant even after nslab is killed;
// processes of other test binaries running at the same time (go test runs
// packages in parallel, some of them build container images) are not.
// Each is labelled with the namespaces it does not share with the test.
func fiProcs(t *testing.T, bin string) map[string]string {
	t.Helper()
	self, err := sandbox.ReadIDs(0)
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir("/proc")
	all := map[int]fiProcInfo{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pi, ok := fiReadProc(pid); ok {
			all[pid] = pi
		}
	}
	me := os.Getpid()
	descends := func(pid int) bool {
		for i := 0; i < 64 && pid > 1; i++ {
			pi, ok := all[pid]
			if !ok {
				return false
			}
			if pi.ppid == me {
				return true
			}
			pid = pi.ppid
		}
		return false
	}
	out := map[string]string{}
	for pid, pi := range all {
		if pid == me || pi.state == "Z" {
			continue
		}
		if pi.exe != bin && !descends(pid) {
			continue
		}
		why := "a descendant of the test"
		if pi.exe == bin {
			why = "runs the nslab binary"
		}
		if ids, err := sandbox.ReadIDs(pid); err == nil {
			var diff []string
			for _, k := range sandbox.Kinds() {
				a, aok := ids[k.ProcName]
				b, bok := self[k.ProcName]
				if aok && bok && a != b {
					diff = append(diff, k.ProcName)
				}
			}
			if len(diff) > 0 {
				why += ", in foreign namespaces: " + strings.Join(diff, ",")
			}
		}
		out[fmt.Sprintf("%d %s (%s)", pid, pi.comm, pi.exe)] = why
	}
	return out
}

// fiReapOrphans reaps the zombies re-parented to this subreaper (agents
// of a killed nslab). Only zombies are waited for, by pid, so no live
// child's status is taken from os/exec.
func fiReapOrphans() {
	me := os.Getpid()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pi, ok := fiReadProc(pid); ok && pi.ppid == me && pi.state == "Z" {
			var ws unix.WaitStatus
			_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		}
	}
}

func (a fiHostPrint) diff(b fiHostPrint) []string {
	var out []string
	if d := a.host.Diff(b.host); d != "" {
		out = append(out, d)
	}
	cmp := func(what, x, y string) {
		if x != y {
			out = append(out, fmt.Sprintf("%s changed:\n  before: %s\n  after:  %s", what, x, y))
		}
	}
	cmp("POSIX queue /nslab in the host's ipc namespace", strconv.FormatBool(a.mqNslab), strconv.FormatBool(b.mqNslab))
	cmp("nslab entries in /dev/shm", strings.Join(a.shm, " "), strings.Join(b.shm, " "))
	for k, v := range b.procs {
		if _, ok := a.procs[k]; !ok {
			out = append(out, fmt.Sprintf("process left (%s): %s", v, k))
		}
	}
	slices.Sort(out)
	return out
}

// fiOpenPty opens a pty whose master is in Go's poller, so that closing it
// while a goroutine reads it really closes it and hangs the pty up
// (creack/pty's Open leaves the master blocking; see sandbox.StartOnPTY).
func fiOpenPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	fd, err := unix.FcntlInt(m.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	return os.NewFile(uintptr(fd), m.Name()), slave
}
