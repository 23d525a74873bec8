package liveviews

import (
	"strings"
	"testing"

	"github.com/nslab/nslab/ui/internal/uitest"
)

// TestRefreshKeepsOrRedraws: a refresh that observed what the last one
// did draws nothing (the same lines), and one that observed a change is
// drawn, in the shared area and in a focused view; an error shown is
// cleared by the next good observation even when it is the same.
func TestRefreshKeepsOrRedraws(t *testing.T) {
	o := uitest.Observation(5, 6)
	m := newModel().SetWide(true).SetSize(90, 20).SetFocusSize(90, 20).SetObservation(o).Draw()
	before := m.Lines()
	if !strings.Contains(plain(before), "lab") {
		t.Fatalf("the hostname is not shown:\n%s", plain(before))
	}
	same := m.SetObservation(uitest.Observation(5, 6)).Draw()
	if got := same.Lines(); &got[0] != &before[0] {
		t.Error("an observation like the last one drew the views again")
	}
	changed := same.SetObservation(uitest.WithHostname(o, "renamed-host")).Draw()
	if got := plain(changed.Lines()); !strings.Contains(got, "renamed-host") {
		t.Errorf("a changed hostname is not shown after the refresh:\n%s", got)
	}
	// Focused on the hostname view (2), the same.
	f := m.FocusOn(2)
	f = f.SetObservation(uitest.WithHostname(o, "renamed-host")).Draw()
	if got := plain(f.FocusedLines()); !strings.Contains(got, "renamed-host") {
		t.Errorf("a changed hostname is not shown in the focused view:\n%s", got)
	}
	failed := m.SetError("observing failed: boom").Draw()
	if !strings.Contains(plain(failed.Lines()), "boom") {
		t.Fatalf("the error is not shown:\n%s", plain(failed.Lines()))
	}
	back := failed.SetObservation(uitest.Observation(5, 6)).Draw()
	if got := plain(back.Lines()); strings.Contains(got, "boom") {
		t.Errorf("the error stays after a good observation:\n%s", got)
	}
}
