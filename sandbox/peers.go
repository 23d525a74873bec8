package sandbox

import (
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Peer groups as the kernel numbers them in mountinfo's optional fields:
// "shared:N" marks a member of peer group N (a mount event on one member
// happens on all), "master:N" a slave of group N (it receives, never
// sends). Group numbers are global, so a group seen in two mount
// namespaces is one group spanning both.

// PeerGroup is one peer group as one side sees it.
type PeerGroup struct {
	ID      int      `json:"id"`
	Members []string `json:"members,omitempty"` // mount points marked shared:ID, sorted
	Slaves  []string `json:"slaves,omitempty"`  // mount points marked master:ID, sorted
}

// PropagationGroups reads a propagation string ("shared:3 master:1"): the
// peer group the mount belongs to and the one it is a slave of (0: none).
func PropagationGroups(prop string) (shared, master int) {
	for _, f := range strings.Fields(prop) {
		if v, ok := strings.CutPrefix(f, "shared:"); ok {
			shared, _ = strconv.Atoi(v)
		}
		if v, ok := strings.CutPrefix(f, "master:"); ok {
			master, _ = strconv.Atoi(v)
		}
	}
	return shared, master
}

// PeerGroups groups mounts by peer group, in group order. A mount stacked
// on another keeps its " (2)" key (MountKeys), so both are named.
func PeerGroups(ms []Mount) []PeerGroup {
	keys := MountKeys(ms)
	byID := map[int]*PeerGroup{}
	get := func(id int) *PeerGroup {
		if byID[id] == nil {
			byID[id] = &PeerGroup{ID: id}
		}
		return byID[id]
	}
	for i, m := range ms {
		shared, master := PropagationGroups(m.Propagation)
		if shared > 0 {
			g := get(shared)
			g.Members = append(g.Members, keys[i])
		}
		if master > 0 {
			g := get(master)
			g.Slaves = append(g.Slaves, keys[i])
		}
	}
	out := make([]PeerGroup, 0, len(byID))
	for _, g := range byID {
		sort.Strings(g.Members)
		sort.Strings(g.Slaves)
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// String renders a group for one table cell: "/a /b ← slaves /c".
func (g PeerGroup) String() string {
	s := strings.Join(g.Members, " ")
	if len(g.Members) == 0 {
		s = "(no member here)"
	}
	if len(g.Slaves) > 0 {
		s += " → slaves " + strings.Join(g.Slaves, " ")
	}
	return s
}

func peerRows(ms []Mount) []row {
	gs := PeerGroups(ms)
	out := make([]row, len(gs))
	for i, g := range gs {
		out[i] = row{key: "peer group " + strconv.Itoa(g.ID), val: g.String(), rank: g.ID}
	}
	return out
}

// The peer-group diagram: several mount namespaces' tables side by side,
// each mount under one subtree placed in the row of the peer group it
// belongs to or receives from, one column per namespace.

// MountTable is one mount namespace's table, read from a process in it.
type MountTable struct {
	Name   string  `json:"name"` // "host", "sandbox", "second": for the learner
	NS     string  `json:"ns"`   // "mnt:[4026532201]", as /proc/PID/ns/mnt reads
	PID    int     `json:"pid"`  // the process whose mountinfo it is, host PID
	Host   bool    `json:"host,omitempty"`
	Mounts []Mount `json:"mounts"`
}

// The roles a mount has in a diagram row.
const (
	RoleMember     = "member"     // shared:N of the row's group N
	RoleSlave      = "slave"      // master:N of the row's group N
	RolePrivate    = "private"    // in no group (the loose rows)
	RoleUnbindable = "unbindable" // in no group, and may not be bound
)

// PeerRow is one mount point in a group's rows: its role in each
// namespace's column, "" where that namespace has no such mount there.
type PeerRow struct {
	Mountpoint string   `json:"mountpoint"` // a MountKeys key: stacked mounts are "/p (2)"
	Roles      []string `json:"roles"`      // one per PeerDiagram.Tables
}

// DiagramGroup is one peer group of the diagram (ID 0: the loose rows,
// mounts in no group).
type DiagramGroup struct {
	ID   int       `json:"id"`
	Rows []PeerRow `json:"rows"`
}

// PeerDiagram is what the propagation diagram draws.
type PeerDiagram struct {
	Under  string         `json:"under"`  // the subtree shown: "/mnt" and below
	Tables []MountTable   `json:"tables"` // the columns; their Mounts are not kept
	Groups []DiagramGroup `json:"groups"` // by group ID; the loose rows last
	// HostShares lists the groups shown that a Host table has a mount in,
	// anywhere in its table: a lesson's groups must not reach the host.
	HostShares []int `json:"host_shares,omitempty"`
}

// under reports whether mount point p is dir or below it.
func under(p, dir string) bool {
	return dir == "/" || p == dir || strings.HasPrefix(p, dir+"/")
}

// NewPeerDiagram builds the diagram of the mounts under dir in tables.
func NewPeerDiagram(tables []MountTable, dir string) PeerDiagram {
	d := PeerDiagram{Under: dir}
	rows := map[int]map[string][]string{} // group → mount point → roles
	role := func(g int, key string, i int, r string) {
		if rows[g] == nil {
			rows[g] = map[string][]string{}
		}
		if rows[g][key] == nil {
			rows[g][key] = make([]string, len(tables))
		}
		rows[g][key][i] = r
	}
	for i, t := range tables {
		keys := MountKeys(t.Mounts)
		for j, m := range t.Mounts {
			if !under(m.Mountpoint, dir) {
				continue
			}
			shared, master := PropagationGroups(m.Propagation)
			if shared > 0 {
				role(shared, keys[j], i, RoleMember)
			}
			if master > 0 {
				role(master, keys[j], i, RoleSlave)
			}
			if shared == 0 && master == 0 {
				r := RolePrivate
				if PropagationOf(m.Propagation) == PropagationUnbindable {
					r = RoleUnbindable
				}
				role(0, keys[j], i, r)
			}
		}
		t.Mounts = nil
		d.Tables = append(d.Tables, t)
	}
	ids := make([]int, 0, len(rows))
	for id := range rows {
		ids = append(ids, id)
	}
	// Groups in kernel order, the loose rows (0) last.
	sort.Ints(ids)
	if len(ids) > 0 && ids[0] == 0 {
		ids = append(ids[1:], 0)
	}
	for _, id := range ids {
		g := DiagramGroup{ID: id}
		for mp, rs := range rows[id] {
			g.Rows = append(g.Rows, PeerRow{Mountpoint: mp, Roles: rs})
		}
		sort.Slice(g.Rows, func(a, b int) bool { return g.Rows[a].Mountpoint < g.Rows[b].Mountpoint })
		d.Groups = append(d.Groups, g)
	}
	for _, t := range tables {
		if !t.Host {
			continue
		}
		for _, m := range t.Mounts {
			shared, master := PropagationGroups(m.Propagation)
			for _, g := range d.Groups {
				if g.ID != 0 && (g.ID == shared || g.ID == master) && !slices.Contains(d.HostShares, g.ID) {
					d.HostShares = append(d.HostShares, g.ID)
				}
			}
		}
	}
	sort.Ints(d.HostShares)
	return d
}
