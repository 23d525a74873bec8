// Package mnt is lesson 4, "Mount namespaces: a private mount table": its Go logic.
// Its text and prompts are lesson.md and lesson.toml beside this file;
// package catalog registers Logic. It may import lessons and sandbox,
// never another lesson, catalog or ui.
package mnt

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// The mnt lesson's mount points, all directories every Debian-like system
// has. The demo happens on mounts made inside the sandbox; the host's own
// mounts, "/" first, are never touched.
const (
	mntDemo       = "/mnt"   // the tmpfs everyone sees first, then made shared
	mntPeer       = "/srv"   // a bind of the shared /mnt: its peer
	mntPrivate    = "/media" // a tmpfs left private
	mntPrivCopy   = "/opt"   // a bind of the private /media: no peer
	mntChallenge  = "/tmp"   // the challenge's private /tmp
	mntHostCounts = "host.mounts."
	mntBoxTmp     = "box.tmp.mounts" // mounts at /tmp in the sandbox before the challenge
	mntViaRoot    = "host.via_root"  // what the host reached at /proc/AGENT/root/media: "tmpfs dev N" or an errno
	mntHostDev    = "host.media_dev" // the device of the host's own /media
	// mntBoxCounts+point: the sandbox's mounts there before the lesson
	// mounted anything (a class server's sandbox has its read-only /opt).
	mntBoxCounts = "box.mounts."
	// mntConfined is "true" on a class server's confined engine, whose
	// sandbox gets a root of its own before the lesson starts.
	mntConfined = "confined"
)

func mntPoints() []string {
	return []string{mntDemo, mntPeer, mntPrivate, mntPrivCopy, mntChallenge}
}

// Logic is the lesson's Go side, for the registry in package catalog.
func Logic() lessons.Logic {
	return lessons.Logic{
		Spec: sandbox.Spec{Flags: sandbox.CloneNewNS, Label: "mnt"},
		Perform: func(ctx context.Context, r *lessons.Sandboxes) error {
			host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewMount})
			if e := host.Errs[sandbox.ViewMount]; e != "" {
				return fmt.Errorf("read the host's mounts: %s", e)
			}
			for _, p := range mntPoints() {
				r.Set(mntHostCounts+p, strconv.Itoa(lessons.MountCount(host.Mounts, p)))
			}
			b := r.Box
			if r.Engine.Confined() {
				r.Set(mntConfined, "true")
			}
			start, err := b.Observe(ctx, []sandbox.View{sandbox.ViewMount})
			if err != nil {
				return err
			}
			for _, p := range mntPoints() {
				r.Set(mntBoxCounts+p, strconv.Itoa(lessons.MountCount(start.Mounts, p)))
			}
			steps := []func() error{
				// 1. A tmpfs only the sandbox sees.
				func() error { return b.Mount(ctx, "tmpfs", mntDemo) },
				// 2. Shared: make it shared, bind it elsewhere (a peer),
				// and mount on top of it: the mount propagates.
				func() error { return b.SetPropagation(ctx, mntDemo, sandbox.PropagationShared) },
				func() error { return b.Bind(ctx, mntDemo, mntPeer) },
				func() error { return b.Mount(ctx, "tmpfs", mntDemo) },
				// 3. Private: the same steps without making it shared.
				func() error { return b.Mount(ctx, "tmpfs", mntPrivate) },
				func() error { return b.Bind(ctx, mntPrivate, mntPrivCopy) },
				func() error { return b.Mount(ctx, "tmpfs", mntPrivate) },
			}
			for _, s := range steps {
				if err := s(); err != nil {
					return err
				}
			}
			sb, err := b.Observe(ctx, []sandbox.View{sandbox.ViewMount})
			if err != nil {
				return err
			}
			r.Set(mntBoxTmp, strconv.Itoa(lessons.MountCount(sb.Mounts, mntChallenge)))
			mntThroughRoot(r)
			return nil
		},
		Views:  []sandbox.View{sandbox.ViewIDs, sandbox.ViewMount},
		Facts:  mntFacts,
		Answer: mntAnswer,
		Check:  mntCheck,
	}
}

// mntThroughRoot looks, from the host, through the agent's
// /proc/PID/root: a path below it is resolved in the agent's mount
// namespace, so it reaches the tmpfs mounted there, which the host's own
// path does not.
func mntThroughRoot(r *lessons.Sandboxes) {
	var st unix.Stat_t
	if err := unix.Stat(mntPrivate, &st); err == nil {
		r.Set(mntHostDev, strconv.FormatUint(st.Dev, 10))
	}
	path := fmt.Sprintf("/proc/%d/root%s", r.Box.PID(), mntPrivate)
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err != nil {
		r.Set(mntViaRoot, lessons.Outcome("", err))
		return
	}
	if err := unix.Stat(path, &st); err != nil {
		r.Set(mntViaRoot, lessons.Outcome("", err))
		return
	}
	kind := "other"
	if fs.Type == unix.TMPFS_MAGIC {
		kind = "tmpfs"
	}
	r.Set(mntViaRoot, fmt.Sprintf("%s dev %d", kind, st.Dev))
}

// mntReached says whether the host reached the sandbox's own tmpfs
// through /proc/AGENT/root, and shows what it reached.
func mntReached(ex map[string]string) (bool, string) {
	via, host := ex[mntViaRoot], ex[mntHostDev]
	f := strings.Fields(via)
	hostDev, hostErr := strconv.ParseUint(host, 10, 64)
	ok := len(f) == 3 && f[0] == "tmpfs" && f[1] == "dev" && hostErr == nil
	if ok {
		viaDev, err := strconv.ParseUint(f[2], 10, 64)
		ok = err == nil && viaDev != hostDev
	}
	return ok, fmt.Sprintf("/proc/AGENT/root%s from the host: %s; the host's own %s: dev %s", mntPrivate, lessons.OrNone(via), mntPrivate, lessons.OrNone(host))
}

func mntAnswer(o lessons.Observation) (int, string) {
	if o.Extra[mntViaRoot] == "" {
		return -1, "the host did not look through /proc/AGENT/root"
	}
	ok, why := mntReached(o.Extra)
	if ok {
		return 1, why + ": the magic link /proc/PID/root is the process's root, and a path below it is looked up in that process's mount namespace (proc(5)), while the host's own path never sees the mount"
	}
	return 0, why
}

func mntCheck(ctx context.Context, r *lessons.Sandboxes) (bool, string, error) {
	sb, err := lessons.ObserveBox(ctx, r, sandbox.ViewMount)
	if err != nil {
		return false, "", err
	}
	host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewMount})
	if e := host.Errs[sandbox.ViewMount]; e != "" {
		return false, "", fmt.Errorf("read the host's mounts: %s", e)
	}
	hostNow := strconv.Itoa(lessons.MountCount(host.Mounts, mntChallenge))
	if hostNow != r.Get(mntHostCounts+mntChallenge) {
		return false, fmt.Sprintf("the HOST's %s changed: %s mounts there, was %s", mntChallenge, hostNow, r.Get(mntHostCounts+mntChallenge)), nil
	}
	before, _ := strconv.Atoi(r.Get(mntBoxTmp))
	n := lessons.MountCount(sb.Mounts, mntChallenge)
	top, ok := lessons.MountAt(sb.Mounts, mntChallenge)
	switch {
	case n <= before:
		return false, fmt.Sprintf("the sandbox has no new mount at %s (%d there, as before)", mntChallenge, n), nil
	case !ok || top.FSType != "tmpfs":
		return false, fmt.Sprintf("the newest mount at %s inside is %s, not tmpfs", mntChallenge, top.FSType), nil
	}
	// Every tmpfs instance has a device number of its own: a bind of a
	// host's tmpfs (/dev/shm, say) shows the host's files, not new ones.
	if where, err := lessons.HostMountOf(r.Box.PID(), top.ID); err != nil {
		return false, "", err
	} else if where != "" {
		return false, fmt.Sprintf("the tmpfs on %s inside is the host's %s, bound there: the same file system, so the host sees every file in it; a tmpfs of its own is a new one", mntChallenge, where), nil
	}
	// Nor a bind of one the sandbox already had (in a class, its root is
	// a tmpfs: /dev/shm there is a directory of it).
	if where, err := mntTwin(r.Box.PID(), top.ID); err != nil {
		return false, "", err
	} else if where != "" {
		return false, fmt.Sprintf("the tmpfs on %s inside is the one already mounted at %s inside, bound there: not a new file system", mntChallenge, where), nil
	}
	return true, fmt.Sprintf("the sandbox's %s is a tmpfs of its own (mount %d); the host still has %s mount(s) there", mntChallenge, top.ID, hostNow), nil
}

func mntFacts(o lessons.Observation) []lessons.Fact {
	reached, why := mntReached(o.Extra)
	rootFact := lessons.NewFact("From the host, /proc/AGENT/root"+mntPrivate+" reaches the sandbox's tmpfs, which the host's own "+mntPrivate+" does not show", reached, "%s", why)
	var fs []lessons.Fact
	fs = append(fs, lessons.NSFact(o, "mnt", false, "The agent is in a new mount namespace"))

	// A host mount that was shared shows as "changed" inside: the copy is
	// there, only its propagation became private. So both count as copied.
	same, onlyHost, onlySB, changed := sandbox.Summarize(o.Diffs[sandbox.ViewMount])
	if o.Extra[mntConfined] == "true" {
		fs = append(fs, mntConfinedRoot(o, onlyHost))
	} else {
		fs = append(fs, lessons.NewFact("Its mount table started as a copy of the host's: every host mount is there too",
			same+changed > 0 && onlyHost == 0, "%d mounts on both sides (%d with another propagation), %d only on the host, %d only in the sandbox",
			same+changed, changed, onlyHost, onlySB))
	}

	root, ok := lessons.MountAt(o.Sandbox.Mounts, "/")
	fs = append(fs, lessons.NewFact("nslab made the copy private (mount --make-rprivate /) before anything else, so nothing propagates back to the host",
		ok && mntPeerGroup(root.Propagation) == "" && !strings.Contains(root.Propagation, "master:"),
		"/ inside: %s", root.Propagation))

	var hostSame []string
	for _, p := range mntPoints() {
		if strconv.Itoa(lessons.MountCount(o.Host.Mounts, p)) != o.Extra[mntHostCounts+p] {
			hostSame = append(hostSame, p)
		}
	}
	demo := lessons.MountCount(o.Sandbox.Mounts, mntDemo)
	// What each point had inside before the lesson mounted there.
	had := map[string]int{}
	hadOK := true
	for _, p := range mntPoints() {
		n, err := strconv.Atoi(o.Extra[mntBoxCounts+p])
		had[p], hadOK = n, hadOK && err == nil && n >= 0
	}
	fs = append(fs, lessons.NewFact("A tmpfs mounted inside is invisible on the host",
		demo > lessons.MountCount(o.Host.Mounts, mntDemo) && len(hostSame) == 0,
		"%s: %d mount(s) inside, %d on the host", mntDemo, demo, lessons.MountCount(o.Host.Mounts, mntDemo)))

	// Shared: the second tmpfs on /mnt appeared at /srv as well, in the
	// same peer group.
	demoTop, _ := lessons.MountAt(o.Sandbox.Mounts, mntDemo)
	peerTop, _ := lessons.MountAt(o.Sandbox.Mounts, mntPeer)
	peerGroup := mntPeerGroup(demoTop.Propagation)
	fs = append(fs, lessons.NewFact("On a shared mount, a mount event propagates to its peers: the tmpfs mounted on "+mntDemo+" appeared at "+mntPeer+" (its bind) too",
		hadOK && lessons.MountCount(o.Sandbox.Mounts, mntPeer) == had[mntPeer]+2 && peerGroup != "" && mntPeerGroup(peerTop.Propagation) == peerGroup,
		"%s: %d mounts, top %q; %s: %d mounts, top %q", mntDemo, demo, demoTop.Propagation, mntPeer, lessons.MountCount(o.Sandbox.Mounts, mntPeer), peerTop.Propagation))

	// Private: the second tmpfs on /media stayed there.
	privTop, _ := lessons.MountAt(o.Sandbox.Mounts, mntPrivate)
	fs = append(fs, lessons.NewFact("On a private mount, nothing propagates: the tmpfs mounted on "+mntPrivate+" did not appear at "+mntPrivCopy+" (its bind)",
		hadOK && lessons.MountCount(o.Sandbox.Mounts, mntPrivate) == had[mntPrivate]+2 && lessons.MountCount(o.Sandbox.Mounts, mntPrivCopy) == had[mntPrivCopy]+1 &&
			mntPeerGroup(privTop.Propagation) == "",
		"%s: %d mounts (%s); %s: %d", mntPrivate, lessons.MountCount(o.Sandbox.Mounts, mntPrivate), privTop.Propagation, mntPrivCopy, lessons.MountCount(o.Sandbox.Mounts, mntPrivCopy)))

	fs = append(fs, lessons.NewFact("The host's mount table did not change at any of the lesson's mount points",
		len(hostSame) == 0, "changed: %s", strings.Join(append(hostSame, "none")[:max(1, len(hostSame))], " ")))
	fs = append(fs, rootFact)
	return fs
}

// mntConfinedRoot replaces "its mount table started as a copy of the
// host's" for a learner of a class (nslab serve): the copy was made, but
// the server then gave the sandbox a root of its own (a tmpfs, then
// pivot_root) and detached the host's tree, before the lesson began.
func mntConfinedRoot(o lessons.Observation, onlyHost int) lessons.Fact {
	box, bok := lessons.MountAt(o.Sandbox.Mounts, "/")
	host, hok := lessons.MountAt(o.Host.Mounts, "/")
	return lessons.NewFact("In a class its table started as a copy of the host's too, but the server then gave the sandbox a root of its own: / inside is a tmpfs, and the host's mounts are gone from it",
		bok && hok && box.FSType == "tmpfs" && (box.FSType != host.FSType || box.Source != host.Source) && onlyHost > 0,
		"/ inside: %s %s; / on the host: %s %s; %d host mounts not inside", box.FSType, box.Source, host.FSType, host.Source, onlyHost)
}

// mntTwin returns another mount point in process pid's mount table with
// the file system (device number) of its mount id, "" when there is none.
func mntTwin(pid, id int) (string, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		return "", fmt.Errorf("read the sandbox's mounts: %w", err)
	}
	defer f.Close()
	all, err := mountinfo.GetMountsFromReader(f, nil)
	if err != nil {
		return "", fmt.Errorf("read the sandbox's mounts: %w", err)
	}
	i := slices.IndexFunc(all, func(in *mountinfo.Info) bool { return in.ID == id })
	if i < 0 {
		return "", fmt.Errorf("mount %d of the sandbox: %w", id, sandbox.ErrParse)
	}
	for _, in := range all {
		if in.ID != id && in.Major == all[i].Major && in.Minor == all[i].Minor {
			return in.Mountpoint, nil
		}
	}
	return "", nil
}

// mntPeerGroup returns the "shared:N" field of a propagation string, "" if
// the mount is not shared.
func mntPeerGroup(prop string) string {
	for _, f := range strings.Fields(prop) {
		if strings.HasPrefix(f, "shared:") {
			return f
		}
	}
	return ""
}
