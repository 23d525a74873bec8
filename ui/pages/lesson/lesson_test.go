package lesson

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/internal/uitest"
)

func newPage(t *testing.T, id int) (Model, *uitest.Session) {
	t.Helper()
	s := uitest.NewSession(uitest.Lessons()[1])
	c := common.New(context.Background(), common.NewStyles(true, true))
	return New(c, id, s, time.Second).SetSize(80, 24), s
}

// TestScreenID: a Cmd result for another screen (a lesson left and
// reopened) is dropped; the same result for this screen is taken. One
// embedded common.Screen decides, for every result type.
func TestScreenID(t *testing.T) {
	o := uitest.Observation(5, 6)
	for _, id := range []int{1, 2} {
		m, _ := newPage(t, 1)
		msgs := []tea.Msg{
			PerformedMsg{Screen: common.Screen{ID: id}, Events: uitest.Events()},
			ObservedMsg{Screen: common.Screen{ID: id}, Obs: o},
		}
		for _, msg := range msgs {
			m, _ = m.Update(msg)
		}
		screen := ansi.Strip(m.View())
		taken := m.Observed() && strings.Contains(screen, "unshare(CLONE_NEWUTS) = 0")
		if taken != (id == 1) {
			t.Errorf("results for screen %d on screen 1: taken %v\n%s", id, taken, screen)
		}
	}
}

// TestKeysInOrder: keys act before the next key is read: "n", "2", "n"
// chooses 2 in Predict and lands on Perform (a move through a Cmd would
// let the "2" focus a view in Concept instead).
func TestKeysInOrder(t *testing.T) {
	m, _ := newPage(t, 1)
	for _, k := range []string{"n", "2", "n"} {
		m, _ = m.Update(tea.KeyPressMsg{Code: rune(k[0]), Text: k})
	}
	if m.Part() != lessons.PartPerform {
		t.Fatalf("on %s, want perform", m.Part())
	}
	m, _ = m.Update(tea.KeyPressMsg{Code: 'p', Text: "p"})
	if v := ansi.Strip(m.View()); !strings.Contains(v, "2) its old name: the sandbox changed a copy ← your") {
		t.Errorf("choice 2 not locked in:\n%s", v)
	}
}

// TestPeerDiagram: a lesson with Logic.Peers shows its observation's peer
// groups above the views, refreshed by the next observation; m opens the
// diagram whole and m again closes it. A lesson without shows none.
func TestPeerDiagram(t *testing.T) {
	l := uitest.Lessons()[1]
	l.Logic.Peers = func(context.Context, *lessons.Sandboxes) (*sandbox.PeerDiagram, error) { return nil, nil }
	c := common.New(context.Background(), common.NewStyles(true, true))
	m := New(c, 1, uitest.NewSession(l), time.Second).SetSize(120, 40)
	diagram := func(group string) *sandbox.PeerDiagram {
		d := sandbox.NewPeerDiagram([]sandbox.MountTable{{Name: "sandbox", NS: "mnt:[4026532290]",
			Mounts: []sandbox.Mount{{Mountpoint: "/mnt/src", Propagation: "shared:" + group}}}}, "/mnt")
		return &d
	}
	o := uitest.Observation(5, 6)
	o.Peers = diagram("512")
	m, _ = m.Update(PerformedMsg{Screen: common.Screen{ID: 1}, Events: uitest.Events()})
	m, _ = m.Update(ObservedMsg{Screen: common.Screen{ID: 1}, Obs: o})
	if v := ansi.Strip(m.View()); !strings.Contains(v, "mount peer groups under /mnt") || !strings.Contains(v, "peer group 512") {
		t.Fatalf("no diagram in the live area:\n%s", v)
	}
	o.Peers = diagram("513")
	m, _ = m.Update(ObservedMsg{Screen: common.Screen{ID: 1}, Obs: o, Live: true, Gen: 1})
	if v := ansi.Strip(m.View()); !strings.Contains(v, "peer group 513") || strings.Contains(v, "peer group 512") {
		t.Errorf("the live refresh did not redraw the diagram:\n%s", v)
	}
	m, _ = m.Update(tea.KeyPressMsg{Code: 'm', Text: "m"})
	if v := ansi.Strip(m.View()); !strings.Contains(v, "m/esc back") {
		t.Errorf("m did not open the diagram whole:\n%s", v)
	}
	m, _ = m.Update(tea.KeyPressMsg{Code: 'm', Text: "m"})
	if v := ansi.Strip(m.View()); strings.Contains(v, "m/esc back") || !strings.Contains(v, "peer group 513") {
		t.Errorf("m again did not close it:\n%s", v)
	}
	plain, _ := newPage(t, 1)
	plain, _ = plain.Update(ObservedMsg{Screen: common.Screen{ID: 1}, Obs: o})
	if v := ansi.Strip(plain.View()); strings.Contains(v, "mount peer groups") {
		t.Errorf("a lesson without Peers shows the diagram:\n%s", v)
	}
}
