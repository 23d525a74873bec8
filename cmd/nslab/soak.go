//go:build soak

package main

// The soak build of nslab (`go build -tags soak`, run by .ci/soak):
//
//	nslab __nslab_soak [-minutes N] [-lesson ID] [-every 100ms] [-sample 10s]
//
// opens one lesson's sandbox through the real engine and session (the
// TUI's path: sandbox.NewEngine, lessons.NewSession, Perform, then
// Session.Observe and Session.Events on every refresh, as the lesson
// screen's tick does), refreshes the live views 10 times a second for N
// minutes, and every 10 s records this process's goroutines, open file
// descriptors and resident memory, the same for its agents, and any
// zombie among its descendants (inside the sandbox's PID namespace too).
// It prints a table and exits 1 when fds, goroutines or RSS grew beyond a
// small bound after the warm-up sample, when any zombie stays, or when an
// observation failed. It exists only in the soak build: init intercepts
// the one hidden argument before main runs, so the shipped binary has no
// such mode.

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/catalog"
	"github.com/nslab/nslab/sandbox"
)

const soakArg = "__nslab_soak"

// Growth allowed from the warm-up sample (the first, taken after the
// first sampling interval) to the last.
const (
	soakMaxGoroutines = 8
	soakMaxFDs        = 4
	soakMaxRSSKB      = 16 << 10 // plus soakMaxRSSPct of the warm value
	soakMaxRSSPct     = 25
)

func init() {
	if len(os.Args) > 1 && os.Args[1] == soakArg {
		os.Exit(soakMain(os.Args[2:]))
	}
}

type soakSample struct {
	at                   time.Duration
	goroutines, fds, rss int
	agents               int
	agentFDs, agentRSS   int
	descendants          int
	zombies              []string
	observations, errors int
	meanObserve          time.Duration
}

func soakMain(args []string) int {
	fs := flag.NewFlagSet(soakArg, flag.ContinueOnError)
	minutes := fs.Float64("minutes", 10, "how long to keep the sandbox open")
	id := fs.String("lesson", "container", "the lesson whose sandbox stays open")
	every := fs.Duration("every", 100*time.Millisecond, "live view refresh interval")
	sample := fs.Duration("sample", 10*time.Second, "sampling interval")
	leak := fs.Bool("inject-leak", false, "leak one fd per refresh, to show the soak fails on a leak")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	l, err := catalog.ByID(*id)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	eng, err := sandbox.NewEngine()
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return 4
	}
	defer eng.Close()
	sess := lessons.NewSession(eng, l, nil)
	defer sess.Close()
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = sess.Perform(pctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak: perform:", err)
		return 4
	}
	sess.Goto(lessons.PartExperiment)
	fmt.Printf("soak: lesson %s, sandbox open, live views every %v for %.1f min, a sample every %v\n", l.ID, *every, *minutes, *sample)

	end := time.After(time.Duration(*minutes * float64(time.Minute)))
	tick := time.NewTicker(*every)
	defer tick.Stop()
	sampler := time.NewTicker(*sample)
	defer sampler.Stop()
	start := time.Now()
	var samples []soakSample
	var obs, errs int
	var spent time.Duration
	var lastErr error
	var leaked []*os.File
	defer func() {
		for _, f := range leaked {
			f.Close()
		}
	}()
	take := func() {
		s := soakMeasure()
		s.at = time.Since(start).Round(time.Second)
		s.observations, s.errors = obs, errs
		if obs > 0 {
			s.meanObserve = (spent / time.Duration(obs)).Round(100 * time.Microsecond)
		}
		samples = append(samples, s)
		fmt.Printf("  %4s  goroutines %3d  fds %3d  rss %6d KiB | agents %d fds %3d rss %6d KiB | descendants %2d zombies %d | views %5d (%d failed, mean %v)\n",
			s.at, s.goroutines, s.fds, s.rss, s.agents, s.agentFDs, s.agentRSS, s.descendants, len(s.zombies), s.observations, s.errors, s.meanObserve)
	}
	take()
loop:
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(os.Stderr, "soak: interrupted")
			break loop
		case <-end:
			break loop
		case <-sampler.C:
			take()
		case <-tick.C:
			// One refresh of the lesson screen: both sides observed, the
			// trace fetched. Bounded like the TUI's commands.
			octx, cancel := context.WithTimeout(ctx, 5*time.Second)
			t0 := time.Now()
			_, err := sess.Observe(octx)
			cancel()
			spent += time.Since(t0)
			_ = sess.Events()
			obs++
			if *leak {
				// Deliberately kept and never closed (a dropped *os.File
				// would be closed by its finalizer): the self-test.
				if f, err := os.Open(os.DevNull); err == nil {
					leaked = append(leaked, f)
				}
			}
			if err != nil {
				errs++
				lastErr = err
			}
		}
	}
	take()
	return soakVerdict(samples, lastErr)
}

// soakVerdict prints the table and decides.
func soakVerdict(samples []soakSample, lastErr error) int {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "t\tgoroutines\tfds\tRSS KiB\tagents\tagent fds\tagent RSS KiB\tzombies\tviews\tfailed\tmean observe\t")
	for _, s := range samples {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%v\t\n", s.at, s.goroutines, s.fds, s.rss, s.agents, s.agentFDs, s.agentRSS, len(s.zombies), s.observations, s.errors, s.meanObserve)
	}
	w.Flush()
	var bad []string
	if len(samples) < 3 {
		bad = append(bad, fmt.Sprintf("only %d samples: run longer than two sampling intervals", len(samples)))
	} else {
		warm, last := samples[1], samples[len(samples)-1]
		if d := last.goroutines - warm.goroutines; d > soakMaxGoroutines {
			bad = append(bad, fmt.Sprintf("goroutines grew by %d (%d → %d)", d, warm.goroutines, last.goroutines))
		}
		if d := last.fds - warm.fds; d > soakMaxFDs {
			bad = append(bad, fmt.Sprintf("nslab's fds grew by %d (%d → %d)", d, warm.fds, last.fds))
		}
		if d := last.agentFDs - warm.agentFDs; d > soakMaxFDs {
			bad = append(bad, fmt.Sprintf("the agents' fds grew by %d (%d → %d)", d, warm.agentFDs, last.agentFDs))
		}
		if d := last.rss - warm.rss; d > soakMaxRSSKB+warm.rss*soakMaxRSSPct/100 {
			bad = append(bad, fmt.Sprintf("nslab's RSS grew by %d KiB (%d → %d)", d, warm.rss, last.rss))
		}
		if d := last.agentRSS - warm.agentRSS; d > soakMaxRSSKB+warm.agentRSS*soakMaxRSSPct/100 {
			bad = append(bad, fmt.Sprintf("the agents' RSS grew by %d KiB (%d → %d)", d, warm.agentRSS, last.agentRSS))
		}
		if last.agents != warm.agents {
			bad = append(bad, fmt.Sprintf("agents %d → %d", warm.agents, last.agents))
		}
		if last.descendants-warm.descendants > 0 {
			bad = append(bad, fmt.Sprintf("descendants grew %d → %d", warm.descendants, last.descendants))
		}
	}
	for _, s := range samples {
		if len(s.zombies) > 0 {
			bad = append(bad, fmt.Sprintf("zombie at %s: %s", s.at, strings.Join(s.zombies, ", ")))
		}
	}
	if n := samples[len(samples)-1].errors; n > 0 {
		bad = append(bad, fmt.Sprintf("%d observations failed, the last: %v", n, lastErr))
	}
	if len(bad) > 0 {
		for _, b := range bad {
			fmt.Println("soak: FAIL:", b)
		}
		return 1
	}
	fmt.Printf("soak: PASS: flat within %d goroutines, %d fds, %d KiB + %d%% RSS; no zombie\n", soakMaxGoroutines, soakMaxFDs, soakMaxRSSKB, soakMaxRSSPct)
	return 0
}

// soakMeasure reads this process, its agents and its descendants.
func soakMeasure() soakSample {
	s := soakSample{goroutines: runtime.NumGoroutine(), fds: soakFDs("self"), rss: soakRSS("self")}
	me := os.Getpid()
	procs := soakProcs()
	isDesc := func(pid int) bool {
		for i := 0; i < 64 && pid > 1; i++ {
			p, ok := procs[pid]
			if !ok {
				return false
			}
			if p.ppid == me {
				return true
			}
			pid = p.ppid
		}
		return false
	}
	var zombies []int
	for pid, p := range procs {
		if pid == me || !isDesc(pid) {
			continue
		}
		s.descendants++
		if p.state == "Z" {
			zombies = append(zombies, pid)
			continue
		}
		if p.ppid == me && p.agent {
			s.agents++
			s.agentFDs += soakFDs(strconv.Itoa(pid))
			s.agentRSS += soakRSS(strconv.Itoa(pid))
		}
	}
	// A zombie between a child's exit and its reaping is normal; one still
	// there half a second later is not reaped.
	if len(zombies) > 0 {
		time.Sleep(500 * time.Millisecond)
		again := soakProcs()
		for _, pid := range zombies {
			if p, ok := again[pid]; ok && p.state == "Z" {
				s.zombies = append(s.zombies, fmt.Sprintf("%d %s (parent %d)", pid, p.comm, p.ppid))
			}
		}
	}
	return s
}

type soakProc struct {
	ppid  int
	state string
	comm  string
	agent bool
}

func soakProcs() map[int]soakProc {
	out := map[int]soakProc{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		str := string(st)
		i, j := strings.LastIndexByte(str, ')'), strings.IndexByte(str, '(')
		if i < 0 || j < 0 {
			continue
		}
		f := strings.Fields(str[i+1:])
		if len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		argv := strings.Split(string(cmdline), "\x00")
		out[pid] = soakProc{ppid: pp, state: f[0], comm: str[j+1 : i], agent: len(argv) > 1 && argv[1] == "__nslab_agent"}
	}
	return out
}

func soakFDs(pid string) int {
	ents, err := os.ReadDir("/proc/" + pid + "/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

func soakRSS(pid string) int {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.Atoi(f[0])
				return n
			}
		}
	}
	return -1
}
