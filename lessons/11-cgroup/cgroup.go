// Package cgroup is lesson 11, "Cgroup namespaces: a cgroup root of its own": its Go logic.
// Its text and prompts are lesson.md and lesson.toml beside this file;
// package catalog registers Logic. It may import lessons and sandbox,
// never another lesson, catalog or ui.
package cgroup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

const (
	cgroupHostReads   = "cgroup.host_reads"   // /proc/AGENT/cgroup read by nslab, on the host
	cgroupInsideReads = "cgroup.inside_reads" // the same file read by a process inside the cgroup namespace
	cgroupCreator     = "cgroup.creator"      // nslab's own /proc/self/cgroup when it cloned the agent
	cgroupChild       = "cgroup.child"        // the v2 cgroup nslab made and cloned the agent into
	cgroupTarget      = "/sys/fs/cgroup"
)

// Logic clones an agent with CLONE_NEWCGROUP (and CLONE_NEWNS, so
// the challenge's mount stays inside) straight into a cgroup v2 child
// nslab makes for it (clone3 CLONE_INTO_CGROUP; removed on close), and
// reads the agent's /proc/PID/cgroup twice: once from the host, once from
// inside. On a hybrid machine the child is in the unified hierarchy at
// /sys/fs/cgroup/unified; the v1 hierarchies keep nslab's cgroups, since a
// clone can only be placed in a v2 cgroup.
func Logic() lessons.Logic {
	return lessons.Logic{
		Spec:    sandbox.Spec{Flags: sandbox.CloneNewCgroup | sandbox.CloneNewNS, Label: "cgroup", ChildCgroup: true},
		Perform: cgroupPerform,
		Views:   []sandbox.View{sandbox.ViewIDs, sandbox.ViewCgrp, sandbox.ViewMount},
		Facts:   cgroupFacts,
		Answer:  cgroupAnswer,
		Check:   cgroupCheck,
	}
}

func cgroupPerform(ctx context.Context, r *lessons.Sandboxes) error {
	pid := r.Box.PID()
	path := fmt.Sprintf("/proc/%d/cgroup", pid)
	host, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s from the host: %w", path, err)
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return fmt.Errorf("read nslab's own cgroup: %w", err)
	}
	r.Set(cgroupHostReads, strings.TrimSpace(string(host)))
	r.Set(cgroupCreator, strings.TrimSpace(string(self)))
	// Kept only when made: without one, the failed mkdirat and its errno
	// are in the trace.
	if c := r.Box.Cgroup(); c != "" {
		r.Set(cgroupChild, c)
	}

	// The same file, read by a process that has joined the agent's cgroup
	// namespace: the kernel renders the paths relative to the reader's
	// namespace root.
	inside, err := lessons.Shell(ctx, r.Box, "cat "+path)
	if errors.Is(err, sandbox.ErrNoEnter) {
		// Without cgo nslab cannot enter; the agent's own reading of the
		// unified (v2) line is still an inside reading.
		snap, oerr := r.Box.Observe(ctx, []sandbox.View{sandbox.ViewCgrp})
		if oerr != nil {
			return oerr
		}
		inside, err = "0::"+snap.Cgroup, nil
	}
	if err != nil {
		return fmt.Errorf("read %s from inside: %w", path, err)
	}
	r.Set(cgroupInsideReads, strings.TrimSpace(inside))
	return nil
}

// cgLine is one line of /proc/PID/cgroup: hierarchy-ID:controllers:path.
type cgLine struct{ hier, ctrl, path string }

// parseCgroupFile splits /proc/PID/cgroup into lines keyed by
// "ID:controllers". The path may itself contain ':'.
func parseCgroupFile(s string) (map[string]string, []cgLine) {
	m := map[string]string{}
	var ls []cgLine
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		p := strings.SplitN(l, ":", 3)
		if len(p) != 3 {
			continue
		}
		ls = append(ls, cgLine{p[0], p[1], p[2]})
		m[p[0]+":"+p[1]] = p[2]
	}
	return m, ls
}

func hierName(l cgLine) string {
	if l.hier == "0" && l.ctrl == "" {
		return "unified (v2)"
	}
	return l.ctrl
}

func cgroupFacts(o lessons.Observation) []lessons.Fact {
	var fs []lessons.Fact
	fs = append(fs, lessons.NSFact(o, "cgroup", false, "the agent has a cgroup namespace of its own"))
	fs = append(fs, lessons.SharedExcept(o, "every other namespace but mnt (for the challenge; and user, which nslab adds without root) is shared with the host", "cgroup", "mnt", "user"))

	inside, ils := parseCgroupFile(o.Extra[cgroupInsideReads])
	host, hls := parseCgroupFile(o.Extra[cgroupHostReads])
	creator, _ := parseCgroupFile(o.Extra[cgroupCreator])

	allRoot := len(ils) > 0
	for _, l := range ils {
		if l.path != "/" {
			allRoot = false
		}
	}
	fs = append(fs, lessons.NewFact("read from inside, the agent's /proc/PID/cgroup shows / in every hierarchy: the namespace's root", allRoot,
		"%s", strings.ReplaceAll(o.Extra[cgroupInsideReads], "\n", "  ")))
	fs = append(fs, lessons.NewFact("the agent itself reads / as its cgroup (the unified line, or the first)", o.Sandbox.Cgroup == "/",
		"agent reads %q; nslab reads %q for itself", o.Sandbox.Cgroup, o.Host.Cgroup))

	fs = append(fs, childFacts(o, host, hls, creator)...)

	// Only where nslab does not sit at a hierarchy's root do the two
	// readings differ; on such a line the difference is the lesson.
	var differ []string
	matched := true
	for _, l := range hls {
		if l.path == "/" {
			continue
		}
		in, ok := inside[l.hier+":"+l.ctrl]
		if !ok && len(ils) == 1 {
			continue // only the unified line was read inside (no cgo)
		}
		differ = append(differ, fmt.Sprintf("%s: host %s, inside %s", hierName(l), l.path, in))
		if in != "/" {
			matched = false
		}
	}
	if len(differ) > 0 {
		fs = append(fs, lessons.NewFact("one process, one file, two readers: where the host sees a deeper path, the inside sees /", matched,
			"%s", strings.Join(differ, "; ")))
	}
	return fs
}

func cgroupAnswer(o lessons.Observation) (int, string) {
	inside, ils := parseCgroupFile(o.Extra[cgroupInsideReads])
	if len(ils) == 0 {
		return 2, "The file read from inside was empty."
	}
	for _, l := range ils {
		if l.path != "/" {
			return 1, fmt.Sprintf("Inside, the %s line reads %s.", hierName(l), l.path)
		}
	}
	_, hls := parseCgroupFile(o.Extra[cgroupHostReads])
	var deeper []string
	for _, l := range hls {
		if l.path != "/" {
			deeper = append(deeper, hierName(l)+" "+l.path)
		}
	}
	why := fmt.Sprintf("Inside, all %d lines read /: the agent sits at the root of its cgroup namespace, which is the cgroup it was born in.", len(inside))
	if len(deeper) > 0 {
		why += " The host reads the same file as " + strings.Join(deeper, ", ") + "."
	} else {
		why += " Here nslab itself runs in the root cgroup of every hierarchy, so the host reads / too; the identities still differ."
	}
	return 0, why
}

func cgroupCheck(ctx context.Context, r *lessons.Sandboxes) (bool, string, error) {
	sb, err := lessons.ObserveBox(ctx, r, sandbox.ViewMount)
	if err != nil {
		return false, "", err
	}
	top, ok := lessons.MountAt(sb.Mounts, cgroupTarget)
	// In a child cgroup nslab made, the namespace's root differs from
	// every existing mount's root, so the root test below tells a new
	// mount from the sandbox's copy of the host's (which, on a v2-only
	// machine, must be unmounted first: mount(2) refuses the same file
	// system twice on one mount point). Without one, only a count can.
	more := true
	if r.Box.Cgroup() == "" {
		host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewMount})
		more = cgroup2At(sb.Mounts) > cgroup2At(host.Mounts)
	}
	if !ok || top.FSType != "cgroup2" || !more {
		what := "nothing"
		if ok {
			what = top.FSType + " (" + strconv.Itoa(cgroup2At(sb.Mounts)) + " cgroup2 mounts there, as many as the host has)"
		}
		return false, fmt.Sprintf("no new cgroup2 mount on %s in the sandbox: the top mount there is %s", cgroupTarget, what), nil
	}
	// The root field of mountinfo is rendered relative to the reader's
	// cgroup namespace: read from the host it names the real cgroup. A
	// fresh mount made inside has the namespace's root, the agent's own
	// cgroup; a bind of the host's mount has the host's whole tree.
	root, err := cgroupMountRoot(r.Box.PID(), top.ID)
	if err != nil {
		return false, "", err
	}
	own, err := cgroupV2Path(r.Box.PID())
	if err != nil {
		return false, "", err
	}
	if root != own {
		return false, fmt.Sprintf("the cgroup2 mount on top of %s (id %d) shows the host's cgroup tree from %s, not the namespace's own: a bind of an existing mount keeps its root, only a new mount of cgroup2 made inside starts at the namespace's root",
			cgroupTarget, top.ID, root), nil
	}
	detail := fmt.Sprintf("a new cgroup2 mount (id %d) is on top of %s in the sandbox; read from the host its root is %s, from inside /",
		top.ID, cgroupTarget, root)
	return true, detail, nil
}

// cgroup2At counts the cgroup2 mounts on /sys/fs/cgroup.
func cgroup2At(ms []sandbox.Mount) int {
	n := 0
	for _, m := range ms {
		if m.Mountpoint == cgroupTarget && m.FSType == "cgroup2" {
			n++
		}
	}
	return n
}

// cgroupMountRoot is the root field of mount id in pid's mountinfo, read
// from the host (so relative to the host's cgroup namespace).
func cgroupMountRoot(pid, id int) (string, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		return "", fmt.Errorf("read the sandbox's mounts: %w", err)
	}
	defer f.Close()
	infos, err := mountinfo.GetMountsFromReader(f, func(in *mountinfo.Info) (skip, stop bool) { return in.ID != id, false })
	if err != nil {
		return "", fmt.Errorf("read the sandbox's mounts: %w", err)
	}
	if len(infos) != 1 {
		return "", fmt.Errorf("mount %d is gone from the sandbox: %w", id, sandbox.ErrParse)
	}
	return infos[0].Root, nil
}

// cgroupV2Path is pid's cgroup v2 path ("0::" line of /proc/PID/cgroup),
// read from the host.
func cgroupV2Path(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", fmt.Errorf("read the agent's cgroup: %w", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			return p, nil
		}
	}
	return "", fmt.Errorf("the agent has no cgroup v2 line: %w", sandbox.ErrParse)
}

// childFacts: the agent's roots are the cgroups it was born in. In v2
// that is the child nslab made and cloned it into; in any v1 hierarchy
// (and in v2 where nslab could not make a child) it is nslab's own.
func childFacts(o lessons.Observation, host map[string]string, hls []cgLine, creator map[string]string) []lessons.Fact {
	child := o.Extra[cgroupChild]
	v2 := "0:"
	sameAsCreator := len(hls) > 0 && len(hls) == len(creator)
	for k, v := range host {
		if k == v2 && child != "" && v == child {
			continue // the one line the child changes, checked below
		}
		if creator[k] != v {
			sameAsCreator = false
		}
	}
	var fs []lessons.Fact
	if child == "" {
		fs = append(fs, lessons.NewFact("nslab could not make a cgroup for the agent (the failed mkdirat is in the trace), so it was born in nslab's own cgroups: read from the host, the file shows them", sameAsCreator,
			"%s", strings.ReplaceAll(o.Extra[cgroupHostReads], "\n", "  ")))
		return fs
	}
	fs = append(fs, lessons.NewFact("nslab made a cgroup v2 child of its own cgroup and cloned the agent into it (clone3 CLONE_INTO_CGROUP): read from the host, its v2 line is that child", host[v2] == child && creator[v2] != "" && path.Dir(child) == creator[v2],
		"agent %q, nslab %q, made %s", host[v2], creator[v2], child))
	if len(hls) > 1 {
		fs = append(fs, lessons.NewFact("a clone can only be placed in a v2 cgroup: in the v1 hierarchies the agent is in nslab's own cgroups", sameAsCreator,
			"%s", strings.ReplaceAll(o.Extra[cgroupHostReads], "\n", "  ")))
	}
	return fs
}
