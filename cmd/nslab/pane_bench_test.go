package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptyProc is a program on a pty of ours: we are its terminal.
type ptyProc struct {
	*termLog // everything it wrote
	cmd      *exec.Cmd
	ptmx     *os.File
}

func startOnPty(tb testing.TB, cmd *exec.Cmd, w, h int) *ptyProc {
	tb.Helper()
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(w), Rows: uint16(h)})
	if err != nil {
		tb.Fatal(err)
	}
	p := &ptyProc{termLog: newTermLog(f), cmd: cmd, ptmx: f}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = f.Close()
	})
	return p
}

// waitFor waits until s appears in what was written after offset from.
func (p *ptyProc) waitFor(tb testing.TB, from int, s string, d time.Duration) {
	tb.Helper()
	if err := p.wait(from, s, d); err != nil {
		tb.Fatal(err)
	}
}

func (p *ptyProc) send(tb testing.TB, s string) {
	tb.Helper()
	if _, err := p.ptmx.WriteString(s); err != nil {
		tb.Fatal(err)
	}
}

// echo types Q and measures until a Q comes back, then erases it.
func (p *ptyProc) echo(tb testing.TB) time.Duration {
	tb.Helper()
	from := p.len()
	t0 := time.Now()
	p.send(tb, "Q")
	p.waitFor(tb, from, "Q", 5*time.Second)
	d := time.Since(t0)
	p.send(tb, "\x7f")
	time.Sleep(150 * time.Millisecond) // the erase is drawn; the next echo starts clean
	return d
}

// procStat is a process's CPU time (user+system, in clock ticks) and RSS.
func procStat(tb testing.TB, pid int) (ticks int64, rssKB int64) {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(string(s), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			rssKB, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return ut + st, rssKB
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkShellPane measures the shell pane against a bare pty in the
// same run: the real nslab on a pty of ours (120×40), uts performed, the
// shell pane open; each iteration types one key into the pane and times
// until nslab's screen echoes it, and does the same with bash on a bare
// pty. It reports both medians and the difference, then the idle CPU of
// nslab (pane open, views live, nothing typed, 10 s) and its RSS.
//
//	go test -run '^$' -bench ShellPane -benchtime 50x ./cmd/nslab   (as root)
func BenchmarkShellPane(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	if bin.err != nil {
		b.Fatal(bin.err)
	}
	path := bin.path
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm-256color", "LANG=C.UTF-8", "HOME=" + b.TempDir(), "SHELL=/bin/bash"}

	bare := exec.Command("bash", "--norc", "--noprofile", "-i")
	bare.Env = append(env, "PS1=$ ")
	bp := startOnPty(b, bare, 120, 40)
	bp.waitFor(b, 0, "$ ", 10*time.Second)

	nc := exec.Command(path)
	nc.Env = env
	np := startOnPty(b, nc, 120, 40)
	np.waitFor(b, 0, "UTS namespaces", 20*time.Second)
	for _, k := range []string{"j", "\r", "n", "n"} {
		np.send(b, k)
		time.Sleep(200 * time.Millisecond)
	}
	from := np.len()
	np.send(b, "\r")
	np.waitFor(b, from, "unshare(CLONE_NEWUTS) = 0", 30*time.Second)
	for _, k := range []string{"n", "n"} {
		np.send(b, k)
		time.Sleep(200 * time.Millisecond)
	}
	from = np.len()
	np.send(b, "s")
	np.waitFor(b, from, "[nslab:uts]", 20*time.Second)
	time.Sleep(time.Second)

	var pane, base []time.Duration
	for b.Loop() {
		pane = append(pane, np.echo(b))
		base = append(base, bp.echo(b))
	}
	b.StopTimer()
	mp, mb := median(pane), median(base)
	b.ReportMetric(float64(mp.Microseconds())/1000, "ms-pane-echo")
	b.ReportMetric(float64(mb.Microseconds())/1000, "ms-bare-echo")
	b.ReportMetric(float64((mp-mb).Microseconds())/1000, "ms-added")

	// Idle: the pane open, the views refreshing, nothing typed.
	t0, _ := procStat(b, nc.Process.Pid)
	start := time.Now()
	time.Sleep(10 * time.Second)
	t1, rss := procStat(b, nc.Process.Pid)
	const hz = 100 // USER_HZ on Linux
	cpu := float64(t1-t0) / hz / time.Since(start).Seconds() * 100
	b.ReportMetric(cpu, "%cpu-idle")
	b.ReportMetric(float64(rss)/1024, "MB-rss")

	np.send(b, "\x1d") // ctrl+]: back to the lesson
	time.Sleep(200 * time.Millisecond)
	np.send(b, "q")
	time.Sleep(500 * time.Millisecond)
	np.send(b, "q")
	done := make(chan error, 1)
	go func() { done <- nc.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			b.Errorf("nslab exited with %v", err)
		}
	case <-time.After(10 * time.Second):
		b.Error("nslab did not quit")
	}
}
