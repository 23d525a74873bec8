package lesson

import (
	"charm.land/bubbles/v2/key"

	"github.com/nslab/nslab/lessons"
)

// KeyMap is the page's own keys; the components hold theirs.
type KeyMap struct {
	Enter     key.Binding // pick the choice, perform, finish
	Refresh   key.Binding
	Shell     key.Binding
	Back      key.Binding
	Quit      key.Binding
	ForceQuit key.Binding // handled by the program; shown in the full help
}

// DefaultKeyMap is the page's default keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Enter:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "do it")),
		Refresh:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
		Shell:     key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "shell inside")),
		Back:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Quit:      key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "home")),
		ForceQuit: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	}
}

// help is the keys help for the current part: a help.KeyMap built from
// the page's and its components' key maps.
type help struct {
	m    Model
	part lessons.Part
}

func (h help) ShortHelp() []key.Binding {
	m := h.m
	k, parts, st, views := m.Keys, m.parts.KeyMap, m.status.KeyMap, m.views.KeyMap
	if m.challenge.Confirm.Asking() {
		return m.challenge.Confirm.KeyMap.ShortHelp()
	}
	switch h.part {
	case lessons.PartPredict:
		c := m.prediction.KeyMap.Choose
		c.SetHelp("1-9", "choose")
		return []key.Binding{c, parts.Next, parts.Prev, st.Help, k.Quit}
	case lessons.PartPerform:
		e := k.Enter
		e.SetHelp("enter", "perform")
		return []key.Binding{e, parts.Next, parts.Prev, views.Focus, st.Help, k.Quit}
	case lessons.PartExperiment:
		return []key.Binding{k.Shell, k.Refresh, views.Focus, parts.Next, parts.Prev, st.Help, k.Quit}
	case lessons.PartChallenge:
		c := m.challenge.KeyMap
		return []key.Binding{c.Check, c.Hint, c.Solution, k.Shell, parts.Next, parts.Prev, st.Help, k.Quit}
	}
	return []key.Binding{parts.Next, parts.Prev, m.text.KeyMap.Down, views.Focus, st.Help, k.Quit}
}

func (h help) FullHelp() [][]key.Binding {
	m := h.m
	if m.challenge.Confirm.Asking() {
		return m.challenge.Confirm.KeyMap.FullHelp()
	}
	k, parts, text, views, c := m.Keys, m.parts.KeyMap, m.text.KeyMap, m.views.KeyMap, m.challenge.KeyMap
	return [][]key.Binding{
		{parts.Next, parts.Prev, k.Enter, text.Up, text.Down, text.PageDown},
		{views.Choose, views.Focus, views.FocusBack, k.Refresh, k.Shell},
		{c.Check, c.Hint, c.Solution},
		{k.Back, m.status.KeyMap.Help, k.Quit, k.ForceQuit},
	}
}
