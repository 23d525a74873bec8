package sandbox

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ObserveTree observes the user and PID namespace trees from nslab's own
// process, through the host's /proc and the ioctl_ns(2) requests
// (untraced: observation changes nothing). It keeps the namespaces of
// process pid (host PID) and their ancestors, and, when withDescendants,
// every namespace below pid's that differs from nslab's own: a sandbox's
// subtree, never the other sandboxes on the machine. Processes nslab may
// not inspect are left out, as lsns leaves them out.
func ObserveTree(pid int, withDescendants bool) (*NSTree, error) {
	names, err := listPIDs()
	if err != nil {
		return nil, err
	}
	own, err := ReadIDs(0)
	if err != nil {
		return nil, fmt.Errorf("namespace tree: %w", err)
	}
	target, err := ReadIDs(pid)
	if err != nil {
		return nil, fmt.Errorf("namespace tree of pid %d: %w", pid, err)
	}
	t := &NSTree{}
	for _, kind := range []string{"user", "pid"} {
		ns := map[NSID]*rawNS{}
		paths := map[NSID]string{}
		buf := make([]byte, 256)
		for _, name := range names {
			path := "/proc/" + name + "/ns/" + kind
			id, err := readNSID(path)
			if err != nil {
				continue // gone, or not ours to inspect
			}
			p, _ := strconv.Atoi(name)
			var comm []byte
			if comm, buf, err = readFile("/proc/"+name+"/comm", buf); err != nil {
				continue
			}
			n := ns[id]
			if n == nil {
				n = &rawNS{id: id, ownerUID: -1}
				ns[id] = n
				paths[id] = path
			}
			n.procs = append(n.procs, TreeProc{PID: p, Comm: strings.TrimSpace(string(comm))})
		}
		// Each namespace's chain of parents, from a member's file: an
		// ancestor without a member of its own is found this way too.
		for id, path := range paths {
			if err := walkNS(ns, id, path, kind); err != nil {
				return nil, fmt.Errorf("namespace tree: %w", err)
			}
		}
		mine := target[kind]
		if n := ns[mine]; n != nil {
			n.mine = true
		}
		keepAll := withDescendants && mine != own[kind]
		nodes := orderTree(ns, treeKeep(ns, mine, keepAll))
		if kind == "user" {
			t.User = nodes
		} else {
			t.PID = nodes
		}
	}
	return t, nil
}

// walkNS fills in the parent (and owner) of the namespace at path, then of
// its parent, and so on until a known one or the top nslab may see.
func walkNS(ns map[NSID]*rawNS, id NSID, path, kind string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		delete(ns, id) // the process is gone: observe it next time
		return nil
	}
	for hops := 0; hops < 40; hops++ {
		n := ns[id]
		if kind == "user" {
			if uid, err := unix.IoctlGetUint32(fd, unix.NS_GET_OWNER_UID); err == nil {
				n.ownerUID = int(uid)
			}
		} else if ufd, err := unix.IoctlRetInt(fd, unix.NS_GET_USERNS); err == nil {
			n.owner, _, _ = fdNS(ufd)
			unix.Close(ufd)
		}
		pfd, err := unix.IoctlRetInt(fd, unix.NS_GET_PARENT)
		unix.Close(fd)
		if errors.Is(err, unix.EPERM) {
			return nil // the initial namespace, or above ours
		}
		if err != nil {
			return fmt.Errorf("NS_GET_PARENT on %s: %w", id.Label(kind), err)
		}
		pid, _, err := fdNS(pfd)
		if err != nil {
			unix.Close(pfd)
			return err
		}
		n.parent = pid
		if _, known := ns[pid]; known {
			unix.Close(pfd)
			return nil
		}
		ns[pid] = &rawNS{id: pid, ownerUID: -1}
		id, fd = pid, pfd
	}
	unix.Close(fd)
	return nil
}
