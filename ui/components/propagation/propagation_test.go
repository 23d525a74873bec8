package propagation

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

// tables is the propagation lesson's three namespaces as a real run
// shows them (group numbers and inodes from one on this VM).
func tables() []sandbox.MountTable {
	return []sandbox.MountTable{
		{Name: "host", NS: "mnt:[4026531841]", Host: true, Mounts: []sandbox.Mount{{Mountpoint: "/", Propagation: "shared:1"}}},
		{Name: "sandbox", NS: "mnt:[4026532290]", Mounts: []sandbox.Mount{
			{Mountpoint: "/", Propagation: "private"},
			{Mountpoint: "/mnt", Propagation: "private"},
			{Mountpoint: "/mnt/src", Propagation: "shared:512"},
			{Mountpoint: "/mnt/peer", Propagation: "shared:512"},
			{Mountpoint: "/mnt/slave", Propagation: "master:512"},
			{Mountpoint: "/mnt/private", Propagation: "private"},
			{Mountpoint: "/mnt/unbindable", Propagation: "unbindable"},
			{Mountpoint: "/mnt/src/event", Propagation: "shared:514"},
			{Mountpoint: "/mnt/peer/event", Propagation: "shared:514"},
			{Mountpoint: "/mnt/slave/event", Propagation: "master:514"},
			{Mountpoint: "/mnt/slave/back", Propagation: "private"},
		}},
		{Name: "second", NS: "mnt:[4026532291]", Mounts: []sandbox.Mount{
			{Mountpoint: "/mnt", Propagation: "private"},
			{Mountpoint: "/mnt/src", Propagation: "shared:512"},
			{Mountpoint: "/mnt/peer", Propagation: "shared:512"},
			{Mountpoint: "/mnt/slave", Propagation: "master:512"},
			{Mountpoint: "/mnt/src/event", Propagation: "shared:514"},
			{Mountpoint: "/mnt/peer/event", Propagation: "shared:514"},
			{Mountpoint: "/mnt/slave/event", Propagation: "master:514"},
		}},
	}
}

func strip(lines []string) string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = ansi.Strip(l)
	}
	return strings.Join(out, "\n")
}

// TestGolden: before any observation, the whole diagram, the same cut to
// a short area (header, legend and host line kept), and a diagram whose
// group reaches the host.
func TestGolden(t *testing.T) {
	c := common.New(context.Background(), common.NewStyles(true, true))
	d := sandbox.NewPeerDiagram(tables(), "/mnt")
	empty := New(c).SetSize(70, 3).Lines()
	m := New(c).SetDiagram(&d)
	full := m.SetSize(70, m.Need(70)).Lines()
	short := m.SetSize(70, 9).Lines()
	leaky := tables()
	leaky[0].Mounts = append(leaky[0].Mounts, sandbox.Mount{Mountpoint: "/srv", Propagation: "shared:512"})
	ld := sandbox.NewPeerDiagram(leaky, "/mnt")
	lm := New(c).SetDiagram(&ld)
	leak := lm.SetSize(70, lm.Need(70)).Lines()
	for name, ls := range map[string][]string{"empty": empty, "full": full, "short": short, "leak": leak} {
		for _, l := range ls {
			if w := ansi.StringWidth(l); w > 70 {
				t.Errorf("%s: a line overruns 70 columns (%d): %q", name, w, ansi.Strip(l))
			}
		}
	}
	if len(short) != 9 || len(full) != m.Need(70) {
		t.Errorf("heights %d and %d, want 9 and %d", len(short), len(full), m.Need(70))
	}
	out := strings.Join([]string{strip(empty), "---", strip(full), "---", strip(short), "---", strip(leak[len(leak)-1:])}, "\n")
	golden.RequireEqual(t, []byte(out))
}

// TestFocus: m opens the diagram whole (the page routes the key), the
// viewport scrolls, and closing gives the live lines back.
func TestFocus(t *testing.T) {
	c := common.New(context.Background(), common.NewStyles(true, true))
	d := sandbox.NewPeerDiagram(tables(), "/mnt")
	m := New(c).SetDiagram(&d).SetSize(70, 5).SetFocusSize(70, 6).SetFocus(true)
	first := strip(m.FocusedLines())
	if !strings.Contains(first, "lines 1–5 of") || !strings.Contains(first, "↓") {
		t.Errorf("focused title:\n%s", first)
	}
	m, _ = m.Update(tea.KeyPressMsg{Code: tea.KeyDown})
	if got := strip(m.FocusedLines()); got == first || !strings.Contains(got, "lines 2–6") {
		t.Errorf("down did not scroll:\n%s", got)
	}
	if m = m.SetFocus(false); m.Focused() || len(m.Lines()) != 5 {
		t.Errorf("unfocused: %v, %d lines", m.Focused(), len(m.Lines()))
	}
}
