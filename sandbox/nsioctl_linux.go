package sandbox

// Who owns what: the ioctl(2) requests on a namespace file descriptor of
// ioctl_ns(2). NS_GET_USERNS and NS_GET_PARENT return a new file
// descriptor (close-on-exec) for the owning user namespace or the parent
// namespace; NS_GET_OWNER_UID writes the uid of a user namespace's creator,
// as the caller's own user namespace maps it. Both fail with EPERM for a
// namespace outside the caller's user namespace: a process cannot look
// above the user namespace it lives in.
//
// The agent's calls are traced at the call (opNSIoctl); the engine's own,
// for observation (the namespace tree, lessons' checks), are not: they
// change nothing and run on every refresh.

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// NSRequest is one ioctl_ns(2) request nslab makes.
type NSRequest uint

// The requests, with x/sys/unix's values.
const (
	NSGetUserNS   NSRequest = unix.NS_GET_USERNS
	NSGetParent   NSRequest = unix.NS_GET_PARENT
	NSGetOwnerUID NSRequest = unix.NS_GET_OWNER_UID
)

// String is the request's name, as strace prints it.
func (r NSRequest) String() string { return ioctlRequestArg(uint(r)) }

const opNSIoctl = "nsioctl"

// NSIoctl asks the agent to open /proc/PID/ns/KIND (pid 0: the agent
// itself, /proc/self) and make one ioctl_ns(2) request on it, both traced.
// The answer is the namespace the returned fd refers to ("user:[4026…]"),
// or for NSGetOwnerUID the uid as the agent's user namespace maps it. A
// refusal comes back as the kernel's errno (errors.Is(err, unix.EPERM)).
// The pid is read in the agent's /proc: a sandbox with a PID namespace must
// have mounted its own first for other processes' paths to mean its pids.
func (s *Sandbox) NSIoctl(ctx context.Context, pid int, kind string, req NSRequest) (string, error) {
	if _, err := nsIoctlPath(pid, kind, req); err != nil {
		return "", err
	}
	r, err := s.call(ctx, request{Op: opNSIoctl, PID: pid, Kind: kind, Flags: uint64(req)})
	return r.Text, err
}

// nsIoctlPath checks a request and names the file it is made on.
func nsIoctlPath(pid int, kind string, req NSRequest) (string, error) {
	k, err := KindByName(kind)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	switch req {
	case NSGetUserNS, NSGetParent:
	case NSGetOwnerUID:
		if k.Flag != CloneNewUser {
			return "", fmt.Errorf("%w: NS_GET_OWNER_UID works on user namespaces only, not %s", ErrBadInput, kind)
		}
	default:
		return "", fmt.Errorf("%w: ioctl request %#x is not one nslab makes", ErrBadInput, uint(req))
	}
	if pid < 0 {
		return "", fmt.Errorf("%w: pid %d", ErrBadInput, pid)
	}
	who := "self"
	if pid > 0 {
		who = strconv.Itoa(pid)
	}
	return "/proc/" + who + "/ns/" + k.ProcName, nil
}

// nsIoctl is the agent's side of NSIoctl.
func (a *agent) nsIoctl(pid int, kind string, req NSRequest) (string, error) {
	path, err := nsIoctlPath(pid, kind, req)
	if err != nil {
		return "", err
	}
	const oflags = unix.O_RDONLY | unix.O_CLOEXEC
	fd, err := unix.Open(path, oflags, 0)
	a.record("openat", []string{"AT_FDCWD", strArg(path), openFlagsArg(oflags)}, int64(fd), err, "", NSID{}, NSID{}, "")
	if err != nil {
		return "", syscallErr("open "+path, err)
	}
	defer unix.Close(fd)
	if req == NSGetOwnerUID {
		uid, err := unix.IoctlGetUint32(fd, uint(req))
		// strace shows the uid the kernel wrote back ([0]), or on an
		// error the pointer's address.
		out := ptrArg("uid")
		if err == nil {
			out = "[" + strconv.FormatUint(uint64(uid), 10) + "]"
		}
		a.record("ioctl", []string{strconv.Itoa(fd), req.String(), out}, 0, err, "", NSID{}, NSID{},
			"the uid of the process that created this user namespace, as the caller's user namespace maps it")
		if err != nil {
			return "", syscallErr(req.String()+" on "+path, err)
		}
		return strconv.FormatUint(uint64(uid), 10), nil
	}
	nfd, err := unix.IoctlRetInt(fd, uint(req))
	note := ""
	if errors.Is(err, unix.EPERM) {
		note = "the namespace asked for lies outside the caller's user namespace: nobody can look above the user namespace it lives in"
	}
	ret := int64(nfd)
	a.record("ioctl", []string{strconv.Itoa(fd), req.String()}, ret, err, "", NSID{}, NSID{}, note)
	if err != nil {
		return "", syscallErr(req.String()+" on "+path, err)
	}
	defer unix.Close(nfd)
	id, k, err := fdNS(nfd)
	if err != nil {
		return "", err
	}
	return id.Label(k), nil
}

// fdNS identifies the namespace a namespace fd refers to, and its kind
// (NS_GET_NSTYPE, Linux 4.11).
func fdNS(fd int) (NSID, string, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return NSID{}, "", fmt.Errorf("fstat a namespace fd: %w", err)
	}
	t, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err != nil {
		return NSID{}, "", fmt.Errorf("NS_GET_NSTYPE: %w", err)
	}
	kind := ""
	for _, k := range Kinds() {
		if int(k.Flag) == t {
			kind = k.ProcName
		}
	}
	return NSID{Dev: st.Dev, Ino: st.Ino}, kind, nil
}

// NSRelative opens the namespace file path (/proc/PID/ns/KIND, or a bind
// mount of one) and asks the kernel for its parent (NSGetParent) or its
// owning user namespace (NSGetUserNS), from nslab's own process, untraced.
// EPERM: the answer lies outside nslab's user namespace, or path is an
// initial namespace, which has no parent.
func NSRelative(path string, req NSRequest) (NSID, error) {
	if req != NSGetParent && req != NSGetUserNS {
		return NSID{}, fmt.Errorf("%w: %s does not return a namespace", ErrBadInput, req)
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return NSID{}, fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	nfd, err := unix.IoctlRetInt(fd, uint(req))
	if err != nil {
		return NSID{}, fmt.Errorf("%s on %s: %w", req, path, err)
	}
	defer unix.Close(nfd)
	id, _, err := fdNS(nfd)
	return id, err
}

// NSOwnerUID asks the kernel, from nslab's own process and untraced, for
// the uid that created the user namespace at path, as nslab's user
// namespace maps it.
func NSOwnerUID(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	uid, err := unix.IoctlGetUint32(fd, unix.NS_GET_OWNER_UID)
	if err != nil {
		return 0, fmt.Errorf("NS_GET_OWNER_UID on %s: %w", path, err)
	}
	return int(uid), nil
}

// NSAncestors lists the parents of the user or PID namespace at path,
// nearest first, up to the highest one nslab may see (NS_GET_PARENT from
// nslab's own process, untraced).
func NSAncestors(path string) ([]NSID, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	var out []NSID
	// Nesting stops at 32 levels; the bound only guards the loop.
	for hops := 0; hops < 40; hops++ {
		pfd, err := unix.IoctlRetInt(fd, unix.NS_GET_PARENT)
		unix.Close(fd)
		if errors.Is(err, unix.EPERM) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("NS_GET_PARENT above %s: %w", path, err)
		}
		id, _, err := fdNS(pfd)
		if err != nil {
			unix.Close(pfd)
			return out, err
		}
		out = append(out, id)
		fd = pfd
	}
	unix.Close(fd)
	return out, nil
}
