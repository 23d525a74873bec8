package liveviews

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/internal/uitest"
)

func newModel() Model {
	c := common.New(context.Background(), common.NewStyles(true, true))
	return New(c, []sandbox.View{sandbox.ViewUTS, sandbox.ViewPIDs, sandbox.ViewMount, sandbox.ViewNet}, time.Second)
}

func plain(lines []string) string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.TrimRight(ansi.Strip(l), " ")
	}
	return strings.Join(out, "\n")
}

// TestGolden: waiting with the lesson's view list; every view side by
// side with a titled rule; stacked when narrow; one view whole when
// focused, scrolled by a key.
func TestGolden(t *testing.T) {
	m := newModel().SetWaiting("Nothing to see yet: go to Perform and press enter.").SetWide(true).SetSize(70, 4)
	waiting := plain(m.Lines())
	if !strings.Contains(waiting, "views: 1 namespaces · 2 hostname · 3 processes · 4 mounts · 5 network") {
		t.Errorf("waiting:\n%s", waiting)
	}
	m = m.SetObservation(uitest.Observation(5, 6))
	m = m.SetSize(70, m.Need()+1)
	wide := plain(m.Lines())
	narrow := newModel().SetObservation(uitest.Observation(5, 6)).SetSize(50, 12)
	stacked := plain(narrow.Lines())
	if !strings.Contains(stacked, "HOST then SANDBOX") || !strings.Contains(stacked, "SBOX lab") {
		t.Errorf("narrow does not stack:\n%s", stacked)
	}
	if !strings.Contains(stacked, "(+") {
		t.Errorf("a short area does not say what did not fit:\n%s", stacked)
	}
	f := m.SetFocusSize(60, 6).FocusOn(3)
	focused := plain(f.FocusedLines())
	f, _ = f.Update(tea.KeyPressMsg{Code: 'j', Text: "j"})
	scrolled := plain(f.FocusedLines())
	if !strings.HasPrefix(focused, "view 3/5: processes") || focused == scrolled {
		t.Errorf("focused, then j:\n%s\n---\n%s", focused, scrolled)
	}
	for _, l := range strings.Split(wide+"\n"+stacked, "\n") {
		if ansi.StringWidth(l) > 70 {
			t.Errorf("line overruns: %q", l)
		}
	}
	golden.RequireEqual(t, []byte(strings.Join([]string{waiting, wide, stacked, focused, scrolled}, "\n---\n")))
}

// TestFocusKeys: tab cycles through every view and back to all; 0 goes
// back at once; a view that does not exist is ignored.
func TestFocusKeys(t *testing.T) {
	m := newModel().SetObservation(uitest.Observation(5, 6)).SetSize(70, 20)
	tab := tea.KeyPressMsg{Code: tea.KeyTab}
	for want := 1; want <= 5; want++ {
		m, _ = m.Update(tab)
		if m.Focus() != want {
			t.Fatalf("tab %d: focus %d", want, m.Focus())
		}
	}
	if m, _ = m.Update(tab); m.Focus() != 0 {
		t.Errorf("tab after the last view: focus %d, want 0", m.Focus())
	}
	m = m.FocusOn(2)
	if m, _ = m.Update(tea.KeyPressMsg{Code: '0', Text: "0"}); m.Focus() != 0 {
		t.Errorf("0: focus %d", m.Focus())
	}
	if m.FocusOn(9).Focus() != 0 {
		t.Error("focused a ninth view of five")
	}
}

// TestTreeFocused: the namespace tree view, focused, is drawn as a tree
// (the nstree component), not as the table of rows the shared area shows.
func TestTreeFocused(t *testing.T) {
	id := func(ino uint64) sandbox.NSID { return sandbox.NSID{Dev: 4, Ino: ino} }
	root := sandbox.NSNode{ID: id(1), OwnerUID: 0, NProcs: 9}
	sbTree := &sandbox.NSTree{
		User: []sandbox.NSNode{root, {ID: id(2), Parent: id(1), Depth: 1, OwnerUID: 65534, NProcs: 1, Procs: []sandbox.TreeProc{{PID: 7, Comm: "nslab-agent"}}, Mine: true}},
		PID:  []sandbox.NSNode{{ID: id(3), Owner: id(1), OwnerUID: -1, NProcs: 9}},
	}
	o := uitest.Observation(2, 2)
	views := []sandbox.View{sandbox.ViewIDs, sandbox.ViewTree}
	o.Host.Views, o.Sandbox.Views = views, views
	o.Host.Tree = &sandbox.NSTree{User: sbTree.User[:1], PID: sbTree.PID}
	o.Sandbox.Tree = sbTree
	o.Diffs = sandbox.DiffAll(o.Host, o.Sandbox)
	c := common.New(context.Background(), common.NewStyles(true, true))
	m := New(c, []sandbox.View{sandbox.ViewTree}, time.Second).SetObservation(o).SetSize(70, 12)
	if all := plain(m.Lines()); !strings.Contains(all, "user:[2]") || strings.Contains(all, "└─") {
		t.Errorf("the shared area does not show the tree's rows as a table:\n%s", all)
	}
	f := plain(m.SetFocusSize(70, 10).FocusOn(2).FocusedLines())
	if !strings.HasPrefix(f, "view 2/2: namespace tree") || !strings.Contains(f, "└─ user:[2] (sandbox)  owner uid 65534") {
		t.Errorf("focused tree:\n%s", f)
	}
}

// joinerObservation is uitest's observation with a joiner that has joined
// the sandbox's UTS namespace and no other.
func joinerObservation() lessons.Observation {
	o := uitest.Observation(5, 6)
	j := o.Host
	j.Side, j.PID, j.Procs, j.Mounts, j.Links = "sandbox", 4300, nil, nil, nil
	j.IDs = sandbox.IDs{}
	for k, id := range o.Host.IDs {
		j.IDs[k] = id
	}
	j.IDs["uts"] = o.Sandbox.IDs["uts"]
	j.Hostname = o.Sandbox.Hostname
	j.Views = []sandbox.View{sandbox.ViewIDs, sandbox.ViewUTS}
	o.Joiner = &j
	return o
}

// TestGoldenJoiner: a lesson with a joiner gets a third column, HOST |
// TARGET | JOINER, wide, stacked and focused; the joiner's values sit in
// the rows of the views it was observed in.
func TestGoldenJoiner(t *testing.T) {
	m := newModel().SetWide(true).SetObservation(joinerObservation()).SetSize(90, 4)
	m = m.SetSize(90, m.Need()+1)
	wide := plain(m.Lines())
	if !strings.Contains(wide, "HOST vs TARGET vs JOINER") || !strings.Contains(wide, "│ JOINER") {
		t.Errorf("no JOINER column:\n%s", wide)
	}
	// The joiner's uts row shows the sandbox's id, its hostname the
	// sandbox's: the third column is the joiner's, not a copy of a side.
	var uts, host string
	for _, l := range strings.Split(wide, "\n") {
		f := strings.Split(l, "│")
		if len(f) != 4 {
			continue
		}
		switch strings.TrimSpace(strings.TrimLeft(f[0], "≠=+-· ")) {
		case "uts":
			uts = strings.TrimSpace(f[3])
		case "hostname":
			host = strings.TrimSpace(f[3])
		}
	}
	if uts != "[4026532201]" || host != "lab" {
		t.Errorf("joiner column: uts %q hostname %q, want the sandbox's 4026532201 and lab:\n%s", uts, host, wide)
	}
	narrow := newModel().SetObservation(joinerObservation())
	narrow = narrow.SetSize(50, narrow.NeedAt(50)+1)
	stacked := plain(narrow.Lines())
	if !strings.Contains(stacked, "JOIN lab") || strings.Contains(stacked, "(+") {
		t.Errorf("narrow: the joiner is not stacked, or Need does not count its lines:\n%s", stacked)
	}
	focused := plain(m.SetFocusSize(80, 14).FocusOn(1).FocusedLines())
	if !strings.Contains(focused, "TARGET") {
		t.Errorf("focused:\n%s", focused)
	}
	for _, l := range strings.Split(wide+"\n"+stacked, "\n") {
		if ansi.StringWidth(l) > 90 {
			t.Errorf("line overruns: %q", l)
		}
	}
	golden.RequireEqual(t, []byte(strings.Join([]string{wide, stacked, focused}, "\n---\n")))
}
