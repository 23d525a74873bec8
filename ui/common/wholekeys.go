package common

import "charm.land/bubbles/v2/key"

// WholeKeyMap is the keys of a component that can be opened whole (the
// syscall log, the peer diagram): Focus opens and closes it; while open,
// its viewport's keys scroll it (↑/↓/k/j, pgup/pgdn, the wheel).
type WholeKeyMap struct {
	Focus  key.Binding
	Scroll key.Binding // for the help only: the viewport has the keys
}

// NewWholeKeyMap opens the component with k, helped as what.
func NewWholeKeyMap(k, what string) WholeKeyMap {
	return WholeKeyMap{
		Focus:  key.NewBinding(key.WithKeys(k), key.WithHelp(k, what)),
		Scroll: key.NewBinding(key.WithKeys("up", "down", "pgup", "pgdown"), key.WithHelp("↑↓/pgup/pgdn", "scroll")),
	}
}

// ShortHelp implements help.KeyMap.
func (k WholeKeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Focus} }

// FullHelp implements help.KeyMap.
func (k WholeKeyMap) FullHelp() [][]key.Binding { return [][]key.Binding{{k.Focus, k.Scroll}} }
