package sandbox

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hiddenComm names each hidden process (15 bytes at most: TASK_COMM_LEN);
// "" leaves the name alone. A switch rather than a map, so that starting
// an agent builds nothing.
func hiddenComm(entry string) string {
	switch entry {
	case hiddenAgent:
		return "nslab-agent"
	case hiddenIdle:
		return "nslab-idle"
	case hiddenOrphan:
		return "nslab-orphan"
	case hiddenObserve:
		return "nslab-observe"
	case hiddenTrue:
		return "nslab-true"
	case hiddenNested:
		return "nslab-nested"
	case hiddenCgroupGuard:
		return "nslab-cgguard"
	}
	return ""
}

// RunHidden runs the hidden entry point named by args[1] and returns the
// process exit code. Call it only when IsHidden(args).
func RunHidden(args []string) int {
	// Started through /proc/self/exe, every one of these would be called
	// "exe" in ps and in the PID view; name them for the learner. (comm is
	// per thread: this runs on the main thread, locked in init, whose name
	// is the process's.)
	if name := hiddenComm(args[1]); name != "" {
		if p, err := unix.BytePtrFromString(name); err == nil {
			_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(p)), 0, 0, 0)
		}
	}
	switch args[1] {
	case hiddenTrue:
		return 0
	case hiddenBuild:
		os.Stdout.WriteString(buildFingerprint() + "\n")
		return 0
	case hiddenIdle:
		return runIdle()
	case hiddenOrphan:
		return runOrphan()
	case hiddenObserve:
		return runObserveChild(args[2:])
	case hiddenAgent:
		return runAgent(args[2:])
	case hiddenNested:
		return runNested(args[2:])
	case hiddenEnter:
		return runEnter(args[2:])
	case hiddenCgroupGuard:
		return runCgroupGuard(args[2:])
	}
	os.Stderr.WriteString("nslab: unknown internal command\n")
	return 2
}
