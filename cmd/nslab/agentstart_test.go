package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// startAnchors are the programs BenchmarkAgentStart times nslab's agent
// against, built once per test binary beside the nslab binary TestMain
// built (TestMain removes that directory at the end).
type startAnchors struct {
	// empty is a Go program that does nothing, linked with cgo like nslab
	// (whose C constructor enters sandboxes), so that both pay the same
	// dynamic loader and runtime start: the goal's anchor.
	empty string
	// sandboxOnly is nslab's main with only the hidden entry dispatch, so
	// that it links sandbox and nothing above it: what the agent would
	// cost if ui's and lessons' package init cost nothing.
	sandboxOnly string
}

var anchors = sync.OnceValues(func() (startAnchors, error) {
	var a startAnchors
	dir := filepath.Join(filepath.Dir(bin.path), "start-anchors")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return a, err
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return a, err
	}
	write := func(name, text string) error {
		return os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644)
	}
	build := func(wd string, args ...string) error {
		cmd := exec.Command(goCmd, append([]string{"build"}, args...)...)
		cmd.Dir = wd
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %v: %w\n%s", args, err, out)
		}
		return nil
	}
	// The empty program is a module of its own, outside this one.
	if err := write("go.mod", "module emptycgo\n\ngo 1.26\n"); err != nil {
		return a, err
	}
	if err := write("main.go", "package main\n\nimport \"C\"\n\nfunc main() {}\n"); err != nil {
		return a, err
	}
	a.empty = filepath.Join(dir, "empty")
	if err := build(dir, "-o", a.empty, "."); err != nil {
		return a, err
	}
	// The sandbox-only program lives in this module only for the build,
	// through an overlay: nothing is written into the source tree.
	if err := write("floor.go", `package main

import (
	"os"

	"github.com/nslab/nslab/sandbox"
)

func main() {
	if sandbox.IsHidden(os.Args) {
		os.Exit(sandbox.RunHidden(os.Args))
	}
}
`); err != nil {
		return a, err
	}
	wd, err := os.Getwd()
	if err != nil {
		return a, err
	}
	overlay, err := json.Marshal(map[string]map[string]string{
		"Replace": {filepath.Join(wd, "agentfloor", "main.go"): filepath.Join(dir, "floor.go")},
	})
	if err != nil {
		return a, err
	}
	if err := write("overlay.json", string(overlay)); err != nil {
		return a, err
	}
	a.sandboxOnly = filepath.Join(dir, "sandbox-only")
	return a, build(wd, "-overlay", filepath.Join(dir, "overlay.json"), "-o", a.sandboxOnly, "./agentfloor")
})

// BenchmarkAgentStart times what every agent pays before its first
// request: exec of the nslab binary with a hidden entry that exits at once
// (__nslab_true, the doctor's throwaway child), up to its exit. Each
// iteration starts, in turn, nslab, the sandbox-only program and the empty
// cgo program, so that all three see the same machine; it reports the
// median wall and child CPU time (user+system, which a shared machine
// moves less) of each, in ms, and nslab's ratios to the empty program (the
// goal: at most 1.2). .ci/bench takes the medians over several runs.
func BenchmarkAgentStart(b *testing.B) {
	if bin.err != nil {
		b.Fatal(bin.err)
	}
	a, err := anchors()
	if err != nil {
		b.Fatal(err)
	}
	progs := []struct {
		name string
		argv []string
	}{
		{"nslab", []string{bin.path, "__nslab_true"}},
		{"sandbox-only", []string{a.sandboxOnly, "__nslab_true"}},
		{"empty-cgo", []string{a.empty}},
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
}
