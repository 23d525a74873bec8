package sandbox

import (
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
