package main

// BenchmarkClassLoad: a class on one machine. It starts the real
// `nslab serve` and drives N simulated learners through
// golang.org/x/crypto/ssh, each with lesson uts performed, the live views
// on and the shell pane typing one key a second; it measures the server's
// CPU, the memory (PSS) of the server and of everything it started
// (agents, shells), and keystroke → echo latency p50/p99. The anchor is
// timed in the same run: the same echo on bash on a bare pty, and one
// learner alone over SSH. The host is compared before and after.
//
//	sudo flock /tmp/nslab-test.lock go test -run '^$' -bench '^BenchmarkClassLoad$' \
//	    -benchtime 1x -timeout 60m ./cmd/nslab
//
// NSLAB_CLASS_N (default "50,100,200") lists the class sizes;
// NSLAB_CLASS_WINDOW (default 30s) is how long each size is measured once
// every learner types.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/procfs"
	"golang.org/x/crypto/ssh"

	"github.com/nslab/nslab/sandbox/sandboxtest"
	"github.com/nslab/nslab/ui/serve/servetest"
)

// simLearner is one learner's SSH session with a terminal of 120×40.
type simLearner struct {
	*termLog // what the server wrote since the last reset
	name     string
	client   *ssh.Client
	sess     *ssh.Session
	stdin    io.Writer
}

var errNoEcho = errors.New("no echo")

// dialLearner logs in with the class code (keyboard-interactive, then
// password, as nslab serve offers them) and starts the TUI on a pty. It
// reads the raw output without a terminal emulator (servetest.Terminal
// has one), so that 200 learners cost the machine little next to the
// server they measure.
func dialLearner(addr, name, code string) (*simLearner, error) {
	answer := func(_, _ string, questions []string, _ []bool) ([]string, error) {
		out := make([]string, len(questions))
		for i := range out {
			out[i] = code
		}
		return out, nil
	}
	c, err := servetest.Dial{
		Addr: addr, Name: name,
		Auth: []ssh.AuthMethod{ssh.KeyboardInteractive(answer), ssh.Password(code)},
	}.Connect()
	if err != nil {
		return nil, fmt.Errorf("%s: dial: %w", name, err)
	}
	s, err := c.NewSession()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: session: %w", name, err)
	}
	l := &simLearner{name: name, client: c, sess: s}
	fail := func(what string, err error) (*simLearner, error) {
		l.close()
		return nil, fmt.Errorf("%s: %s: %w", name, what, err)
	}
	if err := s.RequestPty("xterm-256color", 40, 120, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
		return fail("pty", err)
	}
	if l.stdin, err = s.StdinPipe(); err != nil {
		return fail("stdin", err)
	}
	outR, err := s.StdoutPipe()
	if err != nil {
		return fail("stdout", err)
	}
	l.termLog = newTermLog(outR)
	if err := s.Shell(); err != nil {
		return fail("shell", err)
	}
	return l, nil
}

func (l *simLearner) waitFor(s string, d time.Duration) error {
	if err := l.wait(0, s, d); err != nil {
		return fmt.Errorf("%s: %w", l.name, err)
	}
	return nil
}

func (l *simLearner) send(s string) error {
	_, err := l.stdin.Write([]byte(s))
	return err
}

// step sends keys and waits for what they must bring.
func (l *simLearner) step(keys []string, want string, d time.Duration) error {
	for i, k := range keys {
		if i == len(keys)-1 {
			l.reset()
		}
		if err := l.send(k); err != nil {
			return err
		}
		if i < len(keys)-1 {
			time.Sleep(200 * time.Millisecond)
		}
	}
	return l.waitFor(want, d)
}

// openShellPane takes the learner from the lesson list to lesson uts
// performed with the shell pane open: the keys BenchmarkShellPane uses.
func (l *simLearner) openShellPane(d time.Duration) error {
	if err := l.waitFor("UTS namespaces", d); err != nil {
		return err
	}
	if err := l.step([]string{"j", "\r", "n", "n", "\r"}, "unshare(CLONE_NEWUTS) = 0", d); err != nil {
		return err
	}
	return l.step([]string{"n", "n", "s"}, "[nslab:uts]", d)
}

// echo types Q into the shell pane and times until a Q comes back, then
// erases it.
func (l *simLearner) echo(d time.Duration) (time.Duration, error) {
	l.reset()
	t0 := time.Now()
	if err := l.send("Q"); err != nil {
		return 0, err
	}
	if err := l.waitFor("Q", d); err != nil {
		return 0, err
	}
	lat := time.Since(t0)
	return lat, l.send("\x7f")
}

func (l *simLearner) close() {
	if l.sess != nil {
		_ = l.sess.Close()
	}
	_ = l.client.Close()
}

// quit leaves the pane and the TUI as a learner does; the server closes
// the learner's sandboxes.
func (l *simLearner) quit() {
	for _, k := range []string{"\x1d", "q", "q"} {
		_ = l.send(k)
		time.Sleep(200 * time.Millisecond)
	}
	if l.termLog != nil {
		select {
		case <-l.done:
		case <-time.After(5 * time.Second):
		}
	}
	l.close()
}

// procTree is the server and everything it started, by pid.
type procTree struct {
	cpu       map[int]float64 // seconds of user+system time
	serverPSS uint64
	restPSS   uint64
	procs     int
	reaped    float64 // the server's cutime+cstime: children it waited for
}

func sampleTree(fs procfs.FS, root int) (procTree, error) {
	all, err := fs.AllProcs()
	if err != nil {
		return procTree{}, err
	}
	parent := map[int]int{}
	stats := map[int]procfs.ProcStat{}
	for _, p := range all {
		st, err := p.Stat()
		if err != nil {
			continue // it exited meanwhile
		}
		parent[p.PID] = st.PPID
		stats[p.PID] = st
	}
	in := func(pid int) bool {
		for i := 0; pid > 1 && i < 64; i++ {
			if pid == root {
				return true
			}
			pid = parent[pid]
		}
		return false
	}
	t := procTree{cpu: map[int]float64{}}
	for pid, st := range stats {
		if !in(pid) {
			continue
		}
		t.procs++
		t.cpu[pid] = st.CPUTime()
		p, err := fs.Proc(pid)
		if err != nil {
			continue
		}
		r, err := p.ProcSMapsRollup()
		if err != nil {
			continue
		}
		if pid == root {
			t.serverPSS = r.Pss
			t.reaped = float64(st.CUTime+st.CSTime) / 100 // USER_HZ
		} else {
			t.restPSS += r.Pss
		}
	}
	return t, nil
}

// cpuBetween is the CPU seconds the tree used between two samples.
func cpuBetween(a, b procTree) float64 {
	s := b.reaped - a.reaped
	for pid, t1 := range b.cpu {
		if t0, ok := a.cpu[pid]; ok {
			s += t1 - t0
		} else {
			s += t1 // started during the window
		}
	}
	return s
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// classResult is one row of the README's table.
type classResult struct {
	n, joined         int
	p50, p99          time.Duration
	echoes, timeouts  int
	cpuServer         float64 // percent of one core
	cpuClients        float64 // this benchmark's own, the simulated learners
	pssServer, pssAll uint64
	procs             int
	rampUp            time.Duration
}

func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// runClass serves one class of n learners and measures it for window.
func runClass(b *testing.B, n int, window time.Duration) classResult {
	b.Helper()
	const code = "bench-code-42"
	port := freePort(b)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	state := b.TempDir()
	srv := exec.Command(bin.path, "serve", "--listen", addr, "--state-dir", state,
		"--code", code, "--max-learners", strconv.Itoa(n+5), "--idle-timeout", "1h")
	srv.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + state, "LANG=C.UTF-8"}
	var log bytes.Buffer
	srv.Stdout, srv.Stderr = &log, &log
	srv.WaitDelay = 10 * time.Second
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = srv.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- srv.Wait() }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			_ = srv.Process.Kill()
			<-done
			b.Errorf("nslab serve did not stop within 60 s of SIGINT")
		}
	}
	defer stop()
	for deadline := time.Now().Add(20 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("nslab serve did not listen on %s: %s", addr, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Ramp up: at most 8 learners logging in and performing at once.
	t0 := time.Now()
	learners := make([]*simLearner, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			l, err := dialLearner(addr, fmt.Sprintf("learner%03d", i+1), code)
			if err == nil {
				err = l.openShellPane(3 * time.Minute)
				if err != nil {
					l.close()
					l = nil
				}
			}
			learners[i], errs[i] = l, err
		}()
	}
	wg.Wait()
	r := classResult{n: n, rampUp: time.Since(t0)}
	var live []*simLearner
	var failed []error
	for i, l := range learners {
		if l != nil {
			live = append(live, l)
		} else {
			failed = append(failed, errs[i])
		}
	}
	r.joined = len(live)
	if len(failed) > 0 {
		b.Logf("%d of %d learners did not reach the shell pane; the first: %v", len(failed), n, failed[0])
	}
	if r.joined == 0 {
		b.Fatalf("no learner reached the shell pane\n%s", log.String())
	}

	// The window: every learner types one key a second (jittered, so they
	// do not type in step), the views live.
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		b.Fatal(err)
	}
	self, _ := fs.Self()
	selfStat0, _ := self.Stat()
	s0, err := sampleTree(fs, srv.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	w0 := time.Now()
	end := w0.Add(window)
	var mu sync.Mutex
	var lat []time.Duration
	for _, l := range live {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(rand.N(time.Second))
			for time.Now().Before(end) {
				d, err := l.echo(10 * time.Second)
				mu.Lock()
				if err != nil {
					r.timeouts++
				} else {
					lat = append(lat, d)
				}
				mu.Unlock()
				if err != nil && !errors.Is(err, errNoEcho) {
					return // the session is gone
				}
				time.Sleep(time.Second/2 + rand.N(time.Second))
			}
		}()
	}
	// Memory at mid-window, when every learner is typing.
	time.Sleep(window / 2)
	mid, err := sampleTree(fs, srv.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	wg.Wait()
	s1, err := sampleTree(fs, srv.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	secs := time.Since(w0).Seconds()
	selfStat1, _ := self.Stat()
	r.cpuServer = cpuBetween(s0, s1) / secs * 100
	r.cpuClients = (selfStat1.CPUTime() - selfStat0.CPUTime()) / secs * 100
	r.pssServer, r.pssAll, r.procs = mid.serverPSS, mid.serverPSS+mid.restPSS, mid.procs
	r.echoes = len(lat)
	r.p50, r.p99 = percentile(lat, 0.50), percentile(lat, 0.99)

	for _, l := range live {
		wg.Add(1)
		go func() { defer wg.Done(); l.quit() }()
	}
	wg.Wait()
	stop()
	// Every learner's sandboxes end with their session: nothing the
	// server started may outlive it.
	if left, err := sampleTree(fs, srv.Process.Pid); err == nil && left.procs > 0 {
		b.Errorf("%d processes of the server's tree outlived it", left.procs)
	}
	return r
}

// bareEcho is the anchor: the same Q-and-erase on bash on a bare pty.
func bareEcho(b *testing.B, samples int) time.Duration {
	cmd := exec.Command("bash", "--norc", "--noprofile", "-i")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "TERM=xterm-256color", "PS1=$ "}
	p := startOnPty(b, cmd, 120, 40)
	p.waitFor(b, 0, "$ ", 10*time.Second)
	var d []time.Duration
	for range samples {
		d = append(d, p.echo(b))
	}
	return percentile(d, 0.5)
}

func mib(x uint64) float64 { return float64(x) / (1 << 20) }

func BenchmarkClassLoad(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: nslab serve makes every learner's sandboxes")
	}
	if bin.err != nil {
		b.Fatal(bin.err)
	}
	if out, err := exec.Command(bin.path, "serve", "--help").CombinedOutput(); err != nil {
		b.Skipf("this nslab has no serve command (the serve branch is not merged): %v %s", err, out)
	}
	sizes := []int{50, 100, 200}
	if s := os.Getenv("NSLAB_CLASS_N"); s != "" {
		sizes = nil
		for f := range strings.SplitSeq(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				b.Fatalf("NSLAB_CLASS_N=%q: want sizes like 50,100,200", s)
			}
			sizes = append(sizes, n)
		}
	}
	window := 30 * time.Second
	if s := os.Getenv("NSLAB_CLASS_WINDOW"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 5*time.Second {
			b.Fatalf("NSLAB_CLASS_WINDOW=%q: want a duration of 5s or more", s)
		}
		window = d
	}
	before := sandboxtest.TakeHostPrint(b)
	for b.Loop() {
		bare := bareEcho(b, 20)
		rows := []classResult{runClass(b, 1, window)}
		for _, n := range sizes {
			rows = append(rows, runClass(b, n, window))
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "\nanchor: bash on a bare pty echoes in %.1f ms (median of 20); window %s a size\n\n", float64(bare.Microseconds())/1000, window)
		sb.WriteString("| learners | reached the pane | ramp-up | echo p50 | echo p99 | no echo in 10 s | server tree CPU | benchmark's clients CPU | PSS server | PSS server + agents + shells | processes |\n")
		sb.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, r := range rows {
			fmt.Fprintf(&sb, "| %d | %d | %.0f s | %.1f ms | %.1f ms | %d of %d | %.0f %% | %.0f %% | %.0f MiB | %.0f MiB | %d |\n",
				r.n, r.joined, r.rampUp.Seconds(), float64(r.p50.Microseconds())/1000, float64(r.p99.Microseconds())/1000,
				r.timeouts, r.echoes+r.timeouts, r.cpuServer, r.cpuClients, mib(r.pssServer), mib(r.pssAll), r.procs)
			tag := "n" + strconv.Itoa(r.n)
			b.ReportMetric(float64(r.p99.Microseconds())/1000, "ms-p99-"+tag)
			b.ReportMetric(mib(r.pssAll), "MiB-pss-"+tag)
		}
		b.Log(sb.String())
	}
	checkHostUnchanged(b, before)
}
