package sandbox

import (
	"os"
)

// RunHidden runs the hidden entry point named by args[1] and returns the
// process exit code. Call it only when IsHidden(args).
func RunHidden(args []string) int {
	switch args[1] {
	case hiddenTrue:
		return 0
	case hiddenIdle:
		return runIdle()
	case hiddenOrphan:
		return runOrphan()
	case hiddenObserve:
		return runObserveChild(args[2:])
	case hiddenAgent:
		return runAgent(args[2:])
	case hiddenEnter:
		return runEnter(args[2:])
	}
	os.Stderr.WriteString("nslab: unknown internal command\n")
	return 2
}
