package statusbar

import (
	"context"
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/nslab/nslab/ui/common"
)

type keys struct{ a, b key.Binding }

func (k keys) ShortHelp() []key.Binding  { return []key.Binding{k.a, k.b} }
func (k keys) FullHelp() [][]key.Binding { return [][]key.Binding{{k.a}, {k.b}} }

// TestGolden: an error line marked ✗, the short help, then the full help
// after ?.
func TestGolden(t *testing.T) {
	c := common.New(context.Background(), common.NewStyles(true, true))
	k := keys{
		key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next part")),
		key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "home")),
	}
	m := New(c).SetSize(40, 2).SetKeys(k).SetStatus("perform failed: operation not permitted, run with sudo", true)
	short := ansi.Strip(m.View())
	if m.Height() != 2 || !strings.HasPrefix(short, "✗ perform failed") || !strings.HasSuffix(short, "n next part • q home") {
		t.Errorf("short (%d lines):\n%s", m.Height(), short)
	}
	m, _ = m.Update(tea.KeyPressMsg{Code: '?', Text: "?"})
	full := ansi.Strip(m.View())
	if !m.ShowingAll() || m.Height() < 2 || strings.Contains(full, "•") {
		t.Errorf("full help not shown after ?:\n%s", full)
	}
	for _, l := range strings.Split(short+"\n"+full, "\n") {
		if ansi.StringWidth(l) > 40 {
			t.Errorf("line overruns 40: %q", l)
		}
	}
	golden.RequireEqual(t, []byte(short+"\n---\n"+full))
}

// TestHelpRedrawnForNewKeys: the help is drawn once for the keys it shows
// and kept while the page hands the same keys again; other keys, a key
// disabled, a new description or width draw it again.
func TestHelpRedrawnForNewKeys(t *testing.T) {
	c := common.New(context.Background(), common.NewStyles(true, true))
	next := key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next part"))
	quit := key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "home"))
	m := New(c).SetSize(60, 2).SetKeys(keys{next, quit})
	if got := ansi.Strip(m.HelpView()); got != "n next part • q home" {
		t.Fatalf("help: %q", got)
	}
	renamed := key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "onwards"))
	if got := ansi.Strip(m.SetKeys(keys{renamed, quit}).HelpView()); got != "n onwards • q home" {
		t.Errorf("a new description is not drawn: %q", got)
	}
	off := quit
	off.SetEnabled(false)
	if got := ansi.Strip(m.SetKeys(keys{next, off}).HelpView()); got != "n next part" {
		t.Errorf("a disabled key is still drawn: %q", got)
	}
	if got := ansi.Strip(m.SetSize(12, 2).HelpView()); ansi.StringWidth(got) > 12 {
		t.Errorf("the help is not redrawn for a narrower bar: %q", got)
	}
}
