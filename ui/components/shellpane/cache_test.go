package shellpane

import (
	"bytes"
	"context"
	"image/color"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"

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
		// The same cells but for one field each, written over each other:
		// a colour of another kind with the same number, true colour,
		// underline style and colour, a link, its parameters.
		"\r\x1b[31mZ\x1b[0m", "\r\x1b[38;5;1mZ\x1b[0m", "\r\x1b[38;2;1;2;3mZ\x1b[0m", "\r\x1b[38;2;1;2;4mZ\x1b[0m",
		"\r\x1b[4mZ\x1b[0m", "\r\x1b[4:3mZ\x1b[0m", "\r\x1b[4:3;58;5;2mZ\x1b[0m", "\r\x1b[4:3;58;5;3mZ\x1b[0m",
		"\r\x1b]8;;https://a\x1b\\Z\x1b]8;;\x1b\\", "\r\x1b]8;;https://b\x1b\\Z\x1b]8;;\x1b\\",
		"\r\x1b]8;id=1;https://b\x1b\\Z\x1b]8;;\x1b\\", "\r\x1b[44mZ\x1b[0m", "\r\x1b[104mZ\x1b[0m",
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

// TestRowKey: two rows have the same key only when their cells are equal,
// each field of a cell told apart; a row with a colour of a kind the key
// does not know gets none (it is drawn at every frame).
func TestRowKey(t *testing.T) {
	base := uv.Cell{Content: "a", Width: 1}
	cells := map[string]uv.Cell{"base": base}
	set := func(name string, f func(*uv.Cell)) {
		c := base
		f(&c)
		cells[name] = c
	}
	set("content", func(c *uv.Cell) { c.Content = "b" })
	set("grapheme", func(c *uv.Cell) { c.Content = "ab" })
	set("width", func(c *uv.Cell) { c.Width = 2 })
	set("underline", func(c *uv.Cell) { c.Style.Underline = 1 })
	set("attrs", func(c *uv.Cell) { c.Style.Attrs = 1 })
	set("fg basic", func(c *uv.Cell) { c.Style.Fg = ansi.BasicColor(1) })
	set("fg indexed", func(c *uv.Cell) { c.Style.Fg = ansi.IndexedColor(1) })
	set("fg rgb", func(c *uv.Cell) { c.Style.Fg = color.RGBA{1, 2, 3, 255} })
	set("bg basic", func(c *uv.Cell) { c.Style.Bg = ansi.BasicColor(1) })
	set("underline colour", func(c *uv.Cell) { c.Style.UnderlineColor = ansi.BasicColor(1) })
	set("link", func(c *uv.Cell) { c.Link.URL = "a" })
	set("link params", func(c *uv.Cell) { c.Link.Params = "a" })
	keyOf := func(c uv.Cell) ([]byte, bool) {
		e := vt.NewEmulator(2, 1)
		e.SetCell(0, 0, &c)
		return rowKey(nil, e, 0, 2, -1)
	}
	seen := map[string]string{}
	for name, c := range cells {
		k, ok := keyOf(c)
		if !ok {
			t.Fatalf("%s: no key", name)
		}
		if again, _ := keyOf(c); !bytes.Equal(k, again) {
			t.Errorf("%s: two keys for the same cells", name)
		}
		if other, dup := seen[string(k)]; dup {
			t.Errorf("%s and %s have the same key", name, other)
		}
		seen[string(k)] = name
	}
	if _, ok := keyOf(uv.Cell{Content: "a", Width: 1, Style: uv.Style{Fg: color.CMYK{C: 1}}}); ok {
		t.Error("a colour of an unknown kind got a key")
	}
}
