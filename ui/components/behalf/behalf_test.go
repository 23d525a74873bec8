package behalf

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/common"
)

const note = "the class server starts each of your sandboxes in new mnt, uts, ipc, user, pid, net, cgroup, time namespaces; root inside is uid 131072 outside, which no one else has"

func ops() []sandbox.HostOp {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return []sandbox.HostOp{
		{Time: at, Op: sandbox.HostOpIDMaps, Object: "/proc/4242/uid_map", Text: "wrote /proc/4242/uid_map and gid_map: ids 0-65535 inside your user namespace are 131072-196607 on the host, a range no one else has"},
		{Time: at, Op: sandbox.HostOpVeth, Object: "nslab4242", Text: "created the veth pair nslab4242 and eth0: nslab4242 on the host, with address 10.200.3.1/24 and up; its peer eth0 made directly in your network namespace net:[4026532331]"},
	}
}

func strip(lines []string) string { return ansi.Strip(strings.Join(lines, "\n")) }

// TestGolden: the short account in a 40-cell text column, before and
// after the server acted, and the whole account opened in 70x14.
func TestGolden(t *testing.T) {
	c := common.New(context.Background(), common.NewStyles(true, true))
	m := New(c).SetNote(note)
	before := strip(m.Lines(40))
	m = m.SetOps(ops())
	after := strip(m.Lines(40))
	open := m.SetFocusSize(70, 14).SetFocus(true)
	whole := strip(open.FocusedLines())
	for _, l := range strings.Split(before+"\n"+after, "\n") {
		if w := common.Width(l); w > 40 {
			t.Errorf("line %q is %d cells wide, more than 40", l, w)
		}
	}
	if n := len(open.FocusedLines()); n != 14 {
		t.Errorf("the open account has %d lines, want 14", n)
	}
	golden.RequireEqual(t, []byte(before+"\n--\n"+after+"\n--\n"+whole))
}

// TestOutsideAClass: without a note there is nothing to say, and the
// account does not open.
func TestOutsideAClass(t *testing.T) {
	c := common.New(context.Background(), common.NewStyles(true, true))
	m := New(c).SetOps(ops()).SetFocusSize(70, 14).SetFocus(true)
	if m.Active() || m.Focused() || m.Lines(40) != nil || m.View() != "" {
		t.Errorf("an account outside a class: active %v, focused %v, lines %q", m.Active(), m.Focused(), m.Lines(40))
	}
}
