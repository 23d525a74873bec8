package sandbox

import (
	"sort"
	"strconv"
	"strings"
)

// The namespace tree: user and PID namespaces are hierarchical (each has a
// parent, ioctl_ns(2) NS_GET_PARENT), every namespace is owned by a user
// namespace (NS_GET_USERNS), and a user namespace remembers the uid that
// created it (NS_GET_OWNER_UID). lsns -T draws the same hierarchy.

// NSTree is the user and PID namespace hierarchies a side can see, each in
// tree order: a parent before its children, children by inode.
type NSTree struct {
	User []NSNode `json:"user,omitempty"`
	PID  []NSNode `json:"pid,omitempty"`
}

// NSNode is one namespace of the tree.
type NSNode struct {
	ID NSID `json:"id"`
	// Parent is zero for the root: the initial namespace, or the highest
	// one nslab may look at (the kernel answers EPERM above its own user
	// namespace).
	Parent NSID `json:"parent,omitempty"`
	Depth  int  `json:"depth"`
	// Owner is the user namespace that owns a PID namespace.
	Owner NSID `json:"owner,omitempty"`
	// OwnerUID is the uid that created a user namespace, as nslab's own
	// user namespace maps it (-1: unknown, or a PID namespace).
	OwnerUID int `json:"owner_uid"`
	// NProcs counts the processes nslab can see in it; Procs lists the
	// first of them, lowest host PID first.
	NProcs int        `json:"nprocs"`
	Procs  []TreeProc `json:"procs,omitempty"`
	// Mine marks the namespaces of the observed process itself.
	Mine bool `json:"mine,omitempty"`
}

// TreeProc is one member of a namespace in the tree.
type TreeProc struct {
	PID  int    `json:"pid"` // host PID
	Comm string `json:"comm"`
}

// treeProcsShown bounds the members a node lists.
const treeProcsShown = 6

// Find returns the node of kind ("user" or "pid") with identity id.
func (t *NSTree) Find(kind string, id NSID) (NSNode, bool) {
	if t == nil {
		return NSNode{}, false
	}
	for _, n := range t.nodes(kind) {
		if n.ID == id {
			return n, true
		}
	}
	return NSNode{}, false
}

// Children lists the nodes of kind whose parent is id, in tree order.
func (t *NSTree) Children(kind string, id NSID) []NSNode {
	if t == nil {
		return nil
	}
	var out []NSNode
	for _, n := range t.nodes(kind) {
		if n.Parent == id && !id.IsZero() {
			out = append(out, n)
		}
	}
	return out
}

func (t *NSTree) nodes(kind string) []NSNode {
	if kind == "pid" {
		return t.PID
	}
	return t.User
}

// Describe says what a node is, in one line: its owner and its members.
func (n NSNode) Describe(kind string) string {
	var parts []string
	if kind == "user" {
		if n.OwnerUID >= 0 {
			parts = append(parts, "owner uid "+strconv.Itoa(n.OwnerUID))
		}
	} else if !n.Owner.IsZero() {
		parts = append(parts, "owned by "+n.Owner.Label("user"))
	}
	if n.Parent.IsZero() {
		parts = append(parts, "root")
	} else {
		parts = append(parts, n.Members())
	}
	return strings.Join(parts, " · ")
}

// Members lists a node's processes: "2 procs: 812 nslab-agent, 815 sh".
func (n NSNode) Members() string {
	if n.NProcs == 0 {
		return "no process"
	}
	var ps []string
	for _, p := range n.Procs {
		ps = append(ps, strconv.Itoa(p.PID)+" "+p.Comm)
	}
	s := strconv.Itoa(n.NProcs) + " proc"
	if n.NProcs != 1 {
		s += "s"
	}
	s += ": " + strings.Join(ps, ", ")
	if n.NProcs > len(n.Procs) {
		s += ", …"
	}
	return s
}

// treeRows are a tree's rows for the live table: one per namespace, user
// then PID, in tree order, each with its level and parent (the nstree
// component draws the tree itself).
func treeRows(t *NSTree) []row {
	if t == nil {
		return nil
	}
	var out []row
	for _, kind := range []string{"user", "pid"} {
		for _, n := range t.nodes(kind) {
			val := n.Describe(kind)
			if !n.Parent.IsZero() {
				val = "level " + strconv.Itoa(n.Depth) + ", child of " + n.Parent.Label(kind) + " · " + val
			}
			out = append(out, row{key: n.ID.Label(kind), val: val, rank: len(out)})
		}
	}
	return out
}

// rawNS is one namespace as the observer found it, before ordering.
type rawNS struct {
	id, parent, owner NSID
	ownerUID          int
	procs             []TreeProc
	mine              bool
}

// orderTree puts the namespaces of one kind in tree order: roots (no known
// parent) first, each followed by its subtree, siblings by inode. keep, if
// not nil, says which nodes to keep; a kept node whose parent is dropped
// becomes a root.
func orderTree(ns map[NSID]*rawNS, keep func(NSID) bool) []NSNode {
	kids := map[NSID][]NSID{}
	var roots []NSID
	for id, n := range ns {
		if keep != nil && !keep(id) {
			continue
		}
		if p, ok := ns[n.parent]; ok && !n.parent.IsZero() && (keep == nil || keep(p.id)) {
			kids[n.parent] = append(kids[n.parent], id)
		} else {
			roots = append(roots, id)
		}
	}
	byIno := func(ids []NSID) {
		sort.Slice(ids, func(i, j int) bool { return ids[i].Ino < ids[j].Ino })
	}
	byIno(roots)
	var out []NSNode
	var walk func(id NSID, depth int)
	walk = func(id NSID, depth int) {
		n := ns[id]
		sort.Slice(n.procs, func(i, j int) bool { return n.procs[i].PID < n.procs[j].PID })
		node := NSNode{ID: id, Depth: depth, Owner: n.owner, OwnerUID: n.ownerUID, NProcs: len(n.procs), Mine: n.mine}
		if depth > 0 {
			node.Parent = n.parent
		}
		node.Procs = n.procs[:min(len(n.procs), treeProcsShown)]
		out = append(out, node)
		cs := kids[id]
		byIno(cs)
		for _, c := range cs {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return out
}

// treeKeep keeps, of one kind's namespaces, the ancestors of mine and mine
// itself, and (when withDescendants) everything below mine.
func treeKeep(ns map[NSID]*rawNS, mine NSID, withDescendants bool) func(NSID) bool {
	keep := map[NSID]bool{}
	for id := mine; !id.IsZero(); {
		n, ok := ns[id]
		if !ok || keep[id] {
			break
		}
		keep[id] = true
		id = n.parent
	}
	if withDescendants {
		for id := range ns {
			// User and PID namespaces nest at most 32 deep.
			for up, hops := id, 0; !up.IsZero() && hops < 40; hops++ {
				if up == mine {
					keep[id] = true
					break
				}
				n, ok := ns[up]
				if !ok {
					break
				}
				up = n.parent
			}
		}
	}
	return func(id NSID) bool { return keep[id] }
}
