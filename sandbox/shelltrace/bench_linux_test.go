package shelltrace_test

import (
	"testing"

	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/sandbox/shelltrace"
)

// loop is the workload: a thousand fork+exec+exit, none of which
// makes a traced call: the filter runs at every syscall, and nothing else.
const loop = `for i in $(seq 1000); do /bin/true; done`

// BenchmarkShellLoop runs the loop in a shell inside the same sandbox,
// untraced and traced, in the same run. Reproduce (as root, under the
// shared test lock):
//
//	go test -run '^$' -bench ShellLoop -benchtime 5x -count 3 ./sandbox/shelltrace
func BenchmarkShellLoop(b *testing.B) {
	needRoot(b)
	sb := newSandbox(b, sandbox.Spec{Flags: sandbox.CloneNewUTS | sandbox.CloneNewNS | sandbox.CloneNewPID, Rootless: sandbox.RootlessNever})
	for _, traced := range []bool{false, true} {
		name := "untraced"
		if traced {
			name = "traced"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				cmd, err := sb.ShellCommand("/bin/sh", "-c", loop)
				if err != nil {
					b.Fatal(err)
				}
				cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
				if !traced {
					if err := cmd.Run(); err != nil {
						b.Fatal(err)
					}
					continue
				}
				tr, err := shelltrace.Start(cmd, func(sandbox.Event) {})
				if err != nil {
					b.Fatal(err)
				}
				if err := cmd.Wait(); err != nil {
					b.Fatal(err)
				}
				<-tr.Done()
			}
		})
	}
}
