package userfs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Errors for errors.Is; a *PathError names the component.
var (
	// ErrSymlink: a path component is a symlink, which nslab never follows.
	ErrSymlink = errors.New("is a symlink")
	// ErrNotDir: a component that must be a directory is something else.
	ErrNotDir = errors.New("is not a directory")
	// ErrNotRegular: the file itself is not a regular file.
	ErrNotRegular = errors.New("is not a regular file")
	// ErrRelative: only absolute paths are resolved.
	ErrRelative = errors.New("is not an absolute path")
	// ErrCredentials: the thread could not take the learner's credentials;
	// nothing was touched.
	ErrCredentials = errors.New("cannot take on the invoking user's file credentials")
)

// PathError is a problem with one component of a path: Path is that
// component (as a full path), Found what is there.
type PathError struct {
	Path  string
	Found string // "is a symlink (to \"/R\")", "is a FIFO, not a directory"
	Err   error
}

func (e *PathError) Error() string { return e.Path + " " + e.Found }
func (e *PathError) Unwrap() error { return e.Err }

// FS does file work as As, never following a symlink. The zero value
// works as this process.
type FS struct {
	As Identity
	// NoOpenat2 resolves with O_NOFOLLOW one component at a time even where
	// the kernel has openat2 (the path older kernels take; tests use it).
	NoOpenat2 bool
}

// Do runs fn with As's file-system credentials.
//
// Mechanism: setfsuid/setfsgid (and setgroups) on a thread of its own,
// not a child process with SysProcAttr.Credential. The kernel checks file
// access against the fsuid, fsgid and supplementary groups, and drops
// CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_CHOWN and the other file capabilities
// while the fsuid is not 0 (capabilities(7)), so fn meets exactly the
// learner's permissions, and what it creates is the learner's without a
// chown. Errors stay Go errors with their errno; no second process, no
// protocol, no re-exec of a 9 MB binary for a 1 KB file.
//
// Go surprise: these credentials are per thread (the raw syscalls; glibc
// would broadcast setgroups to every thread, Go's x/sys/unix does not),
// and the Go scheduler moves goroutines between threads. So fn runs on a
// new goroutine locked to its thread, which never unlocks: when it
// returns, the runtime ends that thread, and the changed credentials die
// with it. Nothing is ever restored, so no restore can fail and leave a
// root thread acting as the learner, or the reverse. Threads the runtime
// starts later are cloned from its template thread, never from a locked
// one. fn must not start goroutines of its own for file work.
func (f FS) Do(fn func() error) error {
	if !f.As.Switch {
		return fn()
	}
	type result struct {
		err   error
		panic any
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see above
		if unix.Gettid() == unix.Getpid() {
			// The main thread: the runtime cannot end it, and would only
			// park it for good, still visible in /proc/self/status with
			// the learner's fsuid and fewer capabilities. Hold it, so
			// that the nested Do lands on another thread, then let it go
			// unchanged.
			var r result
			func() {
				defer func() { r.panic = recover() }()
				r.err = f.Do(fn)
			}()
			runtime.UnlockOSThread()
			done <- r
			return
		}
		defer func() {
			if r := recover(); r != nil {
				done <- result{panic: r}
			}
		}()
		if err := f.become(); err != nil {
			done <- result{err: err}
			return
		}
		done <- result{err: fn()}
	}()
	r := <-done
	if r.panic != nil {
		panic(r.panic)
	}
	return r.err
}

// become sets this thread's groups, fsgid and fsuid to As's, and checks
// that the kernel took them (setfsuid reports no error, only the old value).
func (f FS) become() error {
	id := f.As
	if err := unix.Setgroups(id.Groups); err != nil {
		return fmt.Errorf("%w: setgroups: %w", ErrCredentials, err)
	}
	unix.Setfsgid(id.GID)
	unix.Setfsuid(id.UID)
	// -1 changes nothing and returns the current value.
	gid, _ := unix.SetfsgidRetGid(-1)
	uid, _ := unix.SetfsuidRetUid(-1)
	if uid != id.UID || gid != id.GID {
		return fmt.Errorf("%w: wanted fsuid %d fsgid %d, the kernel kept %d %d", ErrCredentials, id.UID, id.GID, uid, gid)
	}
	return nil
}

// splitAbs cleans an absolute path into its components ("/" has none).
func splitAbs(path string) ([]string, error) {
	if !filepath.IsAbs(path) {
		return nil, &PathError{Path: path, Found: ErrRelative.Error(), Err: ErrRelative}
	}
	// Clean removes "." and ".." lexically, which is also where the kernel
	// ends up, since no component may be a symlink.
	path = filepath.Clean(path)
	if path == "/" {
		return nil, nil
	}
	return strings.Split(path[1:], "/"), nil
}

// openDir opens the directory path O_RDONLY (so that it can be fsynced)
// without following a symlink anywhere. With create, missing components
// are made mode 0700. The caller runs it inside Do.
func (f FS) openDir(path string, create bool) (int, error) {
	comps, err := splitAbs(path)
	if err != nil {
		return -1, err
	}
	useOpenat2 := !f.NoOpenat2
	if useOpenat2 {
		// One lookup checks every component at once.
		fd, err := unix.Openat2(unix.AT_FDCWD, filepath.Clean(path), &unix.OpenHow{
			Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		})
		if err == nil {
			return fd, nil
		}
		// ENOSYS before Linux 5.6, EPERM from some seccomp profiles:
		// walk with O_NOFOLLOW instead. Any other error: the walk finds
		// the component (and makes missing ones).
		if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
			useOpenat2 = false
		}
	}
	dfd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &PathError{Path: "/", Found: "cannot be opened: " + err.Error(), Err: err}
	}
	cur := ""
	for i, name := range comps {
		cur += "/" + name
		flags := unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC
		if i == len(comps)-1 {
			flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
		}
		fd, err := openComponent(dfd, name, cur, flags, useOpenat2)
		if errors.Is(err, fs.ErrNotExist) && create {
			if err = unix.Mkdirat(dfd, name, 0o700); err == nil || errors.Is(err, unix.EEXIST) {
				// Made (or someone else just made it): open it the same
				// careful way, as it may already have been swapped.
				fd, err = openComponent(dfd, name, cur, flags, useOpenat2)
			} else {
				err = &PathError{Path: cur, Found: "cannot be made: " + err.Error(), Err: err}
			}
		}
		if err != nil {
			unix.Close(dfd)
			return -1, err
		}
		unix.Close(dfd)
		dfd = fd
	}
	if len(comps) == 0 {
		unix.Close(dfd)
		return unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	return dfd, nil
}

// openComponent opens one name in dfd as a directory without following
// it if it is a symlink, and says what is there if it is not a
// directory. With openat2, RESOLVE_NO_SYMLINKS refuses a symlink with
// ELOOP (for a single component it says what O_NOFOLLOW says; it also
// refuses magic links and, with RESOLVE_BENEATH, ".."). Without it, the
// component is opened O_PATH|O_NOFOLLOW, which opens a symlink itself,
// and the fd is examined: no second lookup a swap could slip into.
func openComponent(dfd int, name, path string, flags int, useOpenat2 bool) (int, error) {
	if useOpenat2 {
		fd, err := unix.Openat2(dfd, name, &unix.OpenHow{
			Flags:   uint64(flags),
			Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_BENEATH,
		})
		if !errors.Is(err, unix.ENOSYS) {
			if err != nil {
				return -1, explain(dfd, name, path, err, true)
			}
			return fd, nil
		}
	}
	fd, err := unix.Openat(dfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, explain(dfd, name, path, err, true)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, &PathError{Path: path, Found: "cannot be examined: " + err.Error(), Err: err}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
	case unix.S_IFLNK:
		found := "is a symlink"
		buf := make([]byte, 4096)
		if n, err := unix.Readlinkat(fd, "", buf); err == nil {
			found = fmt.Sprintf("is a symlink (to %q)", buf[:n])
		}
		unix.Close(fd)
		return -1, &PathError{Path: path, Found: found, Err: ErrSymlink}
	default:
		unix.Close(fd)
		return -1, &PathError{Path: path, Found: "is " + kind(st.Mode) + ", not a directory", Err: ErrNotDir}
	}
	if flags&unix.O_PATH != 0 {
		return fd, nil
	}
	// Reopen the very directory (".", from its own fd) for reading.
	rfd, err := unix.Openat(fd, ".", flags|unix.O_NOFOLLOW, 0)
	unix.Close(fd)
	if err != nil {
		return -1, &PathError{Path: path, Found: "cannot be opened: " + err.Error(), Err: err}
	}
	return rfd, nil
}

// explain turns a failed open of name in dfd into a PathError. The errno
// decides (ELOOP under O_NOFOLLOW or RESOLVE_NO_SYMLINKS is a symlink,
// ENOTDIR under O_DIRECTORY is not a directory); a second look at the
// entry only adds detail, since it may have been swapped meanwhile.
func explain(dfd int, name, path string, err error, wantDir bool) error {
	var st unix.Stat_t
	have := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
	switch {
	case errors.Is(err, unix.ELOOP):
		found := "is a symlink"
		buf := make([]byte, 4096)
		if n, rerr := unix.Readlinkat(dfd, name, buf); rerr == nil {
			found = fmt.Sprintf("is a symlink (to %q)", buf[:n])
		}
		return &PathError{Path: path, Found: found, Err: ErrSymlink}
	case wantDir && errors.Is(err, unix.ENOTDIR):
		found := "is not a directory"
		if have && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			found = "is " + kind(st.Mode) + ", not a directory"
		}
		return &PathError{Path: path, Found: found, Err: ErrNotDir}
	case errors.Is(err, unix.ENOENT):
		return &PathError{Path: path, Found: "does not exist", Err: fs.ErrNotExist}
	}
	return &PathError{Path: path, Found: "cannot be opened: " + err.Error(), Err: err}
}

// kind names a file type for messages.
func kind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "a regular file"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFLNK:
		return "a symlink"
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	}
	return "an unknown kind of file"
}

// ReadFile reads the regular file path, at most limit+1 bytes (so that
// the caller can tell "too big"). A missing file or directory is
// fs.ErrNotExist; a symlink anywhere is ErrSymlink; a path component
// that is not a directory is ErrNotDir; the file itself not being a
// regular file (a FIFO, a directory) is ErrNotRegular. It never blocks on
// a FIFO.
func (f FS) ReadFile(path string, limit int) ([]byte, error) {
	var out []byte
	err := f.inParent(path, func(dfd int, name string) error {
		fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			return explain(dfd, name, path, err, false)
		}
		defer unix.Close(fd)
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return &PathError{Path: path, Found: "cannot be examined: " + err.Error(), Err: err}
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG {
			return &PathError{Path: path, Found: "is " + kind(st.Mode) + ", not a regular file", Err: ErrNotRegular}
		}
		// Read at most limit+1 bytes, whatever st.Size says: the file may
		// grow meanwhile.
		buf := make([]byte, 0, min(max(int(st.Size), 512), limit)+1)
		for len(buf) <= limit {
			if len(buf) == cap(buf) {
				buf = slices.Grow(buf, min(cap(buf), limit+1-len(buf)))
			}
			n, err := unix.Read(fd, buf[len(buf):min(cap(buf), limit+1)])
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				return &PathError{Path: path, Found: "cannot be read: " + err.Error(), Err: err}
			}
			if n == 0 {
				break
			}
			buf = buf[:len(buf)+n]
		}
		out = buf
		return nil
	})
	return out, err
}

// WriteFileAtomic replaces path with data: a new file (mode 0600, O_EXCL,
// in the same directory), fsync, rename over path, fsync the directory.
// Missing directories are made mode 0700. On failure path is untouched.
func (f FS) WriteFileAtomic(path string, data []byte) error {
	return f.Do(func() error {
		dir := filepath.Dir(path)
		dfd, err := f.openDir(dir, true)
		if err != nil {
			return err
		}
		defer unix.Close(dfd)
		name := filepath.Base(path)
		tmp := "." + name + "-" + randomSuffix() + ".tmp"
		fd, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return &PathError{Path: dir, Found: "has no room for a new file: " + err.Error(), Err: err}
		}
		ok := false
		defer func() {
			if !ok {
				unix.Unlinkat(dfd, tmp, 0)
			}
		}()
		werr := writeAll(fd, data)
		if werr == nil {
			werr = unix.Fsync(fd)
		}
		if cerr := unix.Close(fd); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return &PathError{Path: filepath.Join(dir, tmp), Found: "cannot be written: " + werr.Error(), Err: werr}
		}
		// renameat replaces the directory entry: a symlink put at name is
		// replaced itself, never written through.
		if err := unix.Renameat(dfd, tmp, dfd, name); err != nil {
			return &PathError{Path: path, Found: "cannot be replaced: " + err.Error(), Err: err}
		}
		ok = true
		// The rename is durable only once the directory is on disk too.
		_ = unix.Fsync(dfd)
		return nil
	})
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on Linux
	return hex.EncodeToString(b[:])
}

// inParent runs fn as the user with dfd open on path's parent directory
// (reached without following symlinks) and name its last component.
func (f FS) inParent(path string, fn func(dfd int, name string) error) error {
	return f.Do(func() error {
		dfd, err := f.openDir(filepath.Dir(path), false)
		if err != nil {
			return err
		}
		defer unix.Close(dfd)
		return fn(dfd, filepath.Base(path))
	})
}

// RenameAside renames path to path+suffix in the same directory (adding
// -1, -2 ... rather than replacing anything), and returns the new path.
// Whatever is at path is moved itself: a symlink is never followed.
func (f FS) RenameAside(path, suffix string) (string, error) {
	var dst string
	err := f.inParent(path, func(dfd int, name string) error {
		for i := 0; i < 100; i++ {
			to := name + suffix
			if i > 0 {
				to = fmt.Sprintf("%s%s-%d", name, suffix, i)
			}
			err := unix.Renameat2(dfd, name, dfd, to, unix.RENAME_NOREPLACE)
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
				// A file system without RENAME_NOREPLACE: check, then rename.
				var st unix.Stat_t
				if unix.Fstatat(dfd, to, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
					err = unix.EEXIST
				} else {
					err = unix.Renameat(dfd, name, dfd, to)
				}
			}
			if errors.Is(err, unix.EEXIST) {
				continue
			}
			if err != nil {
				return &PathError{Path: path, Found: "cannot be moved aside: " + err.Error(), Err: err}
			}
			dst = filepath.Join(filepath.Dir(path), to)
			return nil
		}
		return &PathError{Path: path, Found: "cannot be moved aside: too many earlier copies", Err: unix.EEXIST}
	})
	return dst, err
}
