package lesson

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/ui/components/shellpane"
)

// TestPromptAlwaysDrawn opens the shell pane on a real pty many times,
// the shell's first output (its "prompt") written before, while or after
// the page takes the StartedMsg, a resize and focus changes, with the CPU
// busy: whatever the order, the frame drawn after the last output the
// page took shows it, with no key typed. The shell exits after its
// prompt, so the end of the message chain (ExitedMsg, which Wait reports
// only after the output that came with it) is the point to look at: no
// assertion waits for a time.
func TestPromptAlwaysDrawn(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	stop := make(chan struct{})
	var burners sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		burners.Add(1)
		go func() {
			defer burners.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for i := 0; i < 1e5; i++ {
					_ = i * i
				}
			}
		}()
	}
	defer func() { close(stop); burners.Wait() }()

	delays := []string{"0", "0.001", "0.005", "0.02"}
	for i := range 64 {
		delay := delays[i%len(delays)]
		order := (i / len(delays)) % 8
		t.Run(fmt.Sprintf("%d/sleep%s/order%d", i, delay, order), func(t *testing.T) {
			promptOnce(t, delay, order)
		})
	}
}

func promptOnce(t *testing.T, delay string, order int) {
	m, obs := benchLesson(t, 120, 40)
	m, _ = m.move(true) // Experiment: the pane's part
	w, h := shellpane.ScreenSize(m.paneSize())
	sh := exec.Command("sh", "-c", "sleep "+delay+"; printf 'PROMPT-%s$ ' nslab")
	started := shellpane.Start(context.Background(), sh, w, h, false)()
	if err := started.(shellpane.StartedMsg).Err; err != nil {
		t.Fatal(err)
	}
	term := started.(shellpane.StartedMsg).Term
	defer func() { _ = term.Close() }()
	if order&1 != 0 { // the first output may come before the pane opens
		time.Sleep(2 * time.Millisecond)
	}
	m, cmd := m.Update(started)
	if order&2 != 0 { // a window resize, and back, while the pane opens
		m = m.SetSize(100, 30).SetSize(120, 40)
	}
	if order&4 != 0 { // focus to the lesson and back; a live refresh
		focus := tea.KeyPressMsg{Code: ']', Mod: tea.ModCtrl}
		m, _ = m.Update(focus)
		obs.Live, obs.Gen = true, m.tickGen
		m, _ = m.Update(obs)
		m, _ = m.Update(tea.KeyPressMsg{Code: 's', Text: "s"})
		_ = m.View()
	}
	last := ansi.Strip(m.View())
	for {
		if cmd == nil {
			t.Fatalf("the pane's message chain ended before the shell did; frame:\n%s", last)
		}
		got := make(chan tea.Msg, 1)
		go func() { got <- cmd() }()
		var msg tea.Msg
		select {
		case msg = <-got:
		case <-time.After(time.Minute): // a hang, not a slow machine
			t.Fatalf("no message from the pane for a minute; frame:\n%s", last)
		}
		if _, ok := msg.(shellpane.ExitedMsg); ok {
			break
		}
		m, cmd = m.Update(msg)
		last = ansi.Strip(m.View())
	}
	if !strings.Contains(last, "PROMPT-nslab$") {
		t.Fatalf("the shell's prompt is not in the frame after its last output:\n%s", last)
	}
}
