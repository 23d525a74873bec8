package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nslab/nslab/sandbox"
)

// emptyCgo is the program BenchmarkAgentStart times the agents against,
// built once per test binary beside the binaries TestMain built (TestMain
// removes that directory at the end): a Go program that does nothing,
// linked with cgo like nslab and nslab-agent (whose C constructor enters
// sandboxes), so that all pay the same dynamic loader and runtime start.
// The goal's anchor.
var emptyCgo = sync.OnceValues(func() (string, error) {
	dir := filepath.Join(filepath.Dir(bin.path), "start-anchor")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", err
	}
	// A module of its own, outside this one.
	for name, text := range map[string]string{
		"go.mod":  "module emptycgo\n\ngo 1.26\n",
		"main.go": "package main\n\nimport \"C\"\n\nfunc main() {}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return "", err
		}
	}
	empty := filepath.Join(dir, "empty")
	cmd := exec.Command(goCmd, "build", "-o", empty, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return empty, nil
})

// BenchmarkAgentStart times what every agent pays before its first
// request: exec of the agent with a hidden entry that exits at once
// (__nslab_true, the doctor's throwaway child), up to its exit. Each
// iteration starts, in turn, the slim agent binary as the engine does
// (through /proc/self/fd/N of the file held open), nslab itself (the
// fallback, through its path) and the empty cgo program, so that all three
// see the same machine. It reports the median wall and child CPU time
// (user+system, which a shared machine moves less) of each, in ms, and
// their ratios to the empty program (the goal: at most 1.2 for the
// agent). .ci/bench takes the medians over several runs.
func BenchmarkAgentStart(b *testing.B) {
	if bin.err != nil {
		b.Fatal(bin.err)
	}
	empty, err := emptyCgo()
	if err != nil {
		b.Fatal(err)
	}
	slim, err := os.Open(filepath.Join(filepath.Dir(bin.path), sandbox.AgentName))
	if err != nil {
		b.Fatal(err)
	}
	defer slim.Close()
	progs := []struct {
		name string
		argv []string
	}{
		{"agent", []string{"/proc/self/fd/" + strconv.Itoa(int(slim.Fd())), "__nslab_true"}},
		{"nslab", []string{bin.path, "__nslab_true"}},
		{"empty-cgo", []string{empty}},
	}
	wall := make([][]time.Duration, len(progs))
	cpu := make([][]time.Duration, len(progs))
	for b.Loop() {
		for i, p := range progs {
			cmd := exec.Command(p.argv[0], p.argv[1:]...)
			cmd.Env = []string{"PATH=/usr/bin:/bin"}
			start := time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%v: %v\n%s", p.argv, err, out)
			}
			wall[i] = append(wall[i], time.Since(start))
			cpu[i] = append(cpu[i], cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
		}
	}
	ms := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2]) / float64(time.Millisecond)
	}
	for i, p := range progs {
		b.ReportMetric(ms(wall[i]), p.name+"-ms")
		b.ReportMetric(ms(cpu[i]), p.name+"-cpu-ms")
	}
	b.ReportMetric(ms(wall[0])/ms(wall[2]), "ratio")
	b.ReportMetric(ms(cpu[0])/ms(cpu[2]), "cpu-ratio")
	b.ReportMetric(ms(wall[1])/ms(wall[2]), "nslab-ratio")
	b.ReportMetric(ms(cpu[1])/ms(cpu[2]), "nslab-cpu-ratio")
}
