package lessontest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// toolSide is one side compared with the tools: the process the tools
// look at, and what nslab observed of it.
type toolSide struct {
	name   string
	pid    int
	snap   sandbox.Snapshot
	enter  bool // run the tools in the process's namespaces with nsenter
	userNS bool // nsenter must join its user namespace too (an unprivileged test)
}

// AgainstTools compares what nslab observes at the lesson's challenge,
// with its sandboxes live, with what util-linux and iproute2 print for
// the same processes, for every view the lesson shows, on both sides:
//
//   - ids: lsns -J -p PID
//   - uts: nsenter -t PID -u hostname, and domainname
//   - mount: findmnt -J -l -N PID
//   - net: nsenter -t PID -n ip -j addr, ip -j route and ip -j -6 route
//   - ipc: nsenter -t PID -i ipcs
//   - user: /proc/PID/uid_map and gid_map
//   - cgroup: /proc/PID/cgroup, read in the process's cgroup namespace
//   - time: /proc/PID/timens_offsets
//   - nstree: lsns -J --tree=parent (run from the host, as nslab observes
//     the tree)
//
// The host's side is this test process; on a confined engine its
// processes must be withheld, not shown. Kernel state can change between
// nslab's look and the tools' (the host's processes come and go), so a
// view that differs is observed and compared once more before it counts.
func AgainstTools(t testing.TB, ctx context.Context, s *lessons.Session) {
	t.Helper()
	r := s.Sandboxes()
	if r.Box == nil {
		t.Fatal("against the tools: the lesson's sandbox is not started")
	}
	for _, tool := range []string{"lsns", "nsenter", "findmnt", "ip", "ipcs", "hostname", "domainname", "cat"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("against the tools: %s is missing (util-linux, iproute2, hostname): %v", tool, err)
		}
	}
	for _, v := range s.Lesson().Views() {
		var problems []string
		for try := 0; try < 2; try++ {
			o, err := r.Observe(ctx)
			if err != nil {
				t.Fatalf("against the tools: observe: %v", err)
			}
			problems = nil
			for _, side := range []toolSide{
				{name: "host", pid: os.Getpid(), snap: o.Host},
				{name: "sandbox", pid: r.Box.PID(), snap: o.Sandbox, enter: true,
					userNS: os.Geteuid() != 0 && o.Sandbox.IDs["user"] != o.Host.IDs["user"]},
			} {
				e := side.snap.Errs[v]
				if side.name == "host" && v == sandbox.ViewPIDs && r.Engine.Confined() {
					// A class learner is shown none of the host's
					// processes: withheld is the right observation.
					if !strings.HasPrefix(e, "withheld") {
						problems = append(problems, fmt.Sprintf("host: a class learner's view shows the host's processes (error %q)", e))
					}
					continue
				}
				if e != "" {
					problems = append(problems, fmt.Sprintf("%s: nslab could not observe it: %s", side.name, e))
					continue
				}
				for _, p := range compareView(ctx, side, v) {
					problems = append(problems, side.name+": "+p)
				}
			}
			if len(problems) == 0 {
				break
			}
			if try == 0 {
				t.Logf("view %s against the tools, first look (looked at again): %s", v, strings.Join(problems, "; "))
			}
		}
		for _, p := range problems {
			t.Errorf("view %s against the tools: %s", v, p)
		}
	}
}

// run runs a tool for side: in its namespaces (flags for nsenter) when
// side.enter, else as it is.
func (side toolSide) run(ctx context.Context, nsFlags []string, args ...string) ([]byte, error) {
	if side.enter {
		pre := []string{"nsenter", "-t", strconv.Itoa(side.pid)}
		if side.userNS {
			// Not nsenter's setgroups(2) and setuid(2) to 0: an
			// unprivileged map denies setgroups. Joining the user
			// namespace alone gives the capabilities the others need.
			pre = append(pre, "-U", "--preserve-credentials")
		}
		pre = append(pre, nsFlags...)
		args = append(append(pre, "--"), args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		return out, fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr))
	}
	return out, nil
}

func compareView(ctx context.Context, side toolSide, v sandbox.View) []string {
	snap := side.snap
	switch v {
	case sandbox.ViewIDs:
		return compareIDs(ctx, side)
	case sandbox.ViewUTS:
		var ps []string
		for _, c := range []struct{ tool, nslab string }{{"hostname", snap.Hostname}, {"domainname", snap.Domainname}} {
			out, err := side.run(ctx, []string{"-u"}, c.tool)
			if err != nil {
				ps = append(ps, err.Error())
				continue
			}
			// An unset domain name is the kernel's "(none)": both print it.
			if got := strings.TrimSpace(string(out)); got != c.nslab {
				ps = append(ps, fmt.Sprintf("%s prints %q, nslab shows %q", c.tool, got, c.nslab))
			}
		}
		return ps
	case sandbox.ViewPIDs:
		return nil // the process list changes by the moment; ps is not compared
	case sandbox.ViewTree:
		return compareTree(ctx, side.snap.Tree)
	case sandbox.ViewMount:
		return compareMounts(ctx, side)
	case sandbox.ViewNet:
		return compareNet(ctx, side)
	case sandbox.ViewIPC:
		return compareIPC(ctx, side)
	case sandbox.ViewUser:
		return compareUser(side)
	case sandbox.ViewCgrp:
		out, err := side.run(ctx, []string{"-C"}, "cat", fmt.Sprintf("/proc/%d/cgroup", side.pid))
		if err != nil {
			return []string{err.Error()}
		}
		var nslab []string
		for _, l := range snap.CgroupLines {
			nslab = append(nslab, fmt.Sprintf("%d:%s:%s", l.Hierarchy, l.Controllers, l.Path))
		}
		return sameLines("/proc/PID/cgroup", strings.Split(strings.TrimSpace(string(out)), "\n"), nslab)
	case sandbox.ViewTime:
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/timens_offsets", side.pid))
		if err != nil {
			return []string{err.Error()}
		}
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			lines = append(lines, strings.Join(strings.Fields(l), " "))
		}
		if snap.Clocks == nil || strings.Join(lines, "; ") != snap.Clocks.Offsets {
			return []string{fmt.Sprintf("timens_offsets reads %q, nslab shows %+v", strings.Join(lines, "; "), snap.Clocks)}
		}
	}
	return nil
}

func compareIDs(ctx context.Context, side toolSide) []string {
	out, err := exec.CommandContext(ctx, "lsns", "-J", "-p", strconv.Itoa(side.pid)).Output()
	if err != nil {
		return []string{fmt.Sprintf("lsns -J -p %d: %v", side.pid, err)}
	}
	var ls struct {
		Namespaces []struct {
			NS   uint64 `json:"ns"`
			Type string `json:"type"`
		} `json:"namespaces"`
	}
	if err := json.Unmarshal(out, &ls); err != nil {
		return []string{fmt.Sprintf("lsns: %v", err)}
	}
	if len(ls.Namespaces) == 0 {
		return []string{"lsns lists no namespace"}
	}
	var ps []string
	for _, n := range ls.Namespaces {
		if id := side.snap.IDs[n.Type]; id.Ino != n.NS {
			ps = append(ps, fmt.Sprintf("lsns: %s is %d, nslab shows %s", n.Type, n.NS, id.Label(n.Type)))
		}
	}
	return ps
}

func compareMounts(ctx context.Context, side toolSide) []string {
	out, err := exec.CommandContext(ctx, "findmnt", "-J", "-l", "-N", strconv.Itoa(side.pid), "-o", "TARGET,FSTYPE,PROPAGATION").Output()
	if err != nil {
		return []string{fmt.Sprintf("findmnt -N %d: %v", side.pid, err)}
	}
	var fm struct {
		Filesystems []struct {
			Target      string `json:"target"`
			FSType      string `json:"fstype"`
			Propagation string `json:"propagation"`
		} `json:"filesystems"`
	}
	if err := json.Unmarshal(out, &fm); err != nil {
		return []string{fmt.Sprintf("findmnt: %v", err)}
	}
	var tool, nslab []string
	for _, f := range fm.Filesystems {
		tool = append(tool, f.Target+" "+f.FSType+" "+f.Propagation)
	}
	for _, m := range side.snap.Mounts {
		nslab = append(nslab, m.Mountpoint+" "+m.FSType+" "+findmntPropagation(m.Propagation))
	}
	return sameLines("findmnt", tool, nslab)
}

// findmntPropagation names a mount's propagation as findmnt(8) does:
// "shared" or "private" first (findmnt says private for any mount with no
// shared:N tag, a slave included), then ",slave" and ",unbindable" as they
// apply, so a slave-only mount is "private,slave" and an unbindable one
// "private,unbindable". nslab's view keeps mountinfo's fields with their
// peer group numbers ("shared:1 master:2"), which the lessons' facts read.
func findmntPropagation(p string) string {
	has := func(prefix string) bool {
		return slices.ContainsFunc(strings.Fields(p), func(f string) bool { return strings.HasPrefix(f, prefix) })
	}
	name := "private"
	if has("shared:") {
		name = "shared"
	}
	if has("master:") {
		name += ",slave"
	}
	if has("unbindable") {
		name += ",unbindable"
	}
	return name
}

func compareNet(ctx context.Context, side toolSide) []string {
	out, err := side.run(ctx, []string{"-n"}, "ip", "-j", "addr")
	if err != nil {
		return []string{err.Error()}
	}
	var links []struct {
		Name  string `json:"ifname"`
		State string `json:"operstate"`
		Addrs []struct {
			Local     string `json:"local"`
			PrefixLen int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal(out, &links); err != nil {
		return []string{fmt.Sprintf("ip -j addr: %v", err)}
	}
	var tool, nslab []string
	for _, l := range links {
		var addrs []string
		for _, a := range l.Addrs {
			addrs = append(addrs, fmt.Sprintf("%s/%d", a.Local, a.PrefixLen))
		}
		slices.Sort(addrs)
		tool = append(tool, l.Name+" "+l.State+" "+strings.Join(addrs, ","))
	}
	for _, l := range side.snap.Links {
		addrs := slices.Clone(l.Addrs)
		slices.Sort(addrs)
		nslab = append(nslab, l.Name+" "+l.State+" "+strings.Join(addrs, ","))
	}
	ps := sameLines("ip -j addr", tool, nslab)

	tool, nslab = nil, nil
	for _, family := range [][]string{{"-4"}, {"-6"}} {
		out, err := side.run(ctx, []string{"-n"}, append(append([]string{"ip", "-j"}, family...), "route", "show", "table", "main")...)
		if err != nil {
			return append(ps, err.Error())
		}
		var routes []struct {
			Dst, Dev, Gateway string
		}
		if err := json.Unmarshal(out, &routes); err != nil {
			return append(ps, fmt.Sprintf("ip -j route: %v", err))
		}
		for _, r := range routes {
			tool = append(tool, routeKey(r.Dst, r.Dev, r.Gateway))
		}
	}
	for _, r := range side.snap.Routes {
		nslab = append(nslab, routeKey(r.Dst, r.Dev, r.Gateway))
	}
	return append(ps, sameLines("ip -j route", tool, nslab)...)
}

// routeKey names a route by destination, device and gateway; ip(8) prints
// a host route without its prefix length.
func routeKey(dst, dev, gw string) string {
	if dst != "default" && !strings.Contains(dst, "/") {
		if strings.Contains(dst, ":") {
			dst += "/128"
		} else {
			dst += "/32"
		}
	}
	return strings.TrimSpace(dst + " dev " + dev + " " + gw)
}

func compareIPC(ctx context.Context, side toolSide) []string {
	out, err := side.run(ctx, []string{"-i"}, "ipcs")
	if err != nil {
		return []string{err.Error()}
	}
	var tool []string
	kind := ""
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.Contains(line, "Message Queues"):
			kind = "msg"
		case strings.Contains(line, "Shared Memory"):
			kind = "shm"
		case strings.Contains(line, "Semaphore"):
			kind = "sem"
		case strings.HasPrefix(line, "0x"):
			f := strings.Fields(line)
			if len(f) >= 2 {
				tool = append(tool, kind+" "+f[0]+" "+f[1])
			}
		}
	}
	var nslab []string
	if ipc := side.snap.IPC; ipc != nil {
		for _, g := range []struct {
			kind string
			objs []sandbox.IPCObject
		}{{"msg", ipc.MsgQueues}, {"shm", ipc.ShmSegs}, {"sem", ipc.Semaphores}} {
			for _, o := range g.objs {
				nslab = append(nslab, g.kind+" "+o.Key+" "+strconv.Itoa(o.ID))
			}
		}
	}
	return sameLines("ipcs", tool, nslab)
}

func compareUser(side toolSide) []string {
	u := side.snap.User
	if u == nil {
		return []string{"nslab shows no user view"}
	}
	var ps []string
	for _, m := range []struct {
		file string
		got  []sandbox.IDMap
	}{{"uid_map", u.UIDMap}, {"gid_map", u.GIDMap}} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", side.pid, m.file))
		if err != nil {
			ps = append(ps, err.Error())
			continue
		}
		var nslab []string
		for _, e := range m.got {
			nslab = append(nslab, fmt.Sprintf("%d %d %d", e.Inside, e.Outside, e.Count))
		}
		var tool []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l != "" {
				tool = append(tool, strings.Join(strings.Fields(l), " "))
			}
		}
		ps = append(ps, sameLines(m.file, tool, nslab)...)
	}
	return ps
}

// sameLines compares two lists as multisets and says what only one has.
func sameLines(tool string, got, nslab []string) []string {
	count := map[string]int{}
	for _, g := range got {
		count[g]++
	}
	for _, n := range nslab {
		count[n]--
	}
	var ps []string
	for _, k := range slices.Sorted(maps.Keys(count)) {
		switch c := count[k]; {
		case c > 0:
			ps = append(ps, fmt.Sprintf("%s lists %q, nslab does not", tool, k))
		case c < 0:
			ps = append(ps, fmt.Sprintf("nslab shows %q, %s does not", k, tool))
		}
	}
	return ps
}

// lsnsNS is one namespace of lsns -J --tree=parent.
type lsnsNS struct {
	NS       uint64   `json:"ns"`
	PID      *int     `json:"pid"`
	PNS      uint64   `json:"pns"`
	ONS      uint64   `json:"ons"`
	NProcs   int      `json:"nprocs"`
	Children []lsnsNS `json:"children"`
}

// compareTree holds nslab's namespace tree to lsns's (util-linux 2.38 has
// --tree=parent; its -T takes the relation joined: -Tparent): every node
// lsns knows too, with the same parent (by lsns's nesting and PNS), owner
// (ONS: the parent for a user namespace, the owning user namespace for a
// PID namespace) and lowest member PID; and every namespace lsns shows
// below a non-root node of nslab's tree is in nslab's tree too.
func compareTree(ctx context.Context, t *sandbox.NSTree) []string {
	if t == nil {
		return []string{"nslab observed no tree"}
	}
	var ps []string
	for _, kind := range []string{"user", "pid"} {
		out, err := exec.CommandContext(ctx, "lsns", "-J", "--tree=parent", "-t", kind, "-o", "NS,TYPE,NPROCS,PID,PNS,ONS").Output()
		if err != nil {
			return []string{fmt.Sprintf("lsns -J --tree=parent -t %s: %v", kind, err)}
		}
		var doc struct {
			Namespaces []lsnsNS `json:"namespaces"`
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			return []string{fmt.Sprintf("lsns -J: %v", err)}
		}
		type seen struct {
			ns     lsnsNS
			parent uint64 // by the tree's nesting
		}
		all := map[uint64]seen{}
		var walk func(ns []lsnsNS, parent uint64)
		walk = func(ns []lsnsNS, parent uint64) {
			for _, n := range ns {
				all[n.NS] = seen{n, parent}
				walk(n.Children, n.NS)
			}
		}
		walk(doc.Namespaces, 0)
		nodes := t.User
		if kind == "pid" {
			nodes = t.PID
		}
		in := map[uint64]sandbox.NSNode{}
		for _, n := range nodes {
			in[n.ID.Ino] = n
			l, ok := all[n.ID.Ino]
			if !ok {
				ps = append(ps, fmt.Sprintf("%s: lsns does not list it", n.ID.Label(kind)))
				continue
			}
			if n.Depth > 0 && (l.parent != n.Parent.Ino || l.ns.PNS != n.Parent.Ino) {
				ps = append(ps, fmt.Sprintf("%s: parent %s, lsns says %d (PNS %d)", n.ID.Label(kind), n.Parent, l.parent, l.ns.PNS))
			}
			if kind == "pid" && l.ns.ONS != n.Owner.Ino {
				ps = append(ps, fmt.Sprintf("%s: owner %s, lsns says ONS %d", n.ID.Label(kind), n.Owner.Label("user"), l.ns.ONS))
			}
			if n.NProcs > 0 && (l.ns.PID == nil || *l.ns.PID != n.Procs[0].PID) {
				ps = append(ps, fmt.Sprintf("%s: lowest member pid %d, lsns says %v", n.ID.Label(kind), n.Procs[0].PID, l.ns.PID))
			}
		}
		for ino, l := range all {
			if p, ok := in[l.parent]; ok && p.Depth > 0 {
				if _, ok := in[ino]; !ok {
					ps = append(ps, fmt.Sprintf("lsns shows %s:[%d] below %s, nslab's tree does not", kind, ino, p.ID.Label(kind)))
				}
			}
		}
	}
	return ps
}
