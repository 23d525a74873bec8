package challenge

import (
	"context"
	"errors"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/components/confirm"
)

func view(m Model) string { return ansi.Strip(m.View()) }

// TestGolden: unchecked, then not yet with both hints, then the question,
// then solved with the solution shown.
func TestGolden(t *testing.T) {
	c := common.New(context.Background(), common.NewStyles(true, true))
	m := New(c, "Give the sandbox the hostname lab and the NIS domain name nslab.test.",
		[]string{"hostname NAME sets the hostname.", "domainname NAME sets the NIS domain name."},
		[]string{"hostname lab", "domainname nslab.test"}).SetSize(50, 20)
	fresh := view(m)
	m = m.SetResult(Result{Detail: "hostname is still box"})
	var ok bool
	for range 3 {
		m, ok = m.Hint()
	}
	if ok || m.HintsUsed() != 2 {
		t.Errorf("a third hint of two: ok %v, used %d", ok, m.HintsUsed())
	}
	hinted := view(m)
	m = m.AskSolution()
	asking := view(m)
	m, _ = m.Update(tea.KeyPressMsg{Code: 'y', Text: "y"})
	if m.Confirm.Answer() != confirm.Yes {
		t.Fatalf("y did not answer yes: %v", m.Confirm.Answer())
	}
	m = m.Reveal().SetResult(Result{OK: true, Detail: "hostname lab, domain nslab.test"})
	solved := view(m)
	if !m.Solved() {
		t.Error("a passing check is not solved")
	}
	for _, c := range []struct{ screen, want string }{
		{fresh, "Task: Give the sandbox"},
		{fresh, "Not checked yet"},
		{fresh, "c check · h hint (2 left) · v solution"},
		{hinted, "✗ Not yet: hostname is still box"},
		{hinted, "Hint 2: domainname NAME"},
		{asking, "Show the solution and apply it"},
		{solved, "✓ Solved: hostname lab"},
		{solved, "  hostname lab\n  domainname nslab.test"},
	} {
		if !strings.Contains(c.screen, c.want) {
			t.Errorf("lacks %q:\n%s", c.want, c.screen)
		}
	}
	if strings.Contains(hinted, "hostname lab\n") || strings.Contains(solved, "Show the solution") {
		t.Errorf("solution shown before asked, or question left open")
	}
	golden.RequireEqual(t, []byte(strings.Join([]string{fresh, hinted, asking, solved}, "\n---\n")))
}

func TestCheckError(t *testing.T) {
	c := common.New(context.Background(), common.NewStyles(true, true))
	m := New(c, "t", nil, nil).SetSize(50, 5).SetResult(Result{Err: errors.New("not performed")})
	if v := view(m); !strings.Contains(v, "✗ check failed: not performed") || m.Solved() {
		t.Errorf("error result:\n%s", v)
	}
}
