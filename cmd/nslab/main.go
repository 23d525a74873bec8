// Command nslab is an interactive tutorial that teaches Linux namespaces by
// performing real clone(2), unshare(2) and setns(2) calls.
//
// This package owns the wiring only: the cobra commands and their exit
// codes, signals and terminal loss, the progress file's location, and the
// dispatch of the hidden entry points (the agent, the shell's entry),
// which main runs before anything else because the engine re-executes
// this same binary inside new namespaces. What a lesson does is in
// lessons, what the machine allows in lessons/doctor, how it looks in ui,
// and every syscall in sandbox: cmd may import them all, none of them may
// import cmd.
package main

import (
	"os"

	"github.com/nslab/nslab/sandbox"
)

func main() {
	// The agent and the other hidden entry points must run before anything
	// else: they are this same binary re-executed inside new namespaces.
	if sandbox.IsHidden(os.Args) {
		os.Exit(sandbox.RunHidden(os.Args))
	}
	os.Exit(run(os.Args[1:]))
}
