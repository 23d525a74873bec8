package lesson

import (
	"context"
	"errors"
	"maps"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/components/shellpane"
	"github.com/nslab/nslab/ui/internal/uitest"
)

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
		msg.Obs = uitest.WithHostname(msg.Obs, "newname")
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

// TestRefreshShowsWhatChanged: on the Observe part, a live refresh with
// nothing new changes nothing; one with a new fact, a new call in the
// trace, or after a failed observation is shown.
func TestRefreshShowsWhatChanged(t *testing.T) {
	m, msg := benchLesson(t, 120, 40)
	if m.Part() != lessons.PartObserve {
		t.Fatalf("at %s", m.Part())
	}
	screen := func() string { return ansi.Strip(m.View()) }
	msg.Live, msg.Gen = true, m.tickGen
	m, _ = m.Update(msg)
	before := m.View()
	m, _ = m.Update(msg)
	if m.View() != before {
		t.Error("a refresh with nothing new changed the frame")
	}
	fresh := msg
	fresh.Facts = append(slices.Clone(msg.Facts), lessons.Fact{Text: "a fact seen at last", OK: true})
	m, _ = m.Update(fresh)
	if !strings.Contains(screen(), "a fact seen at last") {
		t.Errorf("a new fact is not shown:\n%s", screen())
	}
	traced := fresh
	traced.Events = append(slices.Clone(msg.Events), sandbox.Event{Seq: 9, Syscall: "sethostname", Args: []string{`"traced-now"`, "10"}, PID: 4242, TID: 4242})
	m, _ = m.Update(traced)
	if !strings.Contains(screen(), "traced-now") {
		t.Errorf("a new call in the trace is not shown:\n%s", screen())
	}
	// A row more in a view: the views' area grows to show it.
	grown := traced
	grown.Obs.Diffs = maps.Clone(grown.Obs.Diffs)
	grown.Obs.Diffs[sandbox.ViewUTS] = append(slices.Clone(grown.Obs.Diffs[sandbox.ViewUTS]), sandbox.Delta{Key: "newrow", Host: "a", Sandbox: "b", Kind: sandbox.Changed})
	m, _ = m.Update(grown)
	if s := screen(); !strings.Contains(s, "newrow") || strings.Contains(s, "more: key") {
		t.Errorf("a new row is not shown:\n%s", s)
	}
	failed := traced
	failed.Err = errors.New("the agent did not answer")
	m, _ = m.Update(failed)
	if !strings.Contains(screen(), "the agent did not answer") {
		t.Fatalf("the failure is not shown:\n%s", screen())
	}
	m, _ = m.Update(traced)
	if strings.Contains(screen(), "the agent did not answer") {
		t.Errorf("the failure stays after a good observation like the one before it:\n%s", screen())
	}
}

// TestSettleLooksAfterCommands: the shell's output settling makes the
// page observe the sandbox when the learner ran something (Enter), not
// when the output only echoed a command line's characters.
func TestSettleLooksAfterCommands(t *testing.T) {
	m, _ := benchLesson(t, 120, 40)
	m, _ = m.move(true)
	pw, ph := shellpane.ScreenSize(m.paneSize())
	started := shellpane.Start(context.Background(), exec.Command("cat"), pw, ph, false)().(shellpane.StartedMsg)
	if started.Err != nil {
		t.Fatal(started.Err)
	}
	t.Cleanup(func() { _ = started.Term.Close() })
	m, _ = m.Update(started)
	if !m.ShellFocused() || m.observing {
		t.Fatalf("focused %v, observing %v", m.ShellFocused(), m.observing)
	}
	settled := shellpane.SettledMsg{Term: started.Term}
	m, _ = m.Update(tea.KeyPressMsg{Code: 'Q', Text: "Q"})
	m, _ = m.Update(settled)
	if m.observing {
		t.Error("an echoed character made the page observe")
	}
	m, _ = m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	m, _ = m.Update(settled)
	if !m.observing {
		t.Error("the output after Enter did not make the page observe")
	}
}

// TestShellOpensAtPaneSize: a shell started at the pane's size is not
// resized when its pane opens. A detour through another size (the pane's
// stale one, from before it opened) widens every line of the emulator's
// two screens, whose cells stay allocated after the layout cuts them back
// (and the shell sees two SIGWINCHes): opening would allocate more than
// those two screens' cells.
func TestShellOpensAtPaneSize(t *testing.T) {
	m, _ := benchLesson(t, 120, 40)
	m, _ = m.move(true)
	pw, ph := shellpane.ScreenSize(m.paneSize())
	term := shellpane.Fake(pw, ph, benchPrompt)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m, _ = m.Update(shellpane.StartedMsg{Term: term})
	runtime.ReadMemStats(&after)
	if !m.ShellOpen() {
		t.Fatal("the pane did not open")
	}
	screens := uint64(2 * pw * ph * int(unsafe.Sizeof(uv.Cell{})))
	got := after.TotalAlloc - before.TotalAlloc
	t.Logf("opening the pane allocated %d bytes", got)
	if got > screens {
		t.Errorf("opening the pane allocated %d bytes, more than the emulator's two %dx%d screens (%d): the shell was resized on the way", got, pw, ph, screens)
	}
}
