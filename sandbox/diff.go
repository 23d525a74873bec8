package sandbox

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Diff compares one view of the host's and a sandbox's snapshots, row by
// row. It is pure and deterministic. Rows come in a fixed order: views with
// fixed keys keep the order listed below (ids in the Kinds table order),
// mounts and IPC objects are sorted by key, links come before routes, and
// the pids view puts the processes seen on both sides first. When either
// side could not fill the view, Diff returns a single "error" row carrying
// the error text.
//
// Keys per view:
//   - ids: the /proc/PID/ns name ("uts", "pid_for_children" ...)
//   - uts: "hostname", "domainname"
//   - pids: the host PID; values are the PID each side knows it by, and
//     Label is its command name
//   - mount: the mount point ("/proc"); a second mount stacked on the same
//     point is "/proc (2)", and so on
//   - net: the link name; routes are "route DST DEV"
//   - ipc: "msg KEY", "shm KEY", "sem KEY" (IPC_PRIVATE objects also carry
//     their id), "mq /NAME", and "mq" for a side that cannot list queues
//   - user: "uid_map", "gid_map", "setgroups", "euid", "egid", "capabilities"
//   - cgroup: one row per line of /proc/PID/cgroup, "v2" for the unified
//     line and "v1 CONTROLLERS" ("v1 memory") for each v1 hierarchy; a
//     snapshot without its lines (made by hand) has one row, "cgroup"
//   - time: "monotonic", "boottime" (equal within a second), "offsets"
//   - peers: "peer group N" for each shared:N or master:N (peers.go)
func Diff(host, sb Snapshot, v View) []Delta {
	ds := diffView(host, sb, v)
	// Rows end up on a terminal. Whatever a sandbox's root put into a
	// hostname, a mount path or a process name (the kernel takes any
	// bytes there), control characters are shown escaped, never sent.
	for i := range ds {
		d := &ds[i]
		d.Key, d.Label, d.Host, d.Sandbox = Printable(d.Key), Printable(d.Label), Printable(d.Host), Printable(d.Sandbox)
	}
	return ds
}

// Printable escapes control characters (ESC, BEL, newlines, DEL, C1) as Go
// does in quoted strings, leaving all other text as it is.
func Printable(s string) string {
	clean := true
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func diffView(host, sb Snapshot, v View) []Delta {
	if he, se := host.Errs[v], sb.Errs[v]; he != "" || se != "" {
		return []Delta{{Key: "error", Host: he, Sandbox: se, Kind: Changed}}
	}
	switch v {
	case ViewIDs:
		return diffIDs(host.IDs, sb.IDs)
	case ViewUTS:
		return diffRows(
			[]row{{key: "hostname", val: host.Hostname}, {key: "domainname", val: host.Domainname, rank: 1}},
			[]row{{key: "hostname", val: sb.Hostname}, {key: "domainname", val: sb.Domainname, rank: 1}})
	case ViewPIDs:
		return diffProcs(host.Procs, sb.Procs)
	case ViewMount:
		return diffRows(mountRows(host.Mounts), mountRows(sb.Mounts))
	case ViewNet:
		return diffRows(netRows(host.Links, host.Routes), netRows(sb.Links, sb.Routes))
	case ViewIPC:
		return diffRows(ipcRows(host.IPC), ipcRows(sb.IPC))
	case ViewUser:
		return diffRows(userRows(host.User), userRows(sb.User))
	case ViewCgrp:
		return diffRows(cgroupRows(host), cgroupRows(sb))
	case ViewTime:
		return diffTime(host.Clocks, sb.Clocks)
	case ViewPeers:
		return diffRows(peerRows(host.Mounts), peerRows(sb.Mounts))
	case ViewTree:
		return diffRows(treeRows(host.Tree), treeRows(sb.Tree))
	}
	return nil
}

// DiffAll diffs every view that both snapshots were asked to fill.
func DiffAll(host, sb Snapshot) map[View][]Delta {
	out := map[View][]Delta{}
	for _, v := range AllViews() {
		if host.Has(v) && sb.Has(v) {
			out[v] = Diff(host, sb, v)
		}
	}
	return out
}

// Summarize counts the rows of each kind.
func Summarize(ds []Delta) (same, onlyHost, onlySandbox, changed int) {
	for _, d := range ds {
		switch d.Kind {
		case Same:
			same++
		case OnlyHost:
			onlyHost++
		case OnlySandbox:
			onlySandbox++
		case Changed:
			changed++
		}
	}
	return
}

// row is one keyed value of one side. Rows are ordered by rank, then key.
type row struct {
	key, val, label string
	rank            int
}

// diffRows joins two sides' rows by key. Keys must be unique per side.
func diffRows(host, sb []row) []Delta {
	hm := make(map[string]row, len(host))
	for _, r := range host {
		hm[r.key] = r
	}
	rank := make(map[string]int, len(host)+len(sb))
	for _, rs := range [][]row{host, sb} {
		for _, r := range rs {
			rank[r.key] = r.rank
		}
	}
	out := make([]Delta, 0, len(host)+len(sb))
	seen := make(map[string]bool, len(sb))
	for _, s := range sb {
		seen[s.key] = true
		h, ok := hm[s.key]
		switch {
		case !ok:
			out = append(out, Delta{Key: s.key, Sandbox: s.val, Label: s.label, Kind: OnlySandbox})
		case h.val == s.val:
			out = append(out, Delta{Key: s.key, Host: h.val, Sandbox: s.val, Label: s.label, Kind: Same})
		default:
			out = append(out, Delta{Key: s.key, Host: h.val, Sandbox: s.val, Label: s.label, Kind: Changed})
		}
	}
	for _, h := range host {
		if !seen[h.key] {
			out = append(out, Delta{Key: h.key, Host: h.val, Label: h.label, Kind: OnlyHost})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if ri, rj := rank[out[i].Key], rank[out[j].Key]; ri != rj {
			return ri < rj
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// diffIDs compares namespace identities in the Kinds table order.
func diffIDs(host, sb IDs) []Delta {
	union := IDs{}
	for _, ids := range []IDs{host, sb} {
		for k, id := range ids {
			union[k] = id
		}
	}
	rank := map[string]int{}
	for i, k := range union.Sorted() {
		rank[k] = i
	}
	rows := func(ids IDs) []row {
		out := make([]row, 0, len(ids))
		for k, id := range ids {
			out = append(out, row{key: k, val: id.String(), rank: rank[k]})
		}
		return out
	}
	return diffRows(rows(host), rows(sb))
}

// MountKeys returns the diff key of each mount: its mount point, with
// " (2)", " (3)" ... for the later mounts stacked on the same point, so
// that a mount hiding another loses neither.
func MountKeys(ms []Mount) []string {
	n := make(map[string]int, len(ms))
	keys := make([]string, len(ms))
	for i, m := range ms {
		n[m.Mountpoint]++
		keys[i] = m.Mountpoint
		if c := n[m.Mountpoint]; c > 1 {
			keys[i] += " (" + strconv.Itoa(c) + ")"
		}
	}
	return keys
}

func mountRows(ms []Mount) []row {
	keys := MountKeys(ms)
	out := make([]row, len(ms))
	for i, m := range ms {
		out[i] = row{key: keys[i], val: m.FSType + " " + m.Source + " " + m.Propagation}
	}
	return out
}

func netRows(links []Link, routes []Route) []row {
	out := make([]row, 0, len(links)+len(routes))
	for _, l := range links {
		addrs := append([]string(nil), l.Addrs...)
		sort.Strings(addrs)
		val := l.Type + " " + l.State
		if len(addrs) > 0 {
			val += " " + strings.Join(addrs, ",")
		}
		out = append(out, row{key: l.Name, val: val})
	}
	seen := map[string]int{}
	for _, r := range routes {
		key := "route " + r.Dst + " " + r.Dev
		// Several routes can share dst and dev (metrics, IPv6 multicast):
		// keep them all.
		seen[key]++
		if c := seen[key]; c > 1 {
			key += " (" + strconv.Itoa(c) + ")"
		}
		out = append(out, row{key: key, val: RouteValue(r), rank: 1})
	}
	return out
}

// RouteValue renders a route's attributes past dst and dev, as ip-route(8)
// orders them: "via 10.0.0.1 proto kernel scope link src 10.0.0.2".
func RouteValue(r Route) string {
	var parts []string
	if r.Gateway != "" {
		parts = append(parts, "via "+r.Gateway)
	}
	if r.Protocol != "" {
		parts = append(parts, "proto "+r.Protocol)
	}
	if r.Scope != "" {
		parts = append(parts, "scope "+r.Scope)
	}
	if r.Src != "" {
		parts = append(parts, "src "+r.Src)
	}
	return strings.Join(parts, " ")
}

func ipcRows(ipc *IPC) []row {
	if ipc == nil {
		return nil
	}
	var out []row
	add := func(kind string, rank int, objs []IPCObject) {
		for _, o := range objs {
			key := kind + " " + o.Key
			if o.Key == "0x00000000" {
				// IPC_PRIVATE objects share key 0; only the id tells
				// them apart.
				key += " id " + strconv.Itoa(o.ID)
			}
			val := fmt.Sprintf("id %d perms %s uid %d", o.ID, o.Perms, o.Owner)
			if o.Size != 0 {
				val += " size " + strconv.FormatInt(o.Size, 10)
			}
			out = append(out, row{key: key, val: val, rank: rank})
		}
	}
	add("msg", 0, ipc.MsgQueues)
	add("shm", 1, ipc.ShmSegs)
	add("sem", 2, ipc.Semaphores)
	for _, q := range ipc.MQueues {
		out = append(out, row{key: "mq " + q, val: "queue", rank: 3})
	}
	if ipc.MQueueNote != "" {
		out = append(out, row{key: "mq", val: ipc.MQueueNote, rank: 3})
	}
	return out
}

func cgroupRows(s Snapshot) []row {
	if len(s.CgroupLines) == 0 {
		if s.Cgroup == "" {
			return nil
		}
		return []row{{key: "cgroup", val: s.Cgroup}}
	}
	out := make([]row, 0, len(s.CgroupLines))
	for _, l := range s.CgroupLines {
		r := row{key: l.Key(), val: l.Path, rank: 1}
		if r.key == "v2" {
			r.rank = 0 // the unified hierarchy first: the one cgroup namespaces are taught on
		}
		out = append(out, r)
	}
	return out
}

func userRows(u *User) []row {
	if u == nil {
		return nil
	}
	return []row{
		{key: "uid_map", val: FormatIDMap(u.UIDMap), rank: 0},
		{key: "gid_map", val: FormatIDMap(u.GIDMap), rank: 1},
		{key: "setgroups", val: u.Setgroups, rank: 2},
		{key: "euid", val: strconv.Itoa(u.EUID), rank: 3},
		{key: "egid", val: strconv.Itoa(u.EGID), rank: 4},
		{key: "capabilities", val: CapSummary(u.CapEff), rank: 5},
	}
}

// diffProcs joins processes by host PID. Rows for processes seen on both
// sides come first (Changed when the sandbox knows the process by another
// PID), then those only the sandbox lists, then the often hundreds only the
// host sees; each group by host PID.
func diffProcs(host, sb []Proc) []Delta {
	hm := make(map[int]Proc, len(host))
	for _, p := range host {
		hm[p.HostPID] = p
	}
	var both, onlySB []Delta
	seen := make(map[int]bool, len(sb))
	for _, s := range sb {
		seen[s.HostPID] = true
		key := strconv.Itoa(s.HostPID)
		h, ok := hm[s.HostPID]
		if !ok {
			onlySB = append(onlySB, Delta{Key: key, Sandbox: strconv.Itoa(s.PID), Label: s.Comm, Kind: OnlySandbox})
			continue
		}
		k := Same
		if h.PID != s.PID {
			k = Changed
		}
		both = append(both, Delta{Key: key, Host: strconv.Itoa(h.PID), Sandbox: strconv.Itoa(s.PID), Label: s.Comm, Kind: k})
	}
	onlyHost := make([]Delta, 0, len(host))
	for _, h := range host {
		if !seen[h.HostPID] {
			onlyHost = append(onlyHost, Delta{Key: strconv.Itoa(h.HostPID), Host: strconv.Itoa(h.PID), Label: h.Comm, Kind: OnlyHost})
		}
	}
	for _, g := range [][]Delta{both, onlySB, onlyHost} {
		sort.SliceStable(g, func(i, j int) bool { return pidKeyLess(g[i].Key, g[j].Key) })
	}
	out := make([]Delta, 0, len(both)+len(onlySB)+len(onlyHost))
	out = append(out, both...)
	out = append(out, onlySB...)
	return append(out, onlyHost...)
}

// pidKeyLess orders decimal keys numerically.
func pidKeyLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// ClockTolerance is how far two readings of one clock may differ and still
// count as the same: the two sides are read moments apart.
const ClockTolerance = time.Second

func diffTime(host, sb *Clocks) []Delta {
	rows := func(c *Clocks) []row {
		if c == nil {
			return nil
		}
		return []row{
			{key: "monotonic", val: roundSeconds(c.Monotonic), rank: 0},
			{key: "boottime", val: roundSeconds(c.Boottime), rank: 1},
			{key: "offsets", val: c.Offsets, rank: 2},
		}
	}
	hr, sr := rows(host), rows(sb)
	out := diffRows(hr, sr)
	if host == nil || sb == nil {
		return out
	}
	// The rounded texts may differ for readings a moment apart; decide
	// on the raw durations instead.
	for i := range out {
		var d time.Duration
		switch out[i].Key {
		case "monotonic":
			d = host.Monotonic - sb.Monotonic
		case "boottime":
			d = host.Boottime - sb.Boottime
		default:
			continue
		}
		if d < 0 {
			d = -d
		}
		if d > ClockTolerance {
			out[i].Kind = Changed
		} else {
			out[i].Kind = Same
		}
	}
	return out
}

// roundSeconds renders a clock reading rounded to seconds: "3h25m12s".
func roundSeconds(d time.Duration) string {
	return d.Round(time.Second).String()
}
