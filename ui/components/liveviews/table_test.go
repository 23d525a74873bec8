package liveviews

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/common"
)

// TestCompactRows: differences first, long same and only-host lists
// counted, and every kind marked by a symbol as well as colour.
func TestCompactRows(t *testing.T) {
	var ds []sandbox.Delta
	ds = append(ds, sandbox.Delta{Key: "hostname", Host: "vm", Sandbox: "lab", Kind: sandbox.Changed})
	ds = append(ds, sandbox.Delta{Key: "/tmp/x", Sandbox: "tmpfs", Kind: sandbox.OnlySandbox})
	for i := 0; i < 300; i++ {
		ds = append(ds, sandbox.Delta{Key: fmt.Sprint(i + 10), Label: "proc", Host: fmt.Sprint(i + 10), Kind: sandbox.OnlyHost})
	}
	for i := 0; i < 2; i++ {
		ds = append(ds, sandbox.Delta{Key: fmt.Sprint("same", i), Host: "x", Sandbox: "x", Kind: sandbox.Same})
	}
	rows := compactRows(ds)
	if len(rows) != 5 {
		t.Fatalf("%d rows, want 5 (changed, only sandbox, 2 same, only-host count): %+v", len(rows), rows)
	}
	if rows[0].d.Kind != sandbox.Changed || rows[1].d.Kind != sandbox.OnlySandbox {
		t.Errorf("differences not first: %+v", rows[:2])
	}
	last := rows[4]
	if last.summary == "" || !strings.HasPrefix(last.summary, "300 only on HOST") {
		t.Errorf("only-host list not counted: %+v", last)
	}
	tl := newTableLayout(80, rows, false)
	st := common.NewStyles(true, true)
	for _, r := range rows {
		line := ansi.Strip(strings.Join(tl.render(st, r), "\n"))
		if !strings.HasPrefix(line, lessons.DeltaSymbol(r.d.Kind)+" ") {
			t.Errorf("row %q does not start with its symbol %q", line, lessons.DeltaSymbol(r.d.Kind))
		}
	}
	stacked := newTableLayout(50, rows, false)
	if !stacked.stacked {
		t.Fatal("50 cells should stack")
	}
	if got := strip(stacked.render(st, rows[0])); len(got) != 2 || !strings.Contains(got[0], "HOST vm") || !strings.Contains(got[1], "SBOX lab") {
		t.Errorf("stacked changed row: %q", got)
	}
}

func strip(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = ansi.Strip(l)
	}
	return out
}
