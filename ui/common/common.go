// Package common holds what every ui component and page shares: the
// Common (context, size, styles) each is built with, the styles and
// symbols, text measuring and wrapping, the Markdown renderer, and the
// screen id command results carry.
//
// It owns no state of its own: no package-level variable, nothing global
// about the terminal (several programs, one per SSH learner, share a
// process). It may use sandbox's data types (a delta's kind), never
// lessons or the engine, and it makes no syscall.
package common

import "context"

// Common is what a component or page is built with: the program's
// context, the area it draws in, and the program's styles.
type Common struct {
	Ctx           context.Context
	Width, Height int
	Styles        *Styles
	// Input is the program's input when it is shared with a full-screen
	// shell through a Handoff (a terminal that is not a file: SSH); nil
	// on a terminal file, whose reads bubbletea can cancel.
	Input *Handoff
	// Shells is the context the full-screen shell runs under (nil: Ctx):
	// it also ends when the class ends the learner's session, which the
	// program, waiting for the shell, cannot see.
	Shells context.Context
	// Window is the terminal's size when no file descriptor tells it
	// (SSH); nil on a terminal file.
	Window *Window
}

// New is a Common over ctx and st, of no size yet.
func New(ctx context.Context, st *Styles) Common {
	if ctx == nil {
		ctx = context.Background()
	}
	return Common{Ctx: ctx, Styles: st}
}

// SetSize is c with the area w×h.
func (c Common) SetSize(w, h int) Common {
	c.Width, c.Height = w, h
	return c
}

// Screen is embedded in every command result: the id of the screen that
// asked, so that a result arriving after the learner left is dropped.
type Screen struct{ ID int }

// ScreenID is the id of the screen that asked.
func (s Screen) ScreenID() int { return s.ID }

// ScreenMsg is a message that belongs to one screen.
type ScreenMsg interface{ ScreenID() int }

// ForOther reports whether msg belongs to a screen other than id.
func ForOther(msg any, id int) bool {
	s, ok := msg.(ScreenMsg)
	return ok && s.ScreenID() != id
}
