package sandbox

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/sandbox/idrange"
)

// ErrConfine is wrapped by every error that keeps a confined engine from
// starting or a learner's sandbox from being confined.
var ErrConfine = errors.New("cannot confine the learner")

// Confinement is what keeps one untrusted learner in their box (nslab
// serve): the host ids their user namespaces map to, and the limits of
// their cgroup.
type Confinement struct {
	// Name is the learner's name (^[a-z][a-z0-9_-]{0,31}$); it names the
	// cgroup.
	Name string
	// IDs are the learner's own host uids and gids (idrange): root inside
	// every sandbox is IDs.Base outside.
	IDs idrange.Range
	// Limits bound the learner's processes; zero fields take defaults.
	Limits Limits
}

// confinement is a confined engine's state.
type confinement struct {
	c     Confinement
	lim   Limits
	flags uintptr // every sandbox's namespaces are new ones of these kinds
	// cloneFlags are those of flags given to clone.
	cloneFlags uintptr
	cg         *learnerCgroup
}

// ConfineFlags are the namespaces a confined engine adds to every sandbox
// it starts, whatever the lesson asks for: every kind this kernel has.
// So no process of the learner is in any namespace of the host: not its
// user namespace (root inside is the learner's range outside), not its
// PID namespace (the learner sees only their own processes, through a
// fresh /proc), mounts, IPC, network, hostname, cgroup root or clocks.
func ConfineFlags() uintptr {
	var f uintptr
	for _, k := range Kinds() {
		if _, err := os.Stat("/proc/self/ns/" + k.ProcName); err == nil {
			f |= k.Flag
		}
	}
	return f
}

// NewConfinedEngine starts an engine for one untrusted learner (nslab
// serve). Every sandbox it starts lives in new namespaces of every kind
// (ConfineFlags), the user namespace mapping 0..Count-1 inside to the
// learner's range outside, with its processes in the learner's cgroup and
// under RLIMIT_NPROC. Close removes the cgroup. It needs root: the engine
// does the privileged half of every lesson (the id maps, the cgroup, the
// host end of a veth) on the learner's behalf.
func NewConfinedEngine(c Confinement) (*Engine, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: confining learners needs root (run nslab serve with sudo)", ErrConfine)
	}
	if !idrange.ValidName(c.Name) {
		return nil, fmt.Errorf("%w: learner name %q must match ^[a-z][a-z0-9_-]{0,31}$", ErrConfine, c.Name)
	}
	// Root's own ids, the host's system accounts and the overflow ids are
	// never a learner's.
	if c.IDs.Base < 2*idrange.Size || c.IDs.Count == 0 || c.IDs.End() > 1<<32-1 {
		return nil, fmt.Errorf("%w: id range %s is not an unprivileged range (take it from idrange)", ErrConfine, c.IDs)
	}
	if !enterSupported {
		return nil, fmt.Errorf("%w: %w", ErrConfine, ErrNoEnter)
	}
	conf := &confinement{c: c, lim: c.Limits.withDefaults(), flags: ConfineFlags()}
	// The agent unshares its cgroup namespace itself, once it is in the
	// learner's cgroup (confineAgent).
	conf.cloneFlags = conf.flags &^ CloneNewCgroup
	if conf.flags&CloneNewUser == 0 {
		return nil, fmt.Errorf("%w: this kernel has no user namespaces", ErrConfine)
	}
	cg, err := newLearnerCgroup(c.Name, conf.lim)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfine, err)
	}
	conf.cg = cg
	e, err := NewEngine()
	if err != nil {
		return nil, errors.Join(err, cg.remove())
	}
	e.conf = conf
	return e, nil
}

// Confined reports whether the engine confines a learner.
func (e *Engine) Confined() bool { return e.conf != nil }

// ConfinementNote says, for a learner, what the server did to confine
// them; "" for an ordinary engine.
func (e *Engine) ConfinementNote() string {
	if e.conf == nil {
		return ""
	}
	c := e.conf
	var names []string
	for _, k := range KindsIn(c.flags) {
		names = append(names, k.Name)
	}
	note := fmt.Sprintf("the class server starts each of your sandboxes in new %s namespaces; root inside is uid %d outside, which no one else has; your processes share a cgroup (at most %d processes, %d MiB, CPU weight %d) and RLIMIT_NPROC %d",
		strings.Join(names, ", "), c.c.IDs.Base, c.lim.Pids, c.lim.Memory>>20, c.lim.CPUWeight, c.lim.NProc)
	if len(c.cg.missing) > 0 {
		note += "; this host has no " + strings.Join(c.cg.missing, ", ") + " controller"
	}
	return note
}

// started is the engine's half of confining a new agent, done on the
// spawner thread before the agent may run (it waits for its id maps):
// into the learner's cgroup, under RLIMIT_NPROC. It returns what it did.
func (c *confinement) started(pid int) ([]HostOp, error) {
	if err := c.cg.add(pid); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfine, err)
	}
	ops := []HostOp{{Op: HostOpCgroup, Object: strings.Join(c.cg.dirs, ", "),
		Text: fmt.Sprintf("moved your sandbox's first process (host PID %d) into your cgroup %s (at most %d processes, %d MiB)",
			pid, strings.Join(c.cg.dirs, " and "), c.lim.Pids, c.lim.Memory>>20)}}
	lim := unix.Rlimit{Cur: uint64(c.lim.NProc), Max: uint64(c.lim.NProc)}
	if err := unix.Prlimit(pid, unix.RLIMIT_NPROC, &lim, nil); err != nil {
		return ops, fmt.Errorf("%w: set RLIMIT_NPROC of the agent: %w", ErrConfine, err)
	}
	ops = append(ops, HostOp{Op: HostOpNProc, Object: fmt.Sprintf("/proc/%d/limits", pid),
		Text: fmt.Sprintf("set RLIMIT_NPROC %d on it (prlimit): your host uid %d may not have more processes", c.lim.NProc, c.c.IDs.Base)})
	return ops, nil
}

// enterEnv is what a shell entering a confined sandbox needs before it
// joins: the cgroup.procs files it writes itself into, its RLIMIT_NPROC,
// and that dropping the host's supplementary groups must not fail.
func (c *confinement) enterEnv() []string {
	return []string{
		envEnterCgroups + "=" + strings.Join(c.cg.procsFiles(), ":"),
		envEnterNProc + "=" + strconv.Itoa(c.lim.NProc),
		envEnterConfined + "=1",
	}
}

// newRangeMaps maps 0..count-1 inside to the learner's range outside.
// setgroups stays allowed: the engine writing the maps is root, and a
// group set can name only mapped gids, the learner's own.
func newRangeMaps(r idrange.Range) (*idMaps, error) {
	m, err := newIDMaps(false)
	if err != nil {
		return nil, err
	}
	m.uid, m.gid, m.count, m.allowSetgroups = int(r.Base), int(r.Base), int(r.Count), true
	return m, nil
}

// confinedHostViews withholds what a learner must not see of the host: its
// processes, other learners' among them.
func (e *Engine) confinedHostViews(views []View) ([]View, ViewErrs) {
	if e.conf == nil {
		return views, nil
	}
	var out []View
	var errs ViewErrs
	for _, v := range views {
		if v == ViewPIDs {
			errs = ViewErrs{ViewPIDs: "withheld: a class learner does not see the host's processes (other learners' among them)"}
			continue
		}
		out = append(out, v)
	}
	return out, errs
}

// confineAgent runs in a confined agent, after its mount namespace was
// made private and the engine had moved it into the learner's cgroup:
//   - a cgroup namespace of its own, rooted at that cgroup (a clone with
//     CLONE_NEWCGROUP would have rooted it where the engine's thread was,
//     and /proc/self/cgroup would show the host's tree);
//   - a root file system of its own (confineRoot).
func (a *agent) confineAgent() error {
	if err := a.requireOwn("mnt"); err != nil {
		return err
	}
	before := a.ids()["cgroup"]
	err := unix.Unshare(unix.CLONE_NEWCGROUP)
	a.record("unshare", []string{cloneFlagsArg(unix.CLONE_NEWCGROUP, false)}, 0, err, "cgroup", before, a.ids()["cgroup"],
		confineNote+"your cgroup root is your own cgroup")
	if err != nil {
		return syscallErr("unshare(CLONE_NEWCGROUP)", err)
	}
	return a.confineRoot()
}

const confineNote = "the class server confines you: "

// confineRoot gives the agent, and every shell entered into it, a root of
// its own: a tmpfs holding read-only binds of the host's system
// directories, the host's /dev, a fresh /proc (its PID namespace's
// processes only) and /sys (its network devices, no host cgroups), and
// writable /tmp, /var/tmp, /run and /root in the tmpfs; then pivot_root
// and the host's tree detached.
//
// Why not mount the fresh /proc over the host's: the learner is root of
// this mount namespace's user namespace, and may unmount whatever it
// mounted; under a fresh /proc lay the host's, every host process in it.
// Under these mounts lie empty directories of the tmpfs, and the tmpfs,
// now the root, is locked: pivot_root moves the lock the copied host root
// had onto it.
func (a *agent) confineRoot() error {
	const root = "/tmp" // a directory the host surely has; covered, then detached
	mount := func(src, target, fstype string, flags uintptr, data, why string) error {
		err := unix.Mount(src, target, fstype, flags, data)
		d := "NULL" // unix.Mount passes data "" as NULL
		if data != "" {
			d = strArg(data)
		}
		a.record("mount", []string{strArg(src), strArg(target), strArg(fstype), mountFlagsArg(flags), d}, 0, err, "", NSID{}, NSID{}, why)
		return syscallErr("mount "+fstype+" "+src+" on "+target, err)
	}
	if err := mount("nslab", root, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=64m,mode=755",
		confineNote+"a tmpfs of your own becomes your root file system"); err != nil {
		return err
	}
	if err := a.markOwn(root); err != nil {
		return err
	}
	// The host's system directories, read-only (merged /usr: bin, lib,
	// sbin are symlinks, made again as such).
	for _, d := range []string{"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "opt"} {
		st, err := os.Lstat("/" + d)
		switch {
		case err != nil:
			continue
		case st.Mode()&os.ModeSymlink != 0:
			to, err := os.Readlink("/" + d)
			if err != nil {
				return fmt.Errorf("%w: read link /%s: %w", ErrConfine, d, err)
			}
			if err := a.symlinkOwn(to, root+"/"+d); err != nil {
				return err
			}
			continue
		case !st.IsDir():
			continue
		}
		if err := a.mkdirOwn(root + "/" + d); err != nil {
			return err
		}
		// Recursive: a plain bind of a tree with locked submounts (the
		// host's binds on /etc/hosts, say) is refused in a user namespace.
		if err := mount("/"+d, root+"/"+d, "", unix.MS_BIND|unix.MS_REC, "", confineNote+"the host's /"+d+", read-only"); err != nil {
			return err
		}
		keep, err := lockedFlags("/" + d)
		if err != nil {
			return err
		}
		if err := mount("", root+"/"+d, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|keep, "", ""); err != nil {
			return err
		}
	}
	for _, d := range []struct {
		dir  string
		mode uint32
	}{{"/dev", 0o755}, {"/proc", 0o555}, {"/sys", 0o555}, {"/tmp", 0o1777}, {"/var/tmp", 0o1777}, {"/run/lock", 0o1777}, {"/root", 0o700}, {"/" + confineOldRoot, 0o700},
		// Empty mount points the lessons mount on, as on the host (FHS).
		{"/mnt", 0o755}, {"/srv", 0o755}, {"/media", 0o755}} {
		if err := a.mkdirOwn(root + d.dir); err != nil {
			return err
		}
		// mkdir's mode passes through the umask; the sticky bit needs chmod.
		if err := os.Chmod(root+d.dir, os.FileMode(d.mode&0o777)|stickyIf(d.mode)); err != nil {
			return fmt.Errorf("%w: %w", ErrConfine, err)
		}
	}
	if err := a.confineDev(root, mount); err != nil {
		return err
	}
	nx := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if err := mount("proc", root+"/proc", "proc", nx, "", confineNote+"a fresh /proc shows only the processes of this sandbox's PID namespace"); err != nil {
		return err
	}
	if err := mount("sysfs", root+"/sys", "sysfs", nx, "", confineNote+"a fresh /sys shows this sandbox's network devices and none of the host's cgroups"); err != nil {
		return err
	}
	if err := a.pivotRoot(root, confineOldRoot); err != nil {
		return err
	}
	return a.detach("/" + confineOldRoot)
}

// confineDev makes /dev in the new root: the harmless device nodes bound
// from the host's, one by one (a bind of the host's whole /dev would
// bring its /dev/shm, the host's, below a learner's own), a devpts
// instance of its own, and /dev/shm and /dev/mqueue of its own.
func (a *agent) confineDev(root string, mount func(src, target, fstype string, flags uintptr, data, why string) error) error {
	for _, d := range []string{"/dev/pts", "/dev/shm", "/dev/mqueue"} {
		if err := a.mkdirOwn(root + d); err != nil {
			return err
		}
	}
	if err := os.Chmod(root+"/dev/shm", 0o777|os.ModeSticky); err != nil {
		return fmt.Errorf("%w: %w", ErrConfine, err)
	}
	for _, n := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		src := "/dev/" + n
		if st, err := os.Stat(src); err != nil || st.Mode()&os.ModeCharDevice == 0 {
			continue
		}
		target := root + src
		if err := a.requireOwnParent(target); err != nil {
			return err
		}
		fd, err := unix.Open(target, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return syscallErr("create "+target, err)
		}
		unix.Close(fd)
		if err := mount(src, target, "", unix.MS_BIND, "", confineNote+src+" bound from the host"); err != nil {
			return err
		}
	}
	for link, to := range map[string]string{"ptmx": "pts/ptmx", "fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		if err := a.symlinkOwn(to, root+"/dev/"+link); err != nil {
			return err
		}
	}
	if err := mount("devpts", root+"/dev/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620",
		confineNote+"a devpts of your own: the host's terminals are not in it"); err != nil {
		return err
	}
	return mount("mqueue", root+"/dev/mqueue", "mqueue", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "",
		confineNote+"/dev/mqueue shows this sandbox's POSIX message queues")
}

// confineOldRoot is where pivot_root puts the host's tree until detached.
const confineOldRoot = ".nslab-host"

func stickyIf(mode uint32) os.FileMode {
	if mode&0o1000 != 0 {
		return os.ModeSticky
	}
	return 0
}
