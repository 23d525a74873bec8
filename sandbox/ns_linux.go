package sandbox

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// readNSID stats one /proc/.../ns entry. stat(2) follows the magic link to
// the nsfs inode, whose device and inode number identify the namespace.
func readNSID(path string) (NSID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return NSID{}, fmt.Errorf("stat %s: %w", path, err)
	}
	return NSID{Dev: st.Dev, Ino: st.Ino}, nil
}

// ReadIDs returns the namespace identities of a process (pid 0: the calling
// thread), including pid_for_children and time_for_children. A kind this
// kernel lacks is left out; a vanished process is an error wrapping ESRCH or
// ENOENT.
func ReadIDs(pid int) (IDs, error) {
	dir := "/proc/thread-self/ns/"
	if pid != 0 {
		dir = "/proc/" + strconv.Itoa(pid) + "/ns/"
	}
	return readIDsIn(dir, pid)
}

// ReadThreadIDs returns the namespace identities of each thread of a
// process, by tid: uts, net, ipc and cgroup belong to a thread, and
// unshare(2) or setns(2) on one thread leaves the others where they were.
func ReadThreadIDs(pid int) (map[int]IDs, error) {
	task := "/proc/" + strconv.Itoa(pid) + "/task/"
	ents, err := os.ReadDir(task)
	if err != nil {
		return nil, fmt.Errorf("threads of pid %d: %w", pid, err)
	}
	out := make(map[int]IDs, len(ents))
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ids, err := readIDsIn(task+e.Name()+"/ns/", pid)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
			continue // the thread ended meanwhile
		}
		if err != nil {
			return nil, err
		}
		out[tid] = ids
	}
	return out, nil
}

func readIDsIn(dir string, pid int) (IDs, error) {
	ids := IDs{}
	for _, k := range Kinds() {
		for _, name := range []string{k.ProcName, k.ChildrenProcName} {
			if name == "" {
				continue
			}
			id, err := readNSID(dir + name)
			if errors.Is(err, unix.ENOENT) {
				if _, serr := os.Stat(dir); serr != nil {
					return nil, fmt.Errorf("read namespaces of pid %d: %w", pid, serr)
				}
				continue // the kernel has no such kind
			}
			if err != nil {
				return nil, fmt.Errorf("read namespaces of pid %d: %w", pid, err)
			}
			ids[name] = id
		}
	}
	return ids, nil
}

// errnoName is the symbolic name of an errno inside err ("EPERM"), or "".
func errnoName(err error) string {
	var en unix.Errno
	if errors.As(err, &en) {
		return unix.ErrnoName(en)
	}
	return ""
}

// errnoFromName rebuilds an errno from its symbolic name, so that errors
// that crossed the agent pipe still satisfy errors.Is(err, unix.EPERM).
func errnoFromName(name string) error {
	if name == "" {
		return nil
	}
	// Errno numbers on Linux stay below 134; x/sys has only the forward map.
	for n := unix.Errno(1); n < 134; n++ {
		if unix.ErrnoName(n) == name {
			return n
		}
	}
	return nil
}

// syscallErr builds the learner-facing error for a failed call.
func syscallErr(op string, err error) error {
	if err == nil {
		return nil
	}
	name := errnoName(err)
	if name == "" {
		return fmt.Errorf("%s: %w", op, err)
	}
	return &SyscallError{Op: op, Errno: name, Err: err}
}
