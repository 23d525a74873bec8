// Package rootfs is lesson 13, "Your own container, from scratch": its Go
// logic. Its text and prompts are lesson.md and lesson.toml beside this
// file; package catalog registers Logic. It may import lessons and
// sandbox, never another lesson, catalog or ui.
package rootfs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

const (
	rootfsHostname = "rootfs"
	// rootfsBuild is where the new root is built: a tmpfs mounted over
	// /tmp in the sandbox's own (private) mount namespace only.
	rootfsBuild = "/tmp"
	rootfsOld   = ".oldroot" // where pivot_root puts the old root, under the new one
	// rootfsProof is the challenge's file, inside the container.
	rootfsProof = "/root/proof"

	rootfsKinds        = "rootfs.kinds"         // the kinds the agent was cloned with, /proc names
	rootfsMountsBefore = "rootfs.mounts_before" // mounts the agent saw before pivot_root
	rootfsMountsPivot  = "rootfs.mounts_pivot"  // right after pivot_root, the old root still attached
	rootfsRootSB       = "rootfs.root_sandbox"  // dev:ino of the agent's root, live
	rootfsRootHost     = "rootfs.root_host"     // dev:ino of the host's /, live
	rootfsDev          = "rootfs.dev"           // the names in the container's /dev, live
	rootfsProcPIDs     = "rootfs.proc_pids"     // PIDs the container's /proc lists, live
	rootfsHostProcs    = "rootfs.host_procs"    // how many PIDs the host's /proc lists, live
	rootfsBoundSB      = "rootfs.capbnd"        // the agent's bounding set, hex, live
	rootfsBoundHost    = "rootfs.capbnd_host"   // nslab's own bounding set, hex, live
	// rootfsRootStart is the dev:ino of the agent's root before Perform
	// built one; set only in a class (a confined engine).
	rootfsRootStart = "rootfs.root_start"
)

// rootfsKeep are the capabilities the container keeps in its bounding set
// (a subset of Docker's defaults): enough to own files and change user,
// not enough to mount, load modules, trace or change the clock.
func rootfsKeep() uint64 {
	var m uint64
	for _, c := range []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_NET_BIND_SERVICE"} {
		n, _ := sandbox.CapByName(c)
		m |= 1 << uint(n)
	}
	return m
}

// rootfsDevices are the device nodes bound into the container's /dev.
func rootfsDevices() []string { return []string{"null", "random", "tty", "urandom", "zero"} }

// Logic clones an agent with every namespace kind, builds a root for it
// from read-only binds of the host's /usr and tmpfs mounts, moves it in
// with pivot_root and detaches the old root.
func Logic() lessons.Logic {
	return lessons.Logic{
		// RootlessAlways: a user namespace even for root, so root's path
		// and the unprivileged one are the same container.
		Spec:    sandbox.Spec{Flags: sandbox.AllFlags() &^ sandbox.CloneNewUser, Rootless: sandbox.RootlessAlways, Label: "rootfs"},
		Perform: rootfsPerform,
		Views:   []sandbox.View{sandbox.ViewIDs, sandbox.ViewMount, sandbox.ViewPIDs, sandbox.ViewUser, sandbox.ViewUTS, sandbox.ViewNet},
		Extra:   rootfsExtra,
		Facts:   rootfsFacts,
		Answer:  rootfsAnswer,
		Check:   rootfsCheck,
	}
}

func rootfsPerform(ctx context.Context, r *lessons.Sandboxes) error {
	sb := r.Box
	var kinds []string
	for _, k := range sandbox.KindsIn(sb.Flags()) {
		kinds = append(kinds, k.ProcName)
	}
	r.Set(rootfsKinds, strings.Join(kinds, ","))
	before, err := sb.Observe(ctx, []sandbox.View{sandbox.ViewMount})
	if err != nil {
		return err
	}
	r.Set(rootfsMountsBefore, strconv.Itoa(len(before.Mounts)))
	if r.Engine.Confined() {
		// In a class the server pivoted the agent into a root of its own
		// before the lesson began: this lesson's pivot_root is the second.
		start, err := devIno(fmt.Sprintf("/proc/%d/root", sb.PID()))
		if err != nil {
			return err
		}
		r.Set(rootfsRootStart, start)
	}

	// The new root: a tmpfs, then the host's /usr read-only, and /bin,
	// /lib* as the host lays them out (merged-/usr symlinks or dirs).
	if err := sb.OwnTmpfs(ctx, rootfsBuild); err != nil {
		return err
	}
	if err := sb.BindAt(ctx, "/usr", rootfsBuild+"/usr", true); err != nil {
		return err
	}
	for _, d := range []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"} {
		st, err := os.Lstat(d)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return fmt.Errorf("the host's %s: %w", d, err)
		case st.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(d)
			if err != nil {
				return fmt.Errorf("the host's %s: %w", d, err)
			}
			if err := sb.Symlink(ctx, target, rootfsBuild+d); err != nil {
				return err
			}
		case st.IsDir():
			if err := sb.BindAt(ctx, d, rootfsBuild+d, true); err != nil {
				return err
			}
		}
	}
	for _, d := range []string{"/tmp", "/etc", "/root"} {
		if err := sb.OwnTmpfs(ctx, rootfsBuild+d); err != nil {
			return err
		}
	}

	// proc and the device nodes go in before the move: the kernel lets a
	// user namespace mount proc only while a full proc is visible in the
	// mount namespace, and the agent reads its own namespaces in /proc.
	if err := sb.Mkdir(ctx, rootfsBuild+"/proc"); err != nil {
		return err
	}
	if err := sb.Mount(ctx, "proc", rootfsBuild+"/proc"); err != nil {
		return err
	}
	if err := sb.OwnTmpfs(ctx, rootfsBuild+"/dev"); err != nil {
		return err
	}
	for _, d := range rootfsDevices() {
		if err := sb.BindAt(ctx, "/dev/"+d, rootfsBuild+"/dev/"+d, false); err != nil {
			return err
		}
	}

	if err := sb.PivotRoot(ctx, rootfsBuild, rootfsOld); err != nil {
		return err
	}
	pivot, err := sb.Observe(ctx, []sandbox.View{sandbox.ViewMount})
	if err != nil {
		return err
	}
	r.Set(rootfsMountsPivot, strconv.Itoa(len(pivot.Mounts)))
	if err := sb.Detach(ctx, "/"+rootfsOld); err != nil {
		return err
	}
	if err := sb.SetHostname(ctx, rootfsHostname); err != nil {
		return err
	}
	if err := sb.LinkUp(ctx, "lo"); err != nil {
		return err
	}
	return sb.KeepCapabilities(ctx, rootfsKeep())
}

// rootfsExtra reads, from the host, what the container's root holds:
// /proc/AGENT/root resolves paths in the agent's root, wherever it is.
func rootfsExtra(_ context.Context, r *lessons.Sandboxes) (map[string]string, error) {
	if r.Box == nil {
		return nil, lessons.ErrNotPerformed
	}
	root := fmt.Sprintf("/proc/%d/root", r.Box.PID())
	out := map[string]string{}
	var err error
	if out[rootfsRootSB], err = devIno(root); err != nil {
		return nil, err
	}
	if out[rootfsRootHost], err = devIno("/"); err != nil {
		return nil, err
	}
	devs, err := os.ReadDir(root + "/dev")
	if err != nil {
		return nil, fmt.Errorf("the container's /dev: %w", err)
	}
	var names []string
	for _, d := range devs {
		names = append(names, d.Name())
	}
	out[rootfsDev] = strings.Join(names, ",")
	inside, err := listPIDDir(root + "/proc")
	if err != nil {
		return nil, fmt.Errorf("the container's /proc: %w", err)
	}
	out[rootfsProcPIDs] = strings.Join(inside, ",")
	host, err := listPIDDir("/proc")
	if err != nil {
		return nil, err
	}
	out[rootfsHostProcs] = strconv.Itoa(len(host))
	if out[rootfsBoundSB], err = capBnd(r.Box.PID()); err != nil {
		return nil, err
	}
	if out[rootfsBoundHost], err = capBnd(os.Getpid()); err != nil {
		return nil, err
	}
	return out, nil
}

func devIno(p string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return "", fmt.Errorf("stat %s: %w", p, err)
	}
	return fmt.Sprintf("%d:%d", st.Dev, st.Ino), nil
}

// isDevIno reports whether s has devIno's shape, "DEV:INO" with both
// numbers unsigned decimals, so a fact cannot hold on a doctored value.
func isDevIno(s string) bool {
	dev, ino, ok := strings.Cut(s, ":")
	_, errD := strconv.ParseUint(dev, 10, 64)
	i, errI := strconv.ParseUint(ino, 10, 64)
	return ok && errD == nil && errI == nil && i > 0
}

func listPIDDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// capBnd is the CapBnd line of /proc/PID/status, the main thread's
// bounding set.
func capBnd(pid int) (string, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "CapBnd:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("no CapBnd in /proc/%d/status", pid)
}

func rootfsFacts(o lessons.Observation) []lessons.Fact {
	var fs []lessons.Fact
	want := strings.Split(o.Extra[rootfsKinds], ",")
	var diff []string
	for _, k := range want {
		if lessons.DifferentNS(o, k) {
			diff = append(diff, k)
		}
	}
	fs = append(fs, lessons.NewFact("the container has a new namespace of every kind, time included", o.Extra[rootfsKinds] != "" && len(diff) == len(want) && len(want) == len(sandbox.Kinds()),
		"cloned with %s; different from the host: %s", o.Extra[rootfsKinds], strings.Join(lessons.DifferentKinds(o), ", ")))

	top, _ := lessons.MountAt(o.Sandbox.Mounts, "/")
	sbRoot, hostRoot := o.Extra[rootfsRootSB], o.Extra[rootfsRootHost]
	fs = append(fs, lessons.NewFact("pivot_root gave it a root of its own: its / is a tmpfs, not the host's /", isDevIno(sbRoot) && isDevIno(hostRoot) && sbRoot != hostRoot && top.FSType == "tmpfs",
		"container / is %s (dev:ino %s); host / is dev:ino %s", lessons.OrNone(top.FSType), lessons.OrNone(sbRoot), lessons.OrNone(hostRoot)))

	nBefore, errB := strconv.Atoi(o.Extra[rootfsMountsBefore])
	nPivot, errP := strconv.Atoi(o.Extra[rootfsMountsPivot])
	oldLeft := false
	for _, m := range o.Sandbox.Mounts {
		if m.Mountpoint == "/"+rootfsOld || strings.HasPrefix(m.Mountpoint, "/"+rootfsOld+"/") {
			oldLeft = true
		}
	}
	n := len(o.Sandbox.Mounts)
	fs = append(fs, lessons.NewFact("after the detach, none of the host's mounts is left in the container's table", errB == nil && errP == nil && n > 0 && n < nBefore && nPivot > n && !oldLeft,
		"%d mounts before pivot_root (a copy of the table the sandbox started with), %d right after it (old root under /%s), %d after umount2(MNT_DETACH)", nBefore, nPivot, rootfsOld, n))
	if _, confined := o.Extra[rootfsRootStart]; confined {
		start := o.Extra[rootfsRootStart]
		fs = append(fs, lessons.NewFact("in a class the container did not start on the host's /: the class server had already pivoted it into a root of its own, so this pivot_root was the second",
			isDevIno(start) && isDevIno(hostRoot) && isDevIno(sbRoot) && start != hostRoot && start != sbRoot && errB == nil && nBefore < len(o.Host.Mounts),
			"/ before Perform was dev:ino %s with %d mounts; the host's / is %s with %d mounts; the container's / is now %s",
			lessons.OrNone(start), nBefore, lessons.OrNone(hostRoot), len(o.Host.Mounts), lessons.OrNone(sbRoot)))
	}

	usr, ok := lessons.MountAt(o.Sandbox.Mounts, "/usr")
	ro := ok && slices.Contains(strings.Split(usr.Options, ","), "ro")
	fs = append(fs, lessons.NewFact("/usr is the host's, bound read-only", ro && usr.FSType != "tmpfs",
		"/usr inside: %s %q", lessons.OrNone(usr.FSType), usr.Options))

	pids := strings.Split(o.Extra[rootfsProcPIDs], ",")
	hostN, _ := strconv.Atoi(o.Extra[rootfsHostProcs])
	procTop, _ := lessons.MountAt(o.Sandbox.Mounts, "/proc")
	fs = append(fs, lessons.NewFact("its /proc lists only the container's processes, starting at 1", procTop.FSType == "proc" && slices.Contains(pids, "1") && len(pids) < hostN,
		"/proc inside (%s) lists %s; the host's lists %d", lessons.OrNone(procTop.FSType), lessons.OrNone(o.Extra[rootfsProcPIDs]), hostN))

	fs = append(fs, lessons.NewFact("its /dev holds only null, random, tty, urandom and zero", o.Extra[rootfsDev] == strings.Join(rootfsDevices(), ","),
		"/dev inside: %s", lessons.OrNone(o.Extra[rootfsDev])))

	bnd, errS := strconv.ParseUint(o.Extra[rootfsBoundSB], 16, 64)
	hostBnd, errH := strconv.ParseUint(o.Extra[rootfsBoundHost], 16, 64)
	fs = append(fs, lessons.NewFact("its bounding set holds only the kept capabilities", errS == nil && errH == nil && bnd == rootfsKeep()&hostBnd && bnd != hostBnd,
		"container %s; nslab %s", strings.Join(sandbox.CapNames(bnd), ","), sandbox.CapSummary(hostBnd)))

	fs = append(fs, lessons.NewFact("it has its own hostname", o.Sandbox.Hostname == rootfsHostname && o.Host.Hostname != rootfsHostname,
		"sandbox %q, host %q", o.Sandbox.Hostname, o.Host.Hostname))

	loUp := false
	for _, l := range o.Sandbox.Links {
		if l.Name == "lo" && l.State != "DOWN" {
			loUp = true
		}
	}
	fs = append(fs, lessons.NewFact("its network has only lo, up", len(o.Sandbox.Links) == 1 && loUp, "%d links inside", len(o.Sandbox.Links)))
	return fs
}

func rootfsAnswer(o lessons.Observation) (int, string) {
	top, _ := lessons.MountAt(o.Sandbox.Mounts, "/")
	for _, m := range o.Sandbox.Mounts {
		if m.Mountpoint == "/"+rootfsOld {
			return 2, fmt.Sprintf("The old root is still mounted at /%s.", rootfsOld)
		}
	}
	if top.FSType != "tmpfs" || o.Extra[rootfsRootSB] == o.Extra[rootfsRootHost] {
		return 0, "The container's / is the host's /."
	}
	return 1, fmt.Sprintf("Nowhere: / is a tmpfs (dev:ino %s) at the top of the container's mount table, the old root is detached, "+
		"and the kernel stops .. at a process's root. The host's / (dev:ino %s) has no path from inside.", o.Extra[rootfsRootSB], o.Extra[rootfsRootHost])
}

// rootfsCheck reads the proof file from the host through the agent's root,
// holds it to the kernel's own numbers for that root, and makes sure the
// file lives on a file system no host mount shows.
func rootfsCheck(_ context.Context, r *lessons.Sandboxes) (bool, string, error) {
	if r.Box == nil {
		return false, "", lessons.ErrNotPerformed
	}
	root := fmt.Sprintf("/proc/%d/root", r.Box.PID())
	b, err := os.ReadFile(root + rootfsProof)
	if errors.Is(err, fs.ErrNotExist) {
		return false, "no " + rootfsProof + " in the container yet (write it from the shell inside)", nil
	} else if err != nil {
		return false, "", fmt.Errorf("read %s inside: %w", rootfsProof, err)
	}
	want, err := devIno(root)
	if err != nil {
		return false, "", err
	}
	host, err := devIno("/")
	if err != nil {
		return false, "", err
	}
	lines := strings.Fields(string(b))
	if len(lines) != 2 || lines[0] != want || lines[1] != want {
		return false, fmt.Sprintf("%s should hold two lines, the device:inode of / and of /.. inside the container; it holds %q", rootfsProof, strings.Join(lines, " ")), nil
	}
	var st unix.Stat_t
	if err := unix.Stat(root+rootfsProof, &st); err != nil {
		return false, "", fmt.Errorf("stat %s inside: %w", rootfsProof, err)
	}
	ms, err := mountinfo.GetMounts(nil)
	if err != nil {
		return false, "", fmt.Errorf("the host's mount table: %w", err)
	}
	for _, m := range ms {
		if m.Major == int(unix.Major(st.Dev)) && m.Minor == int(unix.Minor(st.Dev)) {
			return false, fmt.Sprintf("%s is on %d:%d, which the host mounts at %s: write it on one of the container's own tmpfs (/root, /tmp)",
				rootfsProof, m.Major, m.Minor, m.Mountpoint), nil
		}
	}
	return true, fmt.Sprintf("/ and /.. inside are both %s (the host's / is %s): no path leads up; %s is on device %d:%d, which no host mount shows",
		want, host, path.Base(rootfsProof), unix.Major(st.Dev), unix.Minor(st.Dev)), nil
}
