// Command nslab is an interactive tutorial that teaches Linux namespaces by
// performing real clone(2), unshare(2) and setns(2) calls.
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
