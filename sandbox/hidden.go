package sandbox

// Hidden command names: the nslab binary re-executes itself through
// /proc/self/exe with one of these as its first argument. cmd/nslab hands
// them to RunHidden before anything else runs.
const (
	hiddenAgent   = "__nslab_agent"   // a sandbox agent: JSON lines on fds 3 and 4
	hiddenEnter   = "__nslab_enter"   // a shell (or command) inside a sandbox
	hiddenIdle    = "__nslab_idle"    // a process that waits to be killed, for the PID view
	hiddenTrue    = "__nslab_true"    // exits 0 at once: the doctor's throwaway child
	hiddenOrphan  = "__nslab_orphan"  // starts an idle child and exits, to show re-parenting
	hiddenObserve = "__nslab_observe" // prints what a child of the agent sees, as JSON
)

// IsHidden reports whether args (os.Args) ask for a hidden entry point.
func IsHidden(args []string) bool {
	if len(args) < 2 {
		return false
	}
	switch args[1] {
	case hiddenAgent, hiddenEnter, hiddenIdle, hiddenTrue, hiddenOrphan, hiddenObserve:
		return true
	}
	return false
}
