package textpane

import (
	"context"
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/nslab/nslab/ui/common"
)

func content(n int) string {
	var b []string
	for i := 1; i <= n; i++ {
		b = append(b, fmt.Sprintf("line %d", i))
	}
	return strings.Join(b, "\n")
}

// TestGolden: a pane with more below says so on its last line; scrolled
// to the end it does not.
func TestGolden(t *testing.T) {
	c := common.New(context.Background(), common.NewStyles(true, true))
	m := New(c).SetSize(30, 5).SetContent(content(12))
	top := plain(m.View())
	if !strings.Contains(top, "↓ more") || !strings.HasPrefix(top, "line 1\n") {
		t.Errorf("top:\n%s", top)
	}
	m, _ = m.Update(tea.KeyPressMsg{Code: 'j', Text: "j"})
	m, _ = m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	mid := plain(m.View())
	if !strings.HasPrefix(mid, "line 5\n") {
		t.Errorf("j then the wheel (3) should start at line 5:\n%s", mid)
	}
	end := plain(m.GotoBottom().View())
	if strings.Contains(end, "more") || !strings.HasSuffix(end, "line 12") {
		t.Errorf("bottom:\n%s", end)
	}
	fits := plain(New(c).SetSize(30, 5).SetContent(content(3)).View())
	if strings.Contains(fits, "more") {
		t.Errorf("a text that fits says there is more:\n%s", fits)
	}
	golden.RequireEqual(t, []byte(top+"\n---\n"+mid+"\n---\n"+end))
}

// plain is v without styles or the padding to the pane's width.
func plain(v string) string {
	lines := strings.Split(ansi.Strip(v), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}
