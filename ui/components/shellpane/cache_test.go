package shellpane

import (
	"context"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/ui/common"
)

// fresh is the pane's screen as drawn with no row reused: what the cache
// must give.
func fresh(t *Term, off int, cursor bool, fit int) []string {
	t.mu.Lock()
	saved := t.rows
	t.rows = rowCache{}
	t.mu.Unlock()
	out, _, _ := t.lines(off, cursor, fit)
	t.mu.Lock()
	t.rows = saved
	t.mu.Unlock()
	return out
}

// TestCachedRowsFollowTheScreen: after every change a shell makes to its
// screen (typing, erasing, colours, the cursor moving, scrolling, clearing,
// the alternate screen, a resize, scrolling back), the pane's rows are
// exactly the rows drawn anew: no row kept from the last draw is stale.
func TestCachedRowsFollowTheScreen(t *testing.T) {
	c := common.New(context.Background(), common.NewStyles(true, false))
	term := Fake(60, 5, "$ ")
	m := New(c).SetSize(60, 6)
	m, _ = m.Update(StartedMsg{Term: term})
	steps := []string{
		"Q", "\b \b", "ls", "\r\n", "\x1b[31mred\x1b[0m plain", "\r\n$ ",
		"\x1b[2A", "X", "\x1b[2B", // the cursor up, a write there, back down
		"1\r\n2\r\n3\r\n4\r\n5\r\n6\r\n$ ",            // the screen scrolls: rows move up
		"\x1b[2J\x1b[H$ ",                             // cleared
		"\x1b[?1049h\x1b[Hfull screen", "\x1b[?1049l", // alt screen and back
		"a\x1b[1;7mB\x1b[0mc", "\x1b[3D", "\x1b[C", // attributes, the cursor on them
	}
	check := func(step string) {
		t.Helper()
		got := m.Lines()[1:] // the title is not the screen's
		w, _ := ScreenSize(m.common.Width, m.common.Height, m.note != "")
		want := fresh(term, m.scroll, m.focused, w)
		if !slices.Equal(got, want) {
			t.Fatalf("after %q the pane shows stale rows:\n got %q\nwant %q", step, got, want)
		}
	}
	for _, s := range steps {
		term.Feed(s)
		m, _ = m.Update(OutputMsg{Term: term})
		check(s)
	}
	// The focus moves the cursor's mark; a resize re-fits every row.
	m = m.SetFocus(false)
	check("unfocused")
	if title := m.Lines()[0]; !strings.Contains(title, "^] to type here") {
		t.Errorf("unfocused, the title is %q", title)
	}
	m = m.SetFocus(true)
	check("focused")
	// The pane narrower than the shell's screen (its resize is on the
	// way): the same cells, fitted to another width.
	narrow, _, _ := term.lines(0, true, 8)
	if want := fresh(term, 0, true, 8); !slices.Equal(narrow, want) {
		t.Fatalf("fitted to 8 the rows are stale:\n got %q\nwant %q", narrow, want)
	}
	m = m.SetSize(12, 6)
	check("resized to 12")
	if w := len(strings.Split(strings.TrimRight(m.View(), "\n"), "\n")); w != 6 {
		t.Fatalf("the resized pane has %d lines", w)
	}
	// Scrolled back, the scrollback's rows are shown, then the screen again.
	m = m.SetSize(60, 6)
	check("resized to 60")
	m, _ = m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelUp})
	if m.scroll == 0 {
		t.Fatal("no scrollback to scroll to")
	}
	check("scrolled back")
	if title := m.Lines()[0]; !strings.Contains(title, "↑3 of") {
		t.Errorf("scrolled back, the title is %q", title)
	}
	m, _ = m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	check("scrolled to the end")
}

// TestActs: the keys after which the shell's output may mean the sandbox
// changed (the page then looks at once), and those that only edit the
// command line.
func TestActs(t *testing.T) {
	for _, c := range []struct {
		k    tea.KeyPressMsg
		alt  bool
		want bool
	}{
		{tea.KeyPressMsg{Code: 'Q', Text: "Q"}, false, false},
		{tea.KeyPressMsg{Code: 'Q', Text: "Q", Mod: tea.ModShift}, false, false},
		{tea.KeyPressMsg{Code: tea.KeyBackspace}, false, false},
		{tea.KeyPressMsg{Code: tea.KeyTab}, false, false},
		{tea.KeyPressMsg{Code: tea.KeyUp}, false, false},
		{tea.KeyPressMsg{Code: tea.KeyEnter}, false, true},
		{tea.KeyPressMsg{Code: tea.KeyKpEnter}, false, true},
		{tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}, false, true},
		{tea.KeyPressMsg{Code: 'd', Mod: tea.ModCtrl}, false, true},
		{tea.KeyPressMsg{Code: '.', Mod: tea.ModAlt}, false, true},
		{tea.KeyPressMsg{Code: 'q', Text: "q"}, true, true}, // less, top: q quits
	} {
		if got := acts(c.k, c.alt); got != c.want {
			t.Errorf("acts(%v, alt %v) = %v, want %v", c.k, c.alt, got, c.want)
		}
	}
}
