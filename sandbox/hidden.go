package sandbox

// Hidden command names: the engine starts its agents, and they their
// children, with one of these as the first argument, from the slim agent
// binary (cmd/nslab-agent) or nslab itself through /proc/self/exe. Both
// mains hand them to RunHidden before anything else runs.
const (
	hiddenAgent   = "__nslab_agent"   // a sandbox agent: JSON lines on fds 3 and 4
	hiddenEnter   = "__nslab_enter"   // a shell (or command) inside a sandbox
	hiddenIdle    = "__nslab_idle"    // a process that waits to be killed, for the PID view
	hiddenTrue    = "__nslab_true"    // exits 0 at once: the doctor's throwaway child
	hiddenOrphan  = "__nslab_orphan"  // starts an idle child and exits, to show re-parenting
	hiddenObserve = "__nslab_observe" // prints what a child of the agent sees, as JSON
	hiddenBuild   = "__nslab_build"   // prints the build fingerprint (agentbin_linux.go)
	hiddenNested  = "__nslab_nested"  // root of a user namespace inside the sandbox's (nested_linux.go)
	// hiddenCgroupGuard removes a sandbox's cgroup however nslab ends
	// (cgroup_linux.go).
	hiddenCgroupGuard = "__nslab_cgroup_guard"
)

// IsHidden reports whether args (os.Args) ask for a hidden entry point.
func IsHidden(args []string) bool {
	if len(args) < 2 {
		return false
	}
	switch args[1] {
	case hiddenAgent, hiddenEnter, hiddenIdle, hiddenTrue, hiddenOrphan, hiddenObserve, hiddenBuild, hiddenNested, hiddenCgroupGuard:
		return true
	}
	return false
}
