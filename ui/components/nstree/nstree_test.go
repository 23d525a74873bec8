package nstree

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/common"
)

// tree is a doctored tree shaped like the nesting lesson's: the host's
// user namespace, the sandbox's below it with two children (the nested
// one and one the learner made), and three PID namespaces.
func tree() *sandbox.NSTree {
	id := func(ino uint64) sandbox.NSID { return sandbox.NSID{Dev: 4, Ino: ino} }
	return &sandbox.NSTree{
		User: []sandbox.NSNode{
			{ID: id(4026531837), OwnerUID: 0, NProcs: 109, Procs: []sandbox.TreeProc{{PID: 1, Comm: "systemd"}}},
			{ID: id(4026532187), Parent: id(4026531837), Depth: 1, OwnerUID: 65534, NProcs: 1, Procs: []sandbox.TreeProc{{PID: 3575, Comm: "nslab-agent"}}, Mine: true},
			{ID: id(4026532189), Parent: id(4026532187), Depth: 2, OwnerUID: 65534, NProcs: 2, Procs: []sandbox.TreeProc{{PID: 3584, Comm: "nslab-nested"}, {PID: 3599, Comm: "nslab-idle"}}},
			{ID: id(4026532301), Parent: id(4026532189), Depth: 3, OwnerUID: 65534, NProcs: 1, Procs: []sandbox.TreeProc{{PID: 3700, Comm: "sleep"}}},
			{ID: id(4026532200), Parent: id(4026532187), Depth: 2, OwnerUID: 65534, NProcs: 1, Procs: []sandbox.TreeProc{{PID: 3650, Comm: "sleep"}}},
		},
		PID: []sandbox.NSNode{
			{ID: id(4026531836), Owner: id(4026531837), OwnerUID: -1, NProcs: 109, Procs: []sandbox.TreeProc{{PID: 1, Comm: "systemd"}}},
			{ID: id(4026532194), Parent: id(4026531836), Depth: 1, Owner: id(4026532187), OwnerUID: -1, NProcs: 4, Procs: []sandbox.TreeProc{{PID: 3575, Comm: "nslab-agent"}}, Mine: true},
			{ID: id(4026532195), Parent: id(4026532194), Depth: 2, Owner: id(4026532189), OwnerUID: -1, NProcs: 1, Procs: []sandbox.TreeProc{{PID: 3599, Comm: "nslab-idle"}}},
		},
	}
}

func plain(s string) string {
	lines := strings.Split(ansi.Strip(s), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// TestGolden: nothing observed; the tree wide, with tree lines that
// continue past a deeper branch to a later sibling and the sandbox's own
// marked; narrow, every line cut to the width; scrolled by a key; and a
// live refresh keeps the scroll position.
func TestGolden(t *testing.T) {
	c := common.New(context.Background(), common.NewStyles(true, true))
	empty := plain(New(c).SetSize(60, 4).View())
	m := New(c).SetSize(100, 14).SetTree(tree())
	wide := plain(m.View())
	narrow := plain(New(c).SetSize(40, 14).SetTree(tree()).View())
	s, _ := m.SetSize(100, 4).Update(tea.KeyPressMsg{Code: 'j', Text: "j"})
	scrolled := plain(s.View())
	s = s.SetTree(tree())
	if plain(s.View()) != scrolled {
		t.Errorf("a refresh moved the scroll position:\n%s\n---\n%s", scrolled, plain(s.View()))
	}
	for _, want := range []string{
		"└─ user:[4026532187] (sandbox)  owner uid 65534 · 1 proc: 3575 nslab-agent",
		"   ├─ user:[4026532189]",
		"   │  └─ user:[4026532301]",
		"   └─ user:[4026532200]",
		"   └─ pid:[4026532195]  owner user:[4026532189] · 1 proc: 3599 nslab-idle",
	} {
		if !strings.Contains(wide, want) {
			t.Errorf("the tree lacks %q:\n%s", want, wide)
		}
	}
	for _, l := range strings.Split(narrow, "\n") {
		if ansi.StringWidth(l) > 40 {
			t.Errorf("line overruns 40: %q", l)
		}
	}
	if scrolled == plain(m.SetSize(100, 4).View()) {
		t.Error("j did not scroll")
	}
	golden.RequireEqual(t, []byte(strings.Join([]string{empty, wide, narrow, scrolled}, "\n---\n")))
}
