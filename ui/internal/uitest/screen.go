package uitest

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// namedKeys are the keys tests name by more than their character.
var namedKeys = map[string]tea.KeyPressMsg{
	"enter":  {Code: tea.KeyEnter},
	"esc":    {Code: tea.KeyEscape},
	"tab":    {Code: tea.KeyTab},
	"ctrl+c": {Code: 'c', Mod: tea.ModCtrl},
	"down":   {Code: tea.KeyDown},
	"left":   {Code: tea.KeyLeft},
	"right":  {Code: tea.KeyRight},
}

// Key is the key press a test names: one of namedKeys, or the character
// typed.
func Key(k string) tea.KeyPressMsg {
	if m, ok := namedKeys[k]; ok {
		return m
	}
	r := []rune(k)
	return tea.KeyPressMsg{Code: r[0], Text: k}
}

// CheckScreen checks a screen's size: no line wider than w, exactly h
// lines.
func CheckScreen(t testing.TB, screen string, w, h int) {
	t.Helper()
	lines := strings.Split(screen, "\n")
	if len(lines) != h {
		t.Errorf("screen has %d lines, want %d:\n%s", len(lines), h, screen)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("line %d is %d cells wide, more than %d: %q", i+1, n, w, l)
		}
	}
}
