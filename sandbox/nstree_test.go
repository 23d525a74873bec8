package sandbox

import (
	"strings"
	"testing"
)

// TestOrderTree: namespaces come out parent first, siblings by inode, with
// depths; treeKeep keeps a node's ancestors and, asked, its descendants,
// never a sibling's subtree; a kept node whose parent is dropped becomes
// a root.
func TestOrderTree(t *testing.T) {
	id := func(ino uint64) NSID { return NSID{Dev: 4, Ino: ino} }
	raw := func() map[NSID]*rawNS {
		ns := map[NSID]*rawNS{}
		add := func(ino, parent uint64, procs ...int) {
			n := &rawNS{id: id(ino), ownerUID: 0}
			if parent != 0 {
				n.parent = id(parent)
			}
			for _, p := range procs {
				n.procs = append(n.procs, TreeProc{PID: p, Comm: "p"})
			}
			ns[id(ino)] = n
		}
		add(1, 0, 9, 1, 5, 2, 3, 4, 8, 7) // the root, eight members
		add(20, 1, 20)                    // a sandbox
		add(10, 1, 10)                    // another sandbox, a lower inode
		add(30, 20, 30)                   // nested in the first
		add(40, 30)                       // deeper, no member
		add(11, 10, 11)                   // nested in the other one
		return ns
	}
	shape := func(nodes []NSNode) string {
		var b strings.Builder
		for _, n := range nodes {
			b.WriteString(strings.Repeat(".", n.Depth))
			b.WriteString(n.ID.String())
			b.WriteByte(' ')
		}
		return strings.TrimSpace(b.String())
	}
	cases := []struct {
		name string
		keep func(map[NSID]*rawNS) func(NSID) bool
		want string
	}{
		{"everything", func(map[NSID]*rawNS) func(NSID) bool { return nil }, "[1] .[10] ..[11] .[20] ..[30] ...[40]"},
		{"a sandbox and below", func(ns map[NSID]*rawNS) func(NSID) bool { return treeKeep(ns, id(20), true) }, "[1] .[20] ..[30] ...[40]"},
		{"a sandbox alone", func(ns map[NSID]*rawNS) func(NSID) bool { return treeKeep(ns, id(30), false) }, "[1] .[20] ..[30]"},
		{"the root alone", func(ns map[NSID]*rawNS) func(NSID) bool { return treeKeep(ns, id(1), false) }, "[1]"},
		{"a parent dropped", func(map[NSID]*rawNS) func(NSID) bool {
			return func(n NSID) bool { return n != id(20) && n != id(1) }
		}, "[10] .[11] [30] .[40]"},
	}
	for _, c := range cases {
		ns := raw()
		got := orderTree(ns, c.keep(ns))
		if s := shape(got); s != c.want {
			t.Errorf("%s: %s, want %s", c.name, s, c.want)
		}
	}
	nodes := orderTree(raw(), nil)
	root := nodes[0]
	if root.NProcs != 8 || len(root.Procs) != treeProcsShown || root.Procs[0].PID != 1 || root.Procs[5].PID != 7 || !root.Parent.IsZero() {
		t.Errorf("root: %+v", root)
	}
	if got := root.Members(); !strings.HasPrefix(got, "8 procs: 1 p, 2 p") || !strings.HasSuffix(got, ", …") {
		t.Errorf("members: %q", got)
	}
	if got := nodes[5].Members(); got != "no process" {
		t.Errorf("a member-less namespace: %q", got)
	}
	if nodes[2].Parent != id(10) {
		t.Errorf("[11]'s parent: %v", nodes[2].Parent)
	}
	tr := &NSTree{User: nodes}
	if _, ok := tr.Find("user", id(30)); !ok || len(tr.Children("user", id(1))) != 2 || len(tr.Children("user", NSID{})) != 0 {
		t.Error("Find or Children")
	}
	rows := treeRows(tr)
	if rows[0].val != "owner uid 0 · root" || rows[4].key != "user:[30]" || rows[4].val != "level 2, child of user:[20] · owner uid 0 · 1 proc: 30 p" {
		t.Errorf("rows: %+v", rows)
	}
}
