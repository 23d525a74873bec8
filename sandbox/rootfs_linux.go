package sandbox

// Building a root file system inside a sandbox and moving into it, for the
// rootfs lesson: a tmpfs of nslab's own as the new root, read-only binds of
// host directories, pivot_root(2), the old root detached, and a bounding
// set cut down to a few capabilities.
//
// Host safety: every operation here refuses unless the agent's mount
// namespace differs from the host's (made private when it started), and
// nothing is ever created on a host file system: directories, files and
// symlinks are made only inside a tmpfs this agent mounted itself (tracked
// by device number, so a bind of a host directory never qualifies).

import (
	"context"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

const (
	opOwnTmpfs  = "owntmpfs"
	opMkdir     = "mkdir"
	opSymlink   = "symlink"
	opBindAt    = "bindat"
	opPivotRoot = "pivotroot"
	opDetach    = "detach"
	opCapBound  = "capbound"
)

// OwnTmpfs mounts a fresh tmpfs at target (a directory that exists, or
// that can be made inside another of the sandbox's own tmpfs mounts).
// Inside it, and only there, Mkdir, Symlink and BindAt may create entries.
func (s *Sandbox) OwnTmpfs(ctx context.Context, target string) error {
	if err := ValidateMountTarget(target); err != nil {
		return err
	}
	_, err := s.call(ctx, request{Op: opOwnTmpfs, Path: target})
	return err
}

// Mkdir makes a directory (and its parents) inside one of the sandbox's
// own tmpfs mounts.
func (s *Sandbox) Mkdir(ctx context.Context, dir string) error {
	_, err := s.call(ctx, request{Op: opMkdir, Path: dir})
	return err
}

// Symlink makes the symbolic link linkpath → target inside one of the
// sandbox's own tmpfs mounts, as `ln -s target linkpath` does.
func (s *Sandbox) Symlink(ctx context.Context, target, linkpath string) error {
	_, err := s.call(ctx, request{Op: opSymlink, Name: target, Path: linkpath})
	return err
}

// BindAt bind-mounts source (a directory or a file) onto target, first
// making target, of the same type, inside one of the sandbox's own tmpfs
// mounts. readOnly remounts the bind read-only, as `mount --bind -o ro`
// does (two mount(2) calls: a bind cannot be made read-only at once).
func (s *Sandbox) BindAt(ctx context.Context, source, target string, readOnly bool) error {
	if err := ValidateMountTarget(target); err != nil {
		return err
	}
	var ro uint64
	if readOnly {
		ro = 1
	}
	_, err := s.call(ctx, request{Op: opBindAt, Name: source, Path: target, Flags: ro})
	return err
}

// PivotRoot makes newRoot (one of the sandbox's own tmpfs mounts) the root
// of the sandbox's mount namespace with pivot_root(2); the old root stays
// reachable at "/"+putOld until Detach. The agent then works in "/".
func (s *Sandbox) PivotRoot(ctx context.Context, newRoot, putOld string) error {
	if err := ValidateMountTarget(newRoot); err != nil {
		return err
	}
	_, err := s.call(ctx, request{Op: opPivotRoot, Path: newRoot, Name: putOld})
	return err
}

// Detach unmounts target lazily with umount2(MNT_DETACH), the whole tree
// below it at once, and removes the empty directory it was mounted on.
func (s *Sandbox) Detach(ctx context.Context, target string) error {
	if err := ValidateMountTarget(target); err != nil {
		return err
	}
	_, err := s.call(ctx, request{Op: opDetach, Path: target})
	return err
}

// KeepCapabilities drops every capability but keep from the agent's
// bounding set (PR_CAPBSET_DROP, one call each). Processes the agent
// starts, and shells entered afterwards, can never gain a dropped one.
func (s *Sandbox) KeepCapabilities(ctx context.Context, keep uint64) error {
	_, err := s.call(ctx, request{Op: opCapBound, Flags: keep})
	return err
}

// handleRootfs runs the operations of this file; ok is false for others.
func (a *agent) handleRootfs(r request) (ok bool, err error) {
	switch r.Op {
	case opOwnTmpfs:
		return true, a.ownTmpfs(r.Path)
	case opMkdir:
		return true, a.mkdirOwn(r.Path)
	case opSymlink:
		return true, a.symlinkOwn(r.Name, r.Path)
	case opBindAt:
		return true, a.bindAt(r.Name, r.Path, r.Flags != 0)
	case opPivotRoot:
		return true, a.pivotRoot(r.Path, r.Name)
	case opDetach:
		return true, a.detach(r.Path)
	case opCapBound:
		return true, a.capBound(r.Flags)
	}
	return false, nil
}

// devOf is the device number of the file system that holds p (not
// following a final symlink).
func devOf(p string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return 0, err
	}
	return st.Dev, nil
}

// requireOwnParent refuses to create p unless its parent directory is,
// without any symlink on the way, inside a tmpfs this agent mounted.
func (a *agent) requireOwnParent(p string) error {
	if p == "" || !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
		return fmt.Errorf("%w: %q must be a clean absolute path", ErrBadInput, p)
	}
	if err := a.requireOwn("mnt"); err != nil {
		return err
	}
	for d := path.Dir(p); ; d = path.Dir(d) {
		var st unix.Stat_t
		if err := unix.Lstat(d, &st); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrBadInput, d, err)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return fmt.Errorf("%w: %s is a symlink: nslab creates nothing through one", ErrBadInput, d)
		}
		if d == "/" {
			break
		}
	}
	dev, err := devOf(path.Dir(p))
	if err != nil {
		return err
	}
	if !a.own[dev] {
		return fmt.Errorf("%w: %s is not inside a tmpfs the sandbox mounted itself: nslab creates nothing on the host's file systems", ErrBadInput, path.Dir(p))
	}
	return nil
}

func (a *agent) ownTmpfs(target string) error {
	if err := ValidateMountTarget(target); err != nil {
		return err
	}
	if err := a.requireOwn("mnt"); err != nil {
		return err
	}
	if _, err := os.Lstat(target); err != nil {
		if err := a.mkdirOwn(target); err != nil {
			return err
		}
	}
	const flags = unix.MS_NOSUID | unix.MS_NODEV
	err := unix.Mount("nslab", target, "tmpfs", flags, "mode=755")
	a.record("mount", []string{strArg("nslab"), strArg(target), strArg("tmpfs"), mountFlagsArg(flags), strArg("mode=755")}, 0, err, "", NSID{}, NSID{}, "")
	if err != nil {
		return syscallErr("mount tmpfs on "+target, err)
	}
	return a.markOwn(target)
}

// markOwn records the tmpfs just mounted at target as the agent's own: the
// only kind of place it creates files in.
func (a *agent) markOwn(target string) error {
	dev, err := devOf(target)
	if err != nil {
		return err
	}
	if a.own == nil {
		a.own = map[uint64]bool{}
	}
	a.own[dev] = true
	return nil
}

func (a *agent) mkdirOwn(dir string) error {
	if st, err := os.Lstat(dir); err == nil && st.IsDir() {
		return nil
	}
	if parent := path.Dir(dir); parent != "/" {
		if _, err := os.Lstat(parent); err != nil {
			if err := a.mkdirOwn(parent); err != nil {
				return err
			}
		}
	}
	if err := a.requireOwnParent(dir); err != nil {
		return err
	}
	return syscallErr("mkdir "+dir, unix.Mkdir(dir, 0o755))
}

func (a *agent) symlinkOwn(target, linkpath string) error {
	if target == "" || len(target) > 4096 {
		return fmt.Errorf("%w: symlink target %q", ErrBadInput, target)
	}
	if err := a.requireOwnParent(linkpath); err != nil {
		return err
	}
	return syscallErr("symlink "+linkpath, unix.Symlink(target, linkpath))
}

// lockedFlags are the mount flags of source a remount must keep: in a
// user namespace the kernel locks them on mounts it copied from a more
// privileged namespace, and a remount that drops one fails with EPERM.
func lockedFlags(source string) (uintptr, error) {
	var fs unix.Statfs_t
	if err := unix.Statfs(source, &fs); err != nil {
		return 0, syscallErr("statfs "+source, err)
	}
	var out uintptr
	for _, f := range []struct{ st, ms uintptr }{
		{unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV}, {unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME}, {unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if uintptr(fs.Flags)&f.st != 0 {
			out |= f.ms
		}
	}
	return out, nil
}

func (a *agent) bindAt(source, target string, readOnly bool) error {
	if err := ValidateMountTarget(target); err != nil {
		return err
	}
	if source == "" || !path.IsAbs(source) || path.Clean(source) != source {
		return fmt.Errorf("%w: bind source %q must be a clean absolute path", ErrBadInput, source)
	}
	st, err := os.Stat(source)
	if err != nil {
		return fmt.Errorf("%w: bind source %s: %w", ErrBadInput, source, err)
	}
	if _, err := os.Lstat(target); err != nil {
		if st.IsDir() {
			err = a.mkdirOwn(target)
		} else if err = a.mkdirOwn(path.Dir(target)); err == nil {
			if err = a.requireOwnParent(target); err == nil {
				var fd int
				fd, err = unix.Open(target, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
				if err == nil {
					unix.Close(fd)
				}
				err = syscallErr("create "+target, err)
			}
		}
		if err != nil {
			return err
		}
	}
	if err := a.requireOwn("mnt"); err != nil {
		return err
	}
	err = unix.Mount(source, target, "", unix.MS_BIND, "")
	a.record("mount", []string{strArg(source), strArg(target), strArg(""), mountFlagsArg(unix.MS_BIND), "NULL"}, 0, err, "", NSID{}, NSID{}, "")
	if err != nil || !readOnly {
		return syscallErr("mount --bind "+source+" "+target, err)
	}
	keep, err := lockedFlags(source)
	if err != nil {
		return err
	}
	flags := unix.MS_REMOUNT | unix.MS_BIND | unix.MS_RDONLY | keep
	err = unix.Mount("", target, "", flags, "")
	a.record("mount", []string{strArg(""), strArg(target), strArg(""), mountFlagsArg(flags), "NULL"}, 0, err, "", NSID{}, NSID{},
		"a bind is read-only only after a remount; the flags the source already had must stay (a user namespace locks them)")
	return syscallErr("remount "+target+" read-only", err)
}

func (a *agent) pivotRoot(newRoot, putOld string) error {
	if err := ValidateMountTarget(newRoot); err != nil {
		return err
	}
	if putOld == "" || path.Base(putOld) != putOld || putOld == "." || putOld == ".." {
		return fmt.Errorf("%w: the old root's name %q must be one path element", ErrBadInput, putOld)
	}
	if err := a.requireOwn("mnt"); err != nil {
		return err
	}
	dev, err := devOf(newRoot)
	if err != nil || !a.own[dev] {
		return fmt.Errorf("%w: %s is not a tmpfs the sandbox mounted itself", ErrBadInput, newRoot)
	}
	old := path.Join(newRoot, putOld)
	if err := a.mkdirOwn(old); err != nil {
		return err
	}
	err = unix.PivotRoot(newRoot, old)
	a.record("pivot_root", []string{strArg(newRoot), strArg(old)}, 0, err, "mnt", NSID{}, NSID{},
		"the new root becomes /, the old one moves to /"+putOld+": every process of this mount namespace rooted at the old / now sees the new one")
	if err != nil {
		return syscallErr("pivot_root "+newRoot, err)
	}
	// pivot_root leaves the working directory where it was, outside the
	// new tree: chdir("/") is part of the move (pivot_root(8) tells you to).
	return syscallErr("chdir /", unix.Chdir("/"))
}

func (a *agent) detach(target string) error {
	if err := ValidateMountTarget(target); err != nil {
		return err
	}
	if err := a.requireOwn("mnt"); err != nil {
		return err
	}
	err := unix.Unmount(target, unix.MNT_DETACH)
	a.record("umount2", []string{strArg(target), "MNT_DETACH"}, 0, err, "", NSID{}, NSID{},
		"detach the whole tree at once: nothing below it stays reachable from this namespace")
	if err != nil {
		return syscallErr("umount2 "+target+" MNT_DETACH", err)
	}
	if err := a.requireOwnParent(target); err != nil {
		return nil // the mount point is not ours to remove
	}
	return syscallErr("rmdir "+target, unix.Rmdir(target))
}

// capBound drops from the bounding set of the agent's main thread (the
// one every request runs on, locked) each capability not in keep.
func (a *agent) capBound(keep uint64) error {
	for n := 0; n <= CapLast; n++ {
		if keep&(1<<uint(n)) != 0 {
			continue
		}
		in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(n), 0, 0, 0)
		if err != nil || in == 0 {
			continue // not in this kernel, or already gone
		}
		err = unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(n), 0, 0, 0)
		a.record("prctl", []string{"PR_CAPBSET_DROP", CapName(n)}, 0, err, "", NSID{}, NSID{}, "")
		if err != nil {
			return syscallErr("prctl(PR_CAPBSET_DROP, "+CapName(n)+")", err)
		}
	}
	return nil
}

// capBound reads the bounding set of process pid's main thread.
func capBound(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, fmt.Errorf("no CapBnd line in /proc/%d/status", pid)
}

// limitBound drops from this thread's bounding set every capability not in
// hex (the agent's set; "" changes nothing). The hidden entry runs locked
// to its main thread, the one that then calls execve, so the shell
// inherits the cut set.
func limitBound(hex string) error {
	if hex == "" {
		return nil
	}
	keep, err := strconv.ParseUint(hex, 16, 64)
	if err != nil {
		return fmt.Errorf("%w: bounding set %q", ErrBadInput, hex)
	}
	for n := 0; n <= CapLast; n++ {
		if keep&(1<<uint(n)) != 0 {
			continue
		}
		if in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(n), 0, 0, 0); err != nil || in == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(n), 0, 0, 0); err != nil {
			return syscallErr("drop "+CapName(n)+" from the shell's bounding set", err)
		}
	}
	return nil
}
