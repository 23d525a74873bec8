// Package container is lesson 10, "A tiny container: every namespace at once": its Go logic.
// Its text and prompts are lesson.md and lesson.toml beside this file;
// package catalog registers Logic. It may import lessons and sandbox,
// never another lesson, catalog or ui.
package container

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

const (
	containerHostname = "container"
	containerFlags    = sandbox.CloneNewUTS | sandbox.CloneNewIPC | sandbox.CloneNewNS | sandbox.CloneNewNet |
		sandbox.CloneNewPID | sandbox.CloneNewCgroup
	containerKinds     = "container.kinds"      // the kinds the agent was cloned with, /proc names
	containerProcPIDs  = "container.proc_pids"  // PIDs listed by the container's /proc, live
	containerHostProcs = "container.host_procs" // how many PIDs the host's /proc lists, live
	containerFile      = "/tmp/hello-from-container"
	// containerConfined names the kinds a class server's confined engine
	// added to the lesson's (/proc names); set only in a class.
	containerConfined = "container.confined"
)

// Logic clones one agent with every namespace kind but time (and
// a user namespace mapping root inside, as unshare --map-root-user does),
// then gives it a hostname, a fresh /proc and a loopback link that is up.
func Logic() lessons.Logic {
	return lessons.Logic{
		// RootlessAlways: a user namespace even for root, so the sandbox is
		// exactly what `unshare --user --map-root-user` builds.
		Spec:    sandbox.Spec{Flags: containerFlags, Rootless: sandbox.RootlessAlways, Label: "container"},
		Perform: containerPerform,
		Views: []sandbox.View{sandbox.ViewIDs, sandbox.ViewUTS, sandbox.ViewPIDs, sandbox.ViewMount, sandbox.ViewNet,
			sandbox.ViewIPC, sandbox.ViewUser, sandbox.ViewCgrp},
		Extra:  containerExtra,
		Facts:  containerFacts,
		Answer: containerAnswer,
		Check:  containerCheck,
	}
}

func containerPerform(ctx context.Context, r *lessons.Sandboxes) error {
	sb := r.Box
	// The lesson's own kinds; in a class the server adds the rest.
	r.Set(containerKinds, lessons.KindNames(sb.Flags()&^sb.Confined()))
	if c := sb.Confined(); c != 0 {
		r.Set(containerConfined, lessons.KindNames(c))
	}
	if err := sb.SetHostname(ctx, containerHostname); err != nil {
		return err
	}
	// The copy of the host's /proc still shows the host's PID namespace:
	// ps inside needs a proc mounted by a member of the new one.
	if err := sb.Mount(ctx, "proc", "/proc"); err != nil {
		return err
	}
	return sb.LinkUp(ctx, "lo")
}

// containerExtra lists the PIDs in the container's /proc, looked up from
// the host through /proc/AGENT/root, which resolves paths in the agent's
// mount namespace.
func containerExtra(_ context.Context, r *lessons.Sandboxes) (map[string]string, error) {
	if r.Box == nil {
		return nil, lessons.ErrNotPerformed
	}
	inside, err := listPIDDir(fmt.Sprintf("/proc/%d/root/proc", r.Box.PID()))
	if err != nil {
		return nil, fmt.Errorf("the container's /proc: %w", err)
	}
	host, err := listPIDDir("/proc")
	if err != nil {
		return nil, err
	}
	return map[string]string{containerProcPIDs: strings.Join(inside, ","), containerHostProcs: strconv.Itoa(len(host))}, nil
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

func containerFacts(o lessons.Observation) []lessons.Fact {
	var fs []lessons.Fact
	var diff []string
	want := strings.Split(o.Extra[containerKinds], ",")
	for _, k := range want {
		if lessons.DifferentNS(o, k) {
			diff = append(diff, k)
		}
	}
	fs = append(fs, lessons.NewFact("the container has a new namespace of every kind it was cloned with", o.Extra[containerKinds] != "" && len(diff) == len(want),
		"cloned with %s; different from the host: %s", o.Extra[containerKinds], strings.Join(lessons.DifferentKinds(o), ", ")))
	if _, confined := o.Extra[containerConfined]; confined {
		fs = append(fs, containerConfinedKinds(o))
	} else {
		fs = append(fs, lessons.SharedExcept(o, "only the time namespace is still the host's", want...))
	}

	fs = append(fs, lessons.NewFact("the container has its own hostname; the host keeps its own", o.Sandbox.Hostname == containerHostname && o.Host.Hostname != containerHostname,
		"sandbox %q, host %q", o.Sandbox.Hostname, o.Host.Hostname))

	agent, ok := lessons.ProcByHostPID(o.Sandbox.Procs, o.Sandbox.PID)
	fs = append(fs, lessons.NewFact("the agent is PID 1 inside, and another PID on the host", ok && agent.PID == 1 && o.Sandbox.PID != 1,
		"inside PID %d, host PID %d, NSpid %v", agent.PID, o.Sandbox.PID, agent.NSpid))

	pids := strings.Split(o.Extra[containerProcPIDs], ",")
	hostN, _ := strconv.Atoi(o.Extra[containerHostProcs])
	top, _ := lessons.MountAt(o.Sandbox.Mounts, "/proc")
	ownProc := top.FSType == "proc" && slices.Contains(pids, "1") && !slices.Contains(pids, strconv.Itoa(o.Sandbox.PID)) && len(pids) < hostN
	fs = append(fs, lessons.NewFact("its /proc is its own: it lists only the container's processes, starting at 1", ownProc,
		"/proc inside (%s, mount %d) lists %s; the host's lists %d", top.FSType, top.ID, o.Extra[containerProcPIDs], hostN))

	var names []string
	loUp := false
	for _, l := range o.Sandbox.Links {
		names = append(names, l.Name)
		if l.Name == "lo" && l.State != "DOWN" && slices.Contains(l.Addrs, "127.0.0.1/8") {
			loUp = true
		}
	}
	fs = append(fs, lessons.NewFact("its network has only lo, which is now up with 127.0.0.1", len(names) == 1 && loUp && len(o.Host.Links) > 1,
		"sandbox links %v; host has %d links", names, len(o.Host.Links)))

	u, hu := o.Sandbox.User, o.Host.User
	got := "user view missing"
	if u != nil && hu != nil {
		got = fmt.Sprintf("inside euid %d, uid_map %v; host uid_map %v", u.EUID, u.UIDMap, hu.UIDMap)
	}
	oneLine := u != nil && hu != nil && u.EUID == 0 && len(u.UIDMap) == 1 && u.UIDMap[0].Inside == 0 &&
		!(len(hu.UIDMap) == 1 && hu.UIDMap[0].Count == 1)
	if _, confined := o.Extra[containerConfined]; confined {
		_, valid := lessons.KindList(o.Extra[containerConfined])
		// The class server maps a whole range (0 BASE 65536): root
		// inside is BASE outside, an id no one else on the host has.
		fs = append(fs, lessons.NewFact("it is root inside a user namespace whose uid_map has a single line: the class server mapped 0 and up inside to your own range outside, never to root",
			valid && oneLine && u.UIDMap[0].Outside > 0 && u.UIDMap[0].Count > 1, "%s", got))
	} else {
		fs = append(fs, lessons.NewFact("it is root inside a user namespace whose uid_map has a single line (root ↔ one outside uid)",
			oneLine && u.UIDMap[0].Count == 1, "%s", got))
	}

	nIPC := -1
	if o.Sandbox.IPC != nil {
		nIPC = len(o.Sandbox.IPC.MsgQueues) + len(o.Sandbox.IPC.ShmSegs) + len(o.Sandbox.IPC.Semaphores)
	}
	fs = append(fs, lessons.NewFact("its IPC namespace is new and empty", lessons.DifferentNS(o, "ipc") && nIPC == 0, "%d System V objects inside", nIPC))

	fs = append(fs, lessons.NewFact("its cgroup namespace makes its own cgroup look like the root, /", lessons.DifferentNS(o, "cgroup") && o.Sandbox.Cgroup == "/",
		"inside %q, host %q", o.Sandbox.Cgroup, o.Host.Cgroup))
	return fs
}

// containerConfinedKinds replaces "only the time namespace is still the
// host's" for a learner of a class (nslab serve): the server started the
// sandbox in new namespaces of every kind, the ones the lesson left out
// too, so none is the host's.
func containerConfinedKinds(o lessons.Observation) lessons.Fact {
	added, valid := lessons.KindList(o.Extra[containerConfined])
	for _, k := range added {
		if !lessons.DifferentNS(o, k) {
			valid = false
		}
	}
	var same []string
	seen := 0
	for _, k := range sandbox.Kinds() {
		if _, _, ok := lessons.NSPair(o, k.ProcName); !ok {
			continue // a kind this kernel lacks
		}
		seen++
		if lessons.SameNS(o, k.ProcName) {
			same = append(same, k.ProcName)
		}
	}
	return lessons.NewFact(fmt.Sprintf("in a class no namespace is the host's: the class server added %s, which the lesson leaves out", strings.Join(added, ", ")),
		valid && seen > 0 && len(same) == 0,
		"added by the server: %s; still the host's: %s", o.Extra[containerConfined], lessons.OrNone(strings.Join(same, ", ")))
}

func containerAnswer(o lessons.Observation) (int, string) {
	var names []string
	for _, l := range o.Sandbox.Links {
		names = append(names, l.Name)
	}
	switch {
	case len(names) == 0:
		return 2, "The container's network namespace has no interface at all."
	case len(names) == 1 && names[0] == "lo":
		return 0, fmt.Sprintf("Only lo: a new network namespace starts with a loopback and nothing else (the host has %d interfaces). "+
			"It starts down; the lesson brought it up.", len(o.Host.Links))
	default:
		return 1, fmt.Sprintf("The container sees %s.", strings.Join(names, ", "))
	}
}

func containerCheck(ctx context.Context, r *lessons.Sandboxes) (bool, string, error) {
	sb, err := lessons.ObserveBox(ctx, r, sandbox.ViewMount)
	if err != nil {
		return false, "", err
	}
	host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewMount})
	m, ok := lessons.MountAt(sb.Mounts, "/tmp")
	// Mount IDs differ between namespaces even for copies, so "a mount of
	// its own" is one more mount stacked on /tmp than the host has.
	if !ok || m.FSType != "tmpfs" || lessons.MountCount(sb.Mounts, "/tmp") <= lessons.MountCount(host.Mounts, "/tmp") {
		return false, "no tmpfs of the container's own is mounted on /tmp", nil
	}
	if where, err := lessons.HostMountOf(r.Box.PID(), m.ID); err != nil {
		return false, "", err
	} else if where != "" {
		return false, fmt.Sprintf("the tmpfs on /tmp inside is the host's %s, bound there: the same file system, so the host sees every file in it; a tmpfs of the container's own is a new one", where), nil
	}
	if _, err := os.Stat(containerFile); err == nil {
		return false, containerFile + " exists on the host: it was written before the mount (remove it there, mount, then write)", nil
	}
	// /proc/AGENT/root resolves the path in the container's mount
	// namespace, so this finds the file on the container's tmpfs.
	inside := fmt.Sprintf("/proc/%d/root%s", r.Box.PID(), containerFile)
	if _, err := os.Stat(inside); errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Sprintf("tmpfs on /tmp (mount %d), but no %s in it yet", m.ID, containerFile), nil
	} else if err != nil {
		return false, "", fmt.Errorf("look for %s inside: %w", containerFile, err)
	}
	return true, fmt.Sprintf("tmpfs on /tmp inside (mount %d) holds %s; the host's /tmp has no such file", m.ID, containerFile), nil
}
