package lesson

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/lessons"
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
