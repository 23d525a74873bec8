package lesson

import (
	"slices"

	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/class"
)

// What the page does for a class served by `nslab serve`: it reports what
// the learner does, and follows the instructor.

// LimitStatus is what a learner who tries to go past the instructor reads.
const LimitStatus = "following the instructor: you may look back, not ahead"

// SetReport sets where the page reports what the learner does: part
// entered, prediction answered, hint shown, challenge solved, solution
// shown (nil: nowhere). f is called from Update and must not block.
func (m Model) SetReport(f func(class.Event)) Model {
	m.report = f
	return m
}

func (m Model) emit(e class.Event) {
	if m.report != nil {
		e.Lesson = m.lesson.ID
		m.report(e)
	}
}

// SetLimit keeps the learner at or before part p ("" lifts the limit):
// the class follows the instructor, who is at p.
func (m Model) SetLimit(p lessons.Part) Model {
	m.limit = p
	return m
}

// atLimit reports whether the next part is past the limit.
func (m Model) atLimit() bool {
	if m.limit == "" {
		return false
	}
	ps := lessons.Parts()
	return slices.Index(ps, m.Part()) >= slices.Index(ps, m.limit)
}

// Goto moves to part p (the instructor's, in follow mode).
func (m Model) Goto(p lessons.Part) (Model, tea.Cmd) {
	if p == m.Part() {
		return m, nil
	}
	moved := false
	if err := guardMove(func() { moved = m.sess.Goto(p); m.parts = m.parts.SetIndex(m.sess.Index()) }); err != nil {
		return m.SetStatus(err.Error(), true), nil
	}
	if !moved {
		return m, nil
	}
	m.text = m.text.GotoTop()
	m.emit(class.Event{Kind: class.PartEntered, Part: m.Part()})
	return m.layout(), m.markPart()
}

// Leave asks the program to close the lesson (the instructor took the
// class to another one); the shell pane's shell is hung up.
func (m Model) Leave() (Model, tea.Cmd) {
	m.closing = true
	var cmd tea.Cmd
	if m.shell.Open() {
		m.shell, cmd = m.shell.Close()
	}
	return m, cmd
}
