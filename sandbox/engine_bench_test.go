package sandbox

import (
	"context"
	"os"
	"os/exec"
	"testing"
)

// The start benchmarks time a whole sandbox life as a learner meets it:
// clone the agent, wait for its hello, take the first snapshot, close.
// Each has a util-linux twin timed in the same run; compare ratios, not
// absolute numbers (README: Performance).

func benchEngine(b *testing.B) *Engine {
	b.Helper()
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	eng, err := NewEngine()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = eng.Close() })
	return eng
}

func benchStart(b *testing.B, spec Spec, views []View) {
	eng := benchEngine(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sb, err := eng.Start(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sb.Observe(ctx, views); err != nil {
			b.Fatal(err)
		}
		if err := sb.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStartUTSToFirstSnapshot(b *testing.B) {
	benchStart(b, Spec{Flags: CloneNewUTS, Rootless: RootlessNever}, []View{ViewUTS})
}

func BenchmarkStartAllKindsToFirstSnapshot(b *testing.B) {
	benchStart(b, Spec{Flags: CloneNewUTS | CloneNewIPC | CloneNewNS | CloneNewNet | CloneNewPID | CloneNewUser | CloneNewCgroup,
		Rootless: RootlessAlways}, []View{ViewIDs, ViewUTS})
}

func benchUtil(b *testing.B, args ...string) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	if _, err := exec.LookPath(args[0]); err != nil {
		b.Skip(args[0] + " not installed")
	}
	for b.Loop() {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
}

func BenchmarkUtilLinuxUnshareUTS(b *testing.B) {
	benchUtil(b, "unshare", "--uts", "true")
}

func BenchmarkUtilLinuxUnshareAllKinds(b *testing.B) {
	benchUtil(b, "unshare", "--fork", "--pid", "--mount-proc", "--uts", "--ipc", "--net", "--mount", "--user", "--map-root-user", "true")
}

// BenchmarkSnapshotHostAndSandbox: one full host+sandbox snapshot of every
// view, the work the ui does on each refresh.
func BenchmarkSnapshotHostAndSandbox(b *testing.B) {
	eng := benchEngine(b)
	ctx := context.Background()
	sb, err := eng.Start(ctx, Spec{Flags: CloneNewUTS | CloneNewIPC | CloneNewNS | CloneNewNet | CloneNewPID, Rootless: RootlessNever})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sb.Close() })
	b.ReportAllocs()
	for b.Loop() {
		_ = eng.ObserveHost(ctx, AllViews())
		if _, err := sb.Observe(ctx, AllViews()); err != nil {
			b.Fatal(err)
		}
	}
}
