// Command nslab-agent is nslab's slim sandbox agent: the hidden entry
// points of package sandbox and nothing else. nslab's engine starts its
// agents from this binary when it finds it beside the nslab executable
// (from the same build), and from nslab itself through /proc/self/exe
// otherwise. Linking only sandbox, an agent's start skips the package
// init and page faults of ui, goldmark, TOML and the lessons.
//
// It may import sandbox only. Install it beside nslab:
//
//	go build -o /usr/local/bin/ ./cmd/nslab ./cmd/nslab-agent
package main

import (
	"os"

	"github.com/nslab/nslab/sandbox"
)

func main() {
	if sandbox.IsHidden(os.Args) {
		os.Exit(sandbox.RunHidden(os.Args))
	}
	os.Stderr.WriteString("nslab-agent is started by nslab for its sandboxes; run nslab instead\n")
	os.Exit(2)
}
