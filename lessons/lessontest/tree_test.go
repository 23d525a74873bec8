package lessontest

import (
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/sandbox"
)

// TestTreeAgainstLsns: nslab's namespace tree of a sandbox with a nested
// user namespace and a nested PID namespace agrees with lsns
// -J --tree=parent, and each comparison fails on a tree made wrong: a
// wrong parent, a wrong owner, a wrong lowest member, a node lsns does not
// know, and a node left out below the sandbox. The host is compared
// before and after.
func TestTreeAgainstLsns(t *testing.T) {
	NeedRoot(t)
	t.Cleanup(HostUnchanged(t))
	eng := Engine(t)
	ctx := t.Context()
	sb, err := eng.Start(ctx, sandbox.Spec{Flags: sandbox.CloneNewPID | sandbox.CloneNewUTS | sandbox.CloneNewNS, Rootless: sandbox.RootlessAlways, Label: "tree"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	if err := sb.Mount(ctx, "proc", "/proc"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sb.Nested(ctx, "nested"); err != nil {
		t.Fatal(err)
	}
	var snap sandbox.Snapshot
	var ps []string
	for try := 0; try < 2; try++ { // host processes come and go between the two looks
		if snap, err = sb.Observe(ctx, []sandbox.View{sandbox.ViewTree}); err != nil {
			t.Fatal(err)
		}
		if ps = compareTree(ctx, snap.Tree); len(ps) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(ps) > 0 {
		t.Fatalf("lsns disagrees with a true tree: %s", strings.Join(ps, "; "))
	}
	tr := snap.Tree
	if len(tr.User) != 3 || len(tr.PID) != 3 {
		t.Fatalf("tree: %+v", tr)
	}
	clone := func() *sandbox.NSTree {
		c := &sandbox.NSTree{User: append([]sandbox.NSNode(nil), tr.User...), PID: append([]sandbox.NSNode(nil), tr.PID...)}
		for i := range c.User {
			c.User[i].Procs = append([]sandbox.TreeProc(nil), tr.User[i].Procs...)
		}
		return c
	}
	wrong := map[string]func(c *sandbox.NSTree){
		"parent":       func(c *sandbox.NSTree) { c.User[2].Parent = c.User[0].ID },
		"owner":        func(c *sandbox.NSTree) { c.PID[2].Owner = c.User[1].ID },
		"lowest pid":   func(c *sandbox.NSTree) { c.User[2].Procs[0].PID += 100000 },
		"unknown node": func(c *sandbox.NSTree) { c.User[2].ID.Ino += 1 << 20 },
		"left out":     func(c *sandbox.NSTree) { c.User = c.User[:2] },
	}
	for name, spoil := range wrong {
		c := clone()
		spoil(c)
		if len(compareTree(ctx, c)) == 0 {
			t.Errorf("a tree with a wrong %s agrees with lsns", name)
		}
	}
}
