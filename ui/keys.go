package ui

import "charm.land/bubbles/v2/key"

// HomeKeyMap is the home screen's keys.
type HomeKeyMap struct {
	Up, Down, Open, Help, Quit, ForceQuit key.Binding
}

// DefaultHomeKeyMap is the home screen's default keys.
func DefaultHomeKeyMap() HomeKeyMap {
	return HomeKeyMap{
		Up:        key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:      key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Open:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:      key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		ForceQuit: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	}
}

// ShortHelp implements help.KeyMap.
func (k HomeKeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Open, k.Help, k.Quit}
}

// FullHelp implements help.KeyMap.
func (k HomeKeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.Open}, {k.Help, k.Quit, k.ForceQuit}}
}

// LessonKeyMap is the lesson screen's keys.
type LessonKeyMap struct {
	Up, Down, PageUp, PageDown key.Binding
	Next, Prev                 key.Binding
	Enter                      key.Binding // pick the choice, perform, finish
	Choose                     key.Binding // 1-9: a choice (predict) or a view (elsewhere)
	Focus, FocusBack           key.Binding // tab / shift+tab: cycle the views
	Refresh                    key.Binding
	Shell                      key.Binding
	Check, Hint, Solution      key.Binding
	Yes, No                    key.Binding
	Back, Help, Quit           key.Binding
	ForceQuit                  key.Binding
}

// DefaultLessonKeyMap is the lesson screen's default keys.
func DefaultLessonKeyMap() LessonKeyMap {
	return LessonKeyMap{
		Up:        key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:      key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:    key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup", "page up")),
		PageDown:  key.NewBinding(key.WithKeys("pgdown", "space", "f"), key.WithHelp("pgdn", "page down")),
		Next:      key.NewBinding(key.WithKeys("n", "right"), key.WithHelp("n/→", "next part")),
		Prev:      key.NewBinding(key.WithKeys("p", "left"), key.WithHelp("p/←", "prev part")),
		Enter:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "do it")),
		Choose:    key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6", "7", "8", "9"), key.WithHelp("1-9", "choose / focus view")),
		Focus:     key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "views")),
		FocusBack: key.NewBinding(key.WithKeys("shift+tab", "0"), key.WithHelp("0", "all views")),
		Refresh:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
		Shell:     key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "shell inside")),
		Check:     key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "check challenge")),
		Hint:      key.NewBinding(key.WithKeys("h"), key.WithHelp("h", "hint")),
		Solution:  key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "solution")),
		Yes:       key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes")),
		No:        key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n", "no")),
		Back:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:      key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "home")),
		ForceQuit: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	}
}

// ShortHelp implements help.KeyMap.
func (k LessonKeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Next, k.Prev, k.Enter, k.Shell, k.Focus, k.Help, k.Quit}
}

// FullHelp implements help.KeyMap.
func (k LessonKeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Next, k.Prev, k.Enter, k.Up, k.Down, k.PageDown},
		{k.Choose, k.Focus, k.FocusBack, k.Refresh, k.Shell},
		{k.Check, k.Hint, k.Solution},
		{k.Back, k.Help, k.Quit, k.ForceQuit},
	}
}

// confirmKeys is the help shown while a yes/no question is open.
type confirmKeys struct{ k LessonKeyMap }

func (c confirmKeys) ShortHelp() []key.Binding  { return []key.Binding{c.k.Yes, c.k.No} }
func (c confirmKeys) FullHelp() [][]key.Binding { return [][]key.Binding{c.ShortHelp()} }
