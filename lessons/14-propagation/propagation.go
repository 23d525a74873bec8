// Package propagation is lesson 14, "Mount propagation: what mounts
// share": its Go logic. Its text and prompts are lesson.md and lesson.toml
// beside this file; package catalog registers Logic. It may import
// lessons and sandbox, never another lesson, catalog or ui.
package propagation

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

const (
	// propagationWork is the workspace: a tmpfs of the sandbox's own over
	// /mnt, in its mount namespace only (private from the host's).
	propagationWork       = "/mnt"
	propagationSrc        = "/mnt/src"        // shared: the peer group's first member
	propagationPeer       = "/mnt/peer"       // a bind of src: the same peer group
	propagationSlave      = "/mnt/slave"      // a bind of src made a slave: master:N
	propagationPrivate    = "/mnt/private"    // a bind of src made private
	propagationUnbindable = "/mnt/unbindable" // a tmpfs that may not be bound
	propagationCopy       = "/mnt/copy"       // where the refused bind of it would go
	propagationEvent      = "/event"          // mounted under src: it propagates
	propagationBack       = "/back"           // mounted under slave: it does not go back
	propagationChallenge  = "/challenge"      // the challenge's mount, under src

	propagationOther      = "propagation.other_pid"    // the second namespace's process
	propagationOtherNS    = "propagation.other_mnt"    // its mount namespace, live
	propagationOtherMnts  = "propagation.other_mounts" // its mounts under /mnt, live
	propagationUnbindBind = "propagation.unbindable_bind"
	// In a class only: the user namespaces owning the sandbox's mount
	// namespace and the second one (NS_GET_USERNS), live.
	propagationOwnerSB    = "propagation.owner.sandbox"
	propagationOwnerOther = "propagation.owner.second"
)

// Logic makes a private mount namespace (the engine makes it private from
// the host first), builds shared, peer, slave, private and unbindable
// mounts in a tmpfs of its own, clones a second mount namespace from it,
// and sends mount events through the groups.
func Logic() lessons.Logic {
	return lessons.Logic{
		// No PID namespace: the second namespace's process is then known
		// by its host PID, and its mount table read from the host.
		Spec:    sandbox.Spec{Flags: sandbox.CloneNewNS, Label: "propagation"},
		Perform: propagationPerform,
		Views:   []sandbox.View{sandbox.ViewIDs, sandbox.ViewPeers, sandbox.ViewMount},
		Extra:   propagationExtra,
		Peers:   propagationPeers,
		Facts:   propagationFacts,
		Answer:  propagationAnswer,
		Check:   propagationCheck,
	}
}

func propagationPerform(ctx context.Context, r *lessons.Sandboxes) error {
	sb := r.Box
	steps := []func() error{
		func() error { return sb.OwnTmpfs(ctx, propagationWork) },
		func() error { return sb.OwnTmpfs(ctx, propagationSrc) },
		func() error { return sb.SetPropagation(ctx, propagationSrc, sandbox.PropagationShared) },
	}
	for _, b := range []struct{ at, prop string }{
		{propagationPeer, ""},
		{propagationSlave, sandbox.PropagationSlave},
		{propagationPrivate, sandbox.PropagationPrivate},
	} {
		steps = append(steps,
			func() error { return sb.Mkdir(ctx, b.at) },
			func() error { return sb.Bind(ctx, propagationSrc, b.at) })
		if b.prop != "" {
			steps = append(steps, func() error { return sb.SetPropagation(ctx, b.at, b.prop) })
		}
	}
	steps = append(steps,
		func() error { return sb.OwnTmpfs(ctx, propagationUnbindable) },
		func() error { return sb.SetPropagation(ctx, propagationUnbindable, sandbox.PropagationUnbindable) },
		func() error { return sb.Mkdir(ctx, propagationCopy) },
		func() error {
			// The kernel refuses (EINVAL): kept as the outcome, not an error.
			err := sb.Bind(ctx, propagationUnbindable, propagationCopy)
			r.Set(propagationUnbindBind, lessons.Outcome("bound", err))
			return nil
		},
		func() error {
			pid, err := sb.SpawnMountNS(ctx)
			if err != nil {
				return err
			}
			host, err := hostPIDOf(ctx, sb, pid)
			r.Set(propagationOther, strconv.Itoa(host))
			return err
		},
		func() error { return sb.OwnTmpfs(ctx, propagationSrc+propagationEvent) },
		func() error { return sb.OwnTmpfs(ctx, propagationSlave+propagationBack) },
	)
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// hostPIDOf is the host PID of the sandbox's process pid, as the sandbox
// numbers it. The lesson asks for no PID namespace, so the two are the
// same, except in a class: the server starts every sandbox in a PID
// namespace of its own, and /proc/pid on the host is another process.
func hostPIDOf(ctx context.Context, sb *sandbox.Sandbox, pid int) (int, error) {
	snap, err := sb.Observe(ctx, []sandbox.View{sandbox.ViewPIDs})
	if err != nil {
		return 0, err
	}
	p, ok := lessons.ProcByPID(snap.Procs, pid)
	if !ok || p.HostPID <= 0 {
		return 0, fmt.Errorf("%w: the second mount namespace's process %d is not among the sandbox's processes", sandbox.ErrAgent, pid)
	}
	return p.HostPID, nil
}

// propagationPeers reads the three mount tables the diagram shows: the
// host's (nslab's own), the sandbox's and the second namespace's, each
// from a process in it.
func propagationPeers(_ context.Context, r *lessons.Sandboxes) (*sandbox.PeerDiagram, error) {
	other, err := strconv.Atoi(r.Get(propagationOther))
	if err != nil || other <= 0 || r.Box == nil {
		return nil, lessons.ErrNotPerformed
	}
	var tables []sandbox.MountTable
	for _, w := range []struct {
		name string
		pid  int
	}{{"host", os.Getpid()}, {"sandbox", r.Box.PID()}, {"second", other}} {
		t, err := sandbox.ReadMountTable(w.name, w.pid, w.name == "host")
		if err != nil {
			return nil, err
		}
		tables = append(tables, t)
	}
	d := sandbox.NewPeerDiagram(tables, propagationWork)
	return &d, nil
}

// otherMount is one line of the second namespace's mountinfo.
type otherMount struct {
	Mountpoint string
	Shared     int
	Master     int
	Dev        string // major:minor
}

func propagationExtra(_ context.Context, r *lessons.Sandboxes) (map[string]string, error) {
	pid, err := strconv.Atoi(r.Get(propagationOther))
	if err != nil || pid <= 0 {
		return nil, lessons.ErrNotPerformed
	}
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
	if err != nil {
		return nil, fmt.Errorf("the second mount namespace: %w", err)
	}
	ms, err := pidMounts(pid)
	if err != nil {
		return nil, fmt.Errorf("the second namespace's mount table: %w", err)
	}
	var lines []string
	for _, m := range ms {
		if m.Mountpoint == propagationWork || strings.HasPrefix(m.Mountpoint, propagationWork+"/") {
			lines = append(lines, fmt.Sprintf("%s|%s|%d:%d", m.Mountpoint, m.Optional, m.Major, m.Minor))
		}
	}
	out := map[string]string{propagationOtherNS: ns, propagationOtherMnts: strings.Join(lines, "\n")}
	if r.Engine.Confined() && r.Box != nil {
		// In a class the sandbox's user namespace is the learner's, not
		// the host's: which one owns each mount namespace decides whether
		// the copies stayed peers (mount_namespaces(7)).
		for key, p := range map[string]int{propagationOwnerSB: r.Box.PID(), propagationOwnerOther: pid} {
			id, err := sandbox.NSRelative(fmt.Sprintf("/proc/%d/ns/mnt", p), sandbox.NSGetUserNS)
			if err != nil {
				return nil, err
			}
			lessons.PutIDs(out, "", sandbox.IDs{key: id})
		}
	}
	return out, nil
}

// otherMounts parses the second namespace's mounts kept by Extra.
func otherMounts(o lessons.Observation) []otherMount {
	var out []otherMount
	for _, l := range strings.Split(o.Extra[propagationOtherMnts], "\n") {
		f := strings.Split(l, "|")
		if len(f) != 3 {
			continue
		}
		s, m := sandbox.PropagationGroups(f[1])
		out = append(out, otherMount{Mountpoint: f[0], Shared: s, Master: m, Dev: f[2]})
	}
	return out
}

func otherAt(ms []otherMount, p string) (otherMount, bool) {
	var got otherMount
	ok := false
	for _, m := range ms {
		if m.Mountpoint == p {
			got, ok = m, true // the last one is on top
		}
	}
	return got, ok
}

func groups(ms []sandbox.Mount, p string) (shared, master int, ok bool) {
	m, ok := lessons.MountAt(ms, p)
	if !ok {
		return 0, 0, false
	}
	s, mm := sandbox.PropagationGroups(m.Propagation)
	return s, mm, true
}

func propagationFacts(o lessons.Observation) []lessons.Fact {
	var fs []lessons.Fact
	ms := o.Sandbox.Mounts
	n, _, okSrc := groups(ms, propagationSrc)
	peerN, _, okPeer := groups(ms, propagationPeer)
	fs = append(fs, lessons.NewFact("the shared mount and its bind are one peer group, numbered by the kernel", okSrc && okPeer && n > 0 && peerN == n && lessons.DifferentNS(o, "mnt"),
		"%s shared:%d, %s shared:%d", propagationSrc, n, propagationPeer, peerN))

	slS, slM, okSl := groups(ms, propagationSlave)
	fs = append(fs, lessons.NewFact("the slave receives from that group and belongs to none: master:N only", okSl && n > 0 && slM == n && slS == 0,
		"%s master:%d shared:%d", propagationSlave, slM, slS))

	prS, prM, okPr := groups(ms, propagationPrivate)
	fs = append(fs, lessons.NewFact("the private bind has no propagation field at all", okPr && prS == 0 && prM == 0,
		"%s shared:%d master:%d", propagationPrivate, prS, prM))

	ub := o.Extra[propagationUnbindBind]
	fs = append(fs, lessons.NewFact("an unbindable mount cannot be bound elsewhere: the kernel answers EINVAL", ub == "EINVAL",
		"mount --bind %s %s: %s", propagationUnbindable, propagationCopy, lessons.OrNone(ub)))

	other := otherMounts(o)
	oSrc, okO := otherAt(other, propagationSrc)
	sbNS := o.Sandbox.IDs["mnt"]
	otherNS := o.Extra[propagationOtherNS]
	fs = append(fs, lessons.NewFact("the second mount namespace's copy of the shared mount is in the same peer group", okO && n > 0 && oSrc.Shared == n && lessons.IsNSLabel(otherNS, "mnt") && !sbNS.IsZero() &&
		otherNS != "mnt:"+sbNS.String() && otherNS != "mnt:"+o.Host.IDs["mnt"].String(),
		"second namespace %s: %s shared:%d", lessons.OrNone(otherNS), propagationSrc, oSrc.Shared))

	_, okEvPeer := lessons.MountAt(ms, propagationPeer+propagationEvent)
	_, okEvSlave := lessons.MountAt(ms, propagationSlave+propagationEvent)
	_, okEvPriv := lessons.MountAt(ms, propagationPrivate+propagationEvent)
	_, okEvOther := otherAt(other, propagationSrc+propagationEvent)
	fs = append(fs, lessons.NewFact("a mount on the shared member appears at its peer, in its slave and in the other namespace, not at the private bind",
		okEvPeer && okEvSlave && okEvOther && !okEvPriv,
		"%s at %s %v, at %s %v, in the other namespace %v, at %s %v", propagationEvent, propagationPeer, okEvPeer, propagationSlave, okEvSlave, okEvOther, propagationPrivate, okEvPriv))

	_, okBack := lessons.MountAt(ms, propagationSlave+propagationBack)
	_, okBackSrc := lessons.MountAt(ms, propagationSrc+propagationBack)
	_, okBackOther := otherAt(other, propagationSlave+propagationBack)
	fs = append(fs, lessons.NewFact("a mount in the slave stays there: its master and the other namespace never see it",
		okBack && !okBackSrc && !okBackOther,
		"%s at %s %v, at %s %v, in the other namespace %v", propagationBack, propagationSlave, okBack, propagationSrc, okBackSrc, okBackOther))

	if _, confined := o.Extra[propagationOwnerSB]; confined {
		fs = append(fs, propagationOwnerFact(o, okO && n > 0 && oSrc.Shared == n))
	}

	_, hostHas := lessons.MountAt(o.Host.Mounts, propagationSrc)
	fs = append(fs, lessons.NewFact("the host's mount table got none of it", len(o.Host.Mounts) > 0 && !hostHas && lessons.DifferentNS(o, "mnt"),
		"host has %s: %v", propagationSrc, hostHas))
	return fs
}

// propagationOwnerFact is a class learner's (nslab serve) extra fact: the
// sandbox's user namespace is the learner's, and the second mount
// namespace was cloned in it, so the copies stayed peers (peer says so).
// mount_namespaces(7): a copy owned by another user namespace is less
// privileged, and its shared mounts are reduced to slaves.
func propagationOwnerFact(o lessons.Observation, peer bool) lessons.Fact {
	sb, okS := lessons.ExtraID(o, propagationOwnerSB)
	other, okO := lessons.ExtraID(o, propagationOwnerOther)
	user, okU := o.Sandbox.IDs["user"]
	host, okH := o.Host.IDs["user"]
	return lessons.NewFact("in a class both mount namespaces are owned by your user namespace, not the host's; so the second one is not less privileged, and its copy stayed a peer, not a slave",
		okS && okO && okU && okH && sb == other && sb == user && sb != host && peer,
		"owners: the sandbox's mount namespace %s, the second's %s; your user namespace %s, the host's %s; copy a peer: %v",
		sb.Label("user"), other.Label("user"), user.Label("user"), host.Label("user"), peer)
}

func propagationAnswer(o lessons.Observation) (int, string) {
	_, okSlave := lessons.MountAt(o.Sandbox.Mounts, propagationSlave+propagationEvent)
	_, okPriv := lessons.MountAt(o.Sandbox.Mounts, propagationPrivate+propagationEvent)
	_, okOther := otherAt(otherMounts(o), propagationSrc+propagationEvent)
	switch {
	case okSlave && okOther && !okPriv:
		return 2, fmt.Sprintf("At %s and %s, and at %s in the second namespace: a peer group spans namespaces, a slave receives; the private bind at %s gets nothing.",
			propagationPeer+propagationEvent, propagationSlave+propagationEvent, propagationSrc+propagationEvent, propagationPrivate)
	case !okOther:
		return 0, "Only in this namespace."
	default:
		return 1, "Everywhere, the private bind too."
	}
}

// propagationCheck holds the challenge to both mount tables: the private
// bind must now be a member of the source's peer group, and a mount under
// the source must have reached it and the other namespace, all one file
// system.
func propagationCheck(ctx context.Context, r *lessons.Sandboxes) (bool, string, error) {
	snap, err := lessons.ObserveBox(ctx, r, sandbox.ViewMount)
	if err != nil {
		return false, "", err
	}
	ms := snap.Mounts
	n, _, _ := groups(ms, propagationSrc)
	if n == 0 {
		return false, propagationSrc + " is no longer shared: make it shared again (mount --make-shared " + propagationSrc + ")", nil
	}
	prS, _, ok := groups(ms, propagationPrivate)
	if !ok || prS != n {
		return false, fmt.Sprintf("%s is not a member of %s's peer group (it shows shared:%d): making it shared starts a group of its own", propagationPrivate, propagationSrc, prS), nil
	}
	mine, ok := lessons.MountAt(ms, propagationPrivate+propagationChallenge)
	if !ok {
		return false, fmt.Sprintf("%s is a peer now, but nothing is mounted at %s yet", propagationPrivate, propagationPrivate+propagationChallenge), nil
	}
	pid, err := strconv.Atoi(r.Get(propagationOther))
	if err != nil {
		return false, "", lessons.ErrNotPerformed
	}
	other, err := pidMounts(pid)
	if err != nil {
		return false, "", fmt.Errorf("the second namespace's mount table: %w", err)
	}
	mineDev, err := mountDev(r, propagationPrivate+propagationChallenge)
	if err != nil {
		return false, "", err
	}
	for _, m := range other {
		if m.Mountpoint == propagationSrc+propagationChallenge && fmt.Sprintf("%d:%d", m.Major, m.Minor) == mineDev {
			return true, fmt.Sprintf("%s is in peer group %d, and the %s mounted at %s (%s) reached the second namespace's %s", propagationPrivate, n,
				mine.FSType, propagationPrivate+propagationChallenge, mineDev, propagationSrc+propagationChallenge), nil
		}
	}
	return false, fmt.Sprintf("%s has a mount, but the second namespace has no %s of the same file system: mount it under the shared group", propagationPrivate+propagationChallenge, propagationSrc+propagationChallenge), nil
}

// mountDev is the major:minor of the topmost mount at p in the sandbox.
func mountDev(r *lessons.Sandboxes, p string) (string, error) {
	ms, err := pidMounts(r.Box.PID())
	if err != nil {
		return "", fmt.Errorf("the sandbox's mount table: %w", err)
	}
	dev := ""
	for _, m := range ms {
		if m.Mountpoint == p {
			dev = fmt.Sprintf("%d:%d", m.Major, m.Minor)
		}
	}
	if dev == "" {
		return "", fmt.Errorf("no mount at %s in the sandbox", p)
	}
	return dev, nil
}

// pidMounts reads /proc/PID/mountinfo: the mount table of pid's namespace
// as that process sees it.
func pidMounts(pid int) ([]*mountinfo.Info, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return mountinfo.GetMountsFromReader(f, nil)
}
