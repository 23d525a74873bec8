package sandbox

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// unshare calls unshare(2) on the agent's main thread.
func (a *agent) unshare(flags uintptr) error {
	if flags&^AllFlags() != 0 || flags == 0 {
		return fmt.Errorf("%w: unshare takes CLONE_NEW* flags, got %#x", ErrBadInput, flags)
	}
	if flags&(CloneNewPID|CloneNewTime) != 0 {
		a.warmPidfdProbe()
	}
	before := a.ids()
	// No unshare(CLONE_FS) first: unshare(2) says CLONE_NEWNS implies
	// CLONE_FS, so this thread gets its own root/cwd in the same call, even
	// though all Go threads share one (setns below is different).
	err := unix.Unshare(int(flags))
	after := a.ids()
	kinds := KindsIn(flags)
	note := ""
	if flags&CloneNewNS != 0 && err == nil {
		note = "CLONE_NEWNS implies CLONE_FS: this thread, sharing root/cwd with the others, got its own copy in the same call"
	}
	var kindName string
	var b, af NSID
	if len(kinds) == 1 {
		k := kinds[0]
		kindName = k.ProcName
		if k.ChildrenProcName != "" {
			kindName = k.ChildrenProcName
			note = fmt.Sprintf("only %s changes: the caller stays in its %s namespace, its next children go into the new one", k.ChildrenProcName, k.Name)
		}
		b, af = before[kindName], after[kindName]
	}
	if flags&CloneNewUser != 0 && err != nil {
		note = "a multithreaded process (every Go program) may not unshare its user namespace: the kernel answers EINVAL"
	}
	a.record("unshare", []string{cloneFlagsArg(flags, false)}, 0, err, kindName, b, af, note)
	if err != nil {
		return syscallErr("unshare("+FlagString(flags)+")", err)
	}
	if flags&CloneNewNS != 0 {
		return a.makePrivate()
	}
	return nil
}

// setns joins the namespace of kind of process pid, with nstype as given
// (0: no check), on the agent's main thread.
func (a *agent) setns(pid int, kind string, nstype uintptr) error {
	k, err := KindByName(kind)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	if pid <= 0 {
		return fmt.Errorf("%w: setns needs a process id", ErrBadInput)
	}
	path := fmt.Sprintf("/proc/%d/ns/%s", pid, k.ProcName)
	const oflags = unix.O_RDONLY | unix.O_CLOEXEC
	fd, err := unix.Open(path, oflags, 0)
	a.record("openat", []string{"AT_FDCWD", strArg(path), openFlagsArg(oflags)}, int64(fd), err, "", NSID{}, NSID{}, "")
	if err != nil {
		return syscallErr("open "+path, err)
	}
	defer unix.Close(fd)
	if k.Flag == CloneNewNS {
		err := unix.Unshare(unix.CLONE_FS)
		a.record("unshare", []string{cloneFlagsArg(unix.CLONE_FS, false)}, 0, err, "", NSID{}, NSID{}, "a thread sharing its root/cwd with others may not change mount namespace")
		if err != nil {
			return syscallErr("unshare(CLONE_FS)", err)
		}
	}
	if k.ChildrenProcName != "" {
		a.warmPidfdProbe()
	}
	watch := k.ProcName
	if k.ChildrenProcName != "" {
		watch = k.ChildrenProcName
	}
	before := a.ids()[watch]
	err = unix.Setns(fd, int(nstype))
	after := a.ids()[watch]
	note := ""
	switch {
	case err != nil && errors.Is(err, unix.EINVAL) && nstype != 0 && nstype != k.Flag:
		note = fmt.Sprintf("nstype %s does not match the %s namespace the fd refers to", FlagString(nstype), k.Name)
	case err != nil && k.Flag == CloneNewUser:
		note = "a multithreaded process (every Go program) may not join a user namespace; nslab's shell does it in C before the Go runtime starts"
	case err == nil && nstype == 0:
		note = "nstype 0: the kernel joined whatever kind the fd refers to, without checking"
	case err == nil && k.ChildrenProcName != "":
		note = "the caller stays where it is; only its future children are created in the joined namespace"
	}
	ntype := cloneFlagsArg(nstype, false)
	a.record("setns", []string{fmt.Sprint(fd), ntype}, 0, err, watch, before, after, note)
	return syscallErr(fmt.Sprintf("setns(%s, %s)", path, ntype), err)
}

func (a *agent) setUTSName(op, name string) error {
	if err := ValidateHostname(name); err != nil {
		return err
	}
	if err := a.requireOwn("uts"); err != nil {
		return err
	}
	var err error
	if op == opHostname {
		err = unix.Sethostname([]byte(name))
	} else {
		err = unix.Setdomainname([]byte(name))
	}
	a.record(op, []string{strArg(name), fmt.Sprint(len(name))}, 0, err, "", NSID{}, NSID{}, "")
	return syscallErr(op, err)
}

func (a *agent) mount(fstype, target, data string) error {
	if err := ValidateMountTarget(target); err != nil {
		return err
	}
	switch fstype {
	case "tmpfs", "proc", "mqueue":
	default:
		return fmt.Errorf("%w: nslab mounts only tmpfs, proc or mqueue, not %q", ErrBadInput, fstype)
	}
	if err := a.requireOwn("mnt"); err != nil {
		return err
	}
	if st, err := os.Stat(target); err != nil || !st.IsDir() {
		return fmt.Errorf("%w: mount point %s is not a directory in the sandbox", ErrBadInput, target)
	}
	var flags uintptr = unix.MS_NOSUID | unix.MS_NODEV
	if fstype != "tmpfs" {
		flags |= unix.MS_NOEXEC
	}
	err := unix.Mount(fstype, target, fstype, flags, data)
	d := "NULL" // unix.Mount passes data "" as NULL
	if data != "" {
		d = strArg(data)
	}
	a.record("mount", []string{strArg(fstype), strArg(target), strArg(fstype), mountFlagsArg(flags), d}, 0, err, "", NSID{}, NSID{}, "")
	return syscallErr("mount "+fstype+" on "+target, err)
}

func (a *agent) umount(target string) error {
	if err := ValidateMountTarget(target); err != nil {
		return err
	}
	if err := a.requireOwn("mnt"); err != nil {
		return err
	}
	err := unix.Unmount(target, 0)
	a.record("umount2", []string{strArg(target), "0"}, 0, err, "", NSID{}, NSID{}, "")
	return syscallErr("umount "+target, err)
}

// timeOffset writes one clock offset for the agent's time_for_children
// namespace. The kernel takes offsets only before the first process enters
// that namespace (EACCES afterwards).
func (a *agent) timeOffset(clock string, secs int) error {
	if clock != "monotonic" && clock != "boottime" {
		return fmt.Errorf("%w: clock %q: use monotonic or boottime", ErrBadInput, clock)
	}
	if err := a.requireOwnChildren("time_for_children", "time"); err != nil {
		return err
	}
	line := fmt.Sprintf("%s %d 0", clock, secs)
	const path, oflags = "/proc/self/timens_offsets", unix.O_WRONLY | unix.O_CLOEXEC
	fd, err := unix.Open(path, oflags, 0)
	a.record("openat", []string{"AT_FDCWD", strArg(path), openFlagsArg(oflags)}, int64(fd), err, "", NSID{}, NSID{}, "")
	if err != nil {
		return syscallErr("open "+path, err)
	}
	defer unix.Close(fd)
	n, err := unix.Write(fd, []byte(line))
	a.record("write", []string{strconv.Itoa(fd), strArg(line), strconv.Itoa(len(line))}, int64(n), err, "", NSID{}, NSID{},
		"offsets can be written until the first process enters the new time namespace")
	return syscallErr("write timens_offsets", err)
}
