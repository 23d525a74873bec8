package shellpane

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	xansi "github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/ui/common"
)

// run feeds the pane its Term's messages until cond holds (or 5 s).
func run(t *testing.T, m Model, cmd tea.Cmd, cond func(Model) bool) (Model, tea.Cmd) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond(m) {
		if time.Now().After(deadline) || cmd == nil {
			t.Fatalf("condition not met; screen:\n%s", xansi.Strip(m.View()))
		}
		got := make(chan tea.Msg, 1)
		go func() { got <- cmd() }()
		select {
		case msg := <-got:
			m, cmd = m.Update(msg)
		case <-time.After(time.Until(deadline)):
			t.Fatalf("condition not met; screen:\n%s", xansi.Strip(m.View()))
		}
	}
	return m, cmd
}

func termWidth(t *Term) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.emu.Width()
}

func screen(m Model) string { return xansi.Strip(m.View()) }

// TestShellOnPty runs a real sh on the pane's pty: its colours reach the
// pane, typed keys reach it unchanged, the size is the pty's (stty size,
// TIOCGWINSZ), a resize reaches it, and its end closes the pane.
func TestShellOnPty(t *testing.T) {
	c := common.New(context.Background(), common.NewStyles(true, false))
	m := New(c).SetSize(40, 8)
	w, h := ScreenSize(40, 8, false)
	sh := exec.Command("sh", "-c", `printf '\033[31mred\033[0m\n'; stty size; read x; echo "got:$x"; read y; stty size; read z`)
	msg := Start(context.Background(), sh, w, h, false)()
	if msg.(StartedMsg).Err != nil {
		t.Fatal(msg.(StartedMsg).Err)
	}
	m, cmd := m.Update(msg)
	if !m.Open() || !m.Focused() {
		t.Fatal("a started shell opens the pane focused")
	}
	m, cmd = run(t, m, cmd, func(m Model) bool { return strings.Contains(screen(m), "7 40") })
	if !strings.Contains(m.View(), "\x1b[31m") && !strings.Contains(m.View(), "38;5;1m") && !strings.Contains(m.View(), ";31m") {
		t.Errorf("the shell's red is lost: %q", m.View())
	}
	for _, r := range "hi j" {
		m, _ = m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	m, _ = m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	m, cmd = run(t, m, cmd, func(m Model) bool { return strings.Contains(screen(m), "got:hi j") })
	m = m.SetSize(50, 10)
	// The resize is the pane's goroutine's: the emulator and the pty are
	// resized together under mu; wait for it before the shell looks.
	for end := time.Now().Add(5 * time.Second); termWidth(m.Term()) != 50; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the resize never reached the shell's pty")
		}
	}
	m, _ = m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	m, cmd = run(t, m, cmd, func(m Model) bool { return strings.Contains(screen(m), "9 50") })
	m, _ = m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	_, _ = run(t, m, cmd, func(m Model) bool { return !m.Open() })
}

// TestCloseEndsShell: closing the pane ends a shell that waits forever.
func TestCloseEndsShell(t *testing.T) {
	c := common.New(context.Background(), common.NewStyles(true, false))
	m := New(c).SetSize(40, 8)
	sh := exec.Command("sh", "-c", "sleep 1000")
	msg := Start(context.Background(), sh, 40, 7, false)()
	m, _ = m.Update(msg)
	term := m.Term()
	m, cmd := m.Close()
	if m.Open() || cmd == nil {
		t.Fatal("Close closes the pane and returns the Cmd that ends the shell")
	}
	cmd()
	select {
	case <-term.done:
	case <-time.After(3 * time.Second):
		t.Fatal("the shell outlived the pane")
	}
	if sh.ProcessState == nil {
		t.Fatal("the shell was not reaped")
	}
}

// TestFullScreenProgram: less draws on the alternate screen at the pane's
// size, takes its keys (G goes to the end), and q gives the shell's
// screen back.
func TestFullScreenProgram(t *testing.T) {
	if _, err := exec.LookPath("less"); err != nil {
		t.Skip("less is not installed")
	}
	var text strings.Builder
	for i := range 100 {
		fmt.Fprintf(&text, "line %03d\n", i)
	}
	c := common.New(context.Background(), common.NewStyles(true, false))
	m := New(c).SetSize(40, 12)
	w, h := ScreenSize(40, 12, false)
	sh := exec.Command("sh", "-c", `printf '%s' "$T" | less; echo less-done; read x`)
	sh.Env = append(os.Environ(), "T="+text.String(), "LESS=", "LESSHISTFILE=-")
	msg := Start(context.Background(), sh, w, h, false)()
	m, cmd := m.Update(msg)
	m, cmd = run(t, m, cmd, func(m Model) bool { return strings.Contains(screen(m), "line 009") })
	if !m.alt {
		t.Error("less is not on the alternate screen")
	}
	if strings.Contains(screen(m), "line 010") {
		t.Errorf("less drew past the pane's %d rows:\n%s", h, screen(m))
	}
	m, _ = m.Update(tea.KeyPressMsg{Code: 'G', Text: "G"})
	m, cmd = run(t, m, cmd, func(m Model) bool { return strings.Contains(screen(m), "line 099") })
	m, _ = m.Update(tea.KeyPressMsg{Code: 'q', Text: "q"})
	m, _ = run(t, m, cmd, func(m Model) bool { return strings.Contains(screen(m), "less-done") })
	if m.alt || strings.Contains(screen(m), "line 099") {
		t.Errorf("after q the shell's screen is not back:\n%s", screen(m))
	}
	m, _ = m.Close()
}
