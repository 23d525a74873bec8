package lesson

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/components/shellpane"
)

// withHostname is o with the sandbox's hostname row saying name.
func withHostname(o lessons.Observation, name string) lessons.Observation {
	o.Diffs = maps.Clone(o.Diffs)
	ds := slices.Clone(o.Diffs[sandbox.ViewUTS])
	for i := range ds {
		if ds[i].Key == "hostname" {
			ds[i].Sandbox = name
		}
	}
	o.Diffs[sandbox.ViewUTS] = ds
	return o
}

// TestFrameFollowsItsInputs: the page's frame is drawn from what it drew
// last wherever its inputs are the same, so every input that changes must
// show in the next frame: the shell's output (each keystroke's echo), a
// live refresh with a new hostname, the status line, the part, the size.
// A refresh with nothing new gives the same frame.
func TestFrameFollowsItsInputs(t *testing.T) {
	for _, sz := range sizes {
		m, msg, term := benchShell(t, sz.w, sz.h)
		screen := func() string { return ansi.Strip(m.View()) }
		first := m.View()
		if again := m.View(); again != first {
			t.Fatal("two frames with nothing between them differ")
		}
		term.Feed("echo typed-here")
		m, _ = m.Update(shellpane.OutputMsg{Term: term})
		if !strings.Contains(screen(), "echo typed-here") {
			t.Errorf("%dx%d: the shell's output is not in the frame:\n%s", sz.w, sz.h, screen())
		}
		term.Feed("\x1b[2K\rcleared")
		m, _ = m.Update(shellpane.OutputMsg{Term: term})
		if s := screen(); strings.Contains(s, "typed-here") || !strings.Contains(s, "cleared") {
			t.Errorf("%dx%d: the shell's erased line stays in the frame:\n%s", sz.w, sz.h, s)
		}
		msg.Live, msg.Gen = true, m.tickGen
		before := m.View()
		m, _ = m.Update(msg)
		if m.View() != before {
			t.Errorf("%dx%d: a refresh that observed nothing new changed the frame", sz.w, sz.h)
		}
		msg.Obs = withHostname(msg.Obs, "newname")
		m, _ = m.Update(msg)
		if !strings.Contains(screen(), "newname") {
			t.Errorf("%dx%d: the refreshed hostname is not in the frame:\n%s", sz.w, sz.h, screen())
		}
		m = m.SetStatus("a status to see", false)
		if !strings.Contains(screen(), "a status to see") {
			t.Errorf("%dx%d: the status line is not in the frame:\n%s", sz.w, sz.h, screen())
		}
		m, _ = m.move(true)
		if !strings.Contains(screen(), "[CHALLENGE]") {
			t.Errorf("%dx%d: the part bar did not move:\n%s", sz.w, sz.h, screen())
		}
		m = m.SetSize(sz.w-10, sz.h-2)
		if lines := strings.Split(screen(), "\n"); len(lines) != sz.h-2 {
			t.Errorf("%dx%d: resized to %dx%d, the frame has %d lines", sz.w, sz.h, sz.w-10, sz.h-2, len(lines))
		}
	}
}
