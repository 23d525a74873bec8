package headless

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/nslab/nslab/sandbox"
)

func TestRenderView(t *testing.T) {
	var ds []sandbox.Delta
	ds = append(ds, sandbox.Delta{Key: "1", Host: "1", Sandbox: "1", Kind: sandbox.Changed, Label: "agent"})
	ds = append(ds, sandbox.Delta{Key: "hostname", Host: "vm", Sandbox: "lab", Kind: sandbox.Changed})
	ds = append(ds, sandbox.Delta{Key: "/mnt", Sandbox: "tmpfs", Kind: sandbox.OnlySandbox})
	for i := 0; i < 20; i++ {
		ds = append(ds, sandbox.Delta{Key: fmt.Sprint(100 + i), Host: fmt.Sprint(100 + i), Kind: sandbox.OnlyHost, Label: "sh"})
	}
	ds = append(ds, sandbox.Delta{Key: "/usr", Host: "ext4", Sandbox: "ext4", Kind: sandbox.Same})
	got := renderView(sandbox.ViewPIDs, ds, 80, nil)
	for _, want := range []string{"HOST", "SANDBOX", "≠ hostname", "+ /mnt", "- … 20 processes only the host sees", "  /usr", "hostname differs (host vm, sandbox lab)", "/mnt only in the sandbox"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "- 100") {
		t.Errorf("only-host rows were listed, not counted:\n%s", got)
	}
	for _, line := range strings.Split(strings.TrimRight(got, "\n"), "\n") {
		if strings.Contains(line, "|") && len([]rune(line)) > 80 {
			t.Errorf("line wider than 80: %q", line)
		}
	}
	// Few only-host rows are listed.
	small := renderView(sandbox.ViewMount, ds[:5], 80, nil)
	if !strings.Contains(small, "- 100") {
		t.Errorf("a short only-host list was collapsed:\n%s", small)
	}
}

// TestWordsAgreeWithRows holds the "In words" line of every view to its
// rows, on tables built to hit each case, and shows CheckWords failing on
// words that leave rows out (finding 11: 81 processes only on the host,
// then "no differences").
func TestWordsAgreeWithRows(t *testing.T) {
	hostProcs := func(n int) []sandbox.Delta {
		var ds []sandbox.Delta
		for i := 0; i < n; i++ {
			ds = append(ds, sandbox.Delta{Key: fmt.Sprint(100 + i), Host: fmt.Sprint(100 + i), Kind: sandbox.OnlyHost, Label: "sh"})
		}
		return ds
	}
	same := sandbox.Delta{Key: "uts", Host: "1", Sandbox: "1", Kind: sandbox.Same}
	changed := sandbox.Delta{Key: "v1 memory", Host: "/a", Sandbox: "/", Kind: sandbox.Changed}
	many := []sandbox.Delta{same}
	for i := 0; i < 9; i++ {
		many = append(many, sandbox.Delta{Key: fmt.Sprintf("/m%d", i), Sandbox: "tmpfs", Kind: sandbox.OnlySandbox})
	}
	tables := map[string][]sandbox.Delta{
		"empty":                   nil,
		"all the same":            {same},
		"one changed":             {same, changed},
		"changed to empty":        {{Key: "domainname", Host: "x", Kind: sandbox.Changed}},
		"a few only on the host":  append([]sandbox.Delta{same}, hostProcs(3)...),
		"81 only on the host":     append([]sandbox.Delta{same}, hostProcs(81)...),
		"more than six named":     many,
		"all kinds, collapsed":    append(append([]sandbox.Delta{changed}, many...), hostProcs(20)...),
		"values with semicolons":  {{Key: "offsets", Host: "monotonic 0 0; boottime 0 0", Sandbox: "monotonic 86400 0; boottime 604800 0", Kind: sandbox.Changed}},
		"prefix key is not named": {{Key: "v1 cpu", Host: "/", Sandbox: "/", Kind: sandbox.Same}, {Key: "v1 cpu,cpuacct", Host: "/a", Sandbox: "/", Kind: sandbox.Changed}},
	}
	for name, ds := range tables {
		for _, v := range []sandbox.View{sandbox.ViewPIDs, sandbox.ViewCgrp} {
			_, onlyHost, _, _ := sandbox.Summarize(ds)
			words := inWords(v, ds, onlyHost > maxOnlyHostRows)
			if err := CheckWords(words, ds); err != nil {
				t.Errorf("%s (%s): %v", name, v, err)
			}
			if out := renderView(v, ds, 80, nil); !strings.Contains(out, "In words: "+words+"\n") {
				t.Errorf("%s (%s): the table does not print its words %q:\n%s", name, v, words, out)
			}
		}
	}
	// Words that disagree with their rows are caught.
	wrong := []struct {
		name, words string
		ds          []sandbox.Delta
	}{
		{"finding 11: collapsed only-host rows are not no differences", "no differences", append([]sandbox.Delta{same}, hostProcs(81)...)},
		{"a changed row left out", "no differences", []sandbox.Delta{same, changed}},
		{"a same row said to differ", "uts differs (host 1, sandbox 1)", []sandbox.Delta{same}},
		{"differences said where there are none", "and 1 more", []sandbox.Delta{same}},
		{"a changed row with the wrong values", "v1 memory differs (host /, sandbox /a)", []sandbox.Delta{changed}},
		{"a count too small", "1 processes only the host sees", hostProcs(20)},
		{"an only-host row called only-sandbox", "100 (sh) only in the sandbox", hostProcs(1)},
	}
	for _, w := range wrong {
		if err := CheckWords(w.words, w.ds); !errors.Is(err, ErrWords) {
			t.Errorf("%s: CheckWords(%q) = %v, want ErrWords", w.name, w.words, err)
		}
	}
}

// TestRenderViewJoiner: a view with a joiner is HOST | TARGET | JOINER,
// the joiner's value in each row by key (none where it has no row).
func TestRenderViewJoiner(t *testing.T) {
	ds := []sandbox.Delta{
		{Key: "uts", Host: "[4026531838]", Sandbox: "[4026532201]", Kind: sandbox.Changed},
		{Key: "pid", Host: "[4026531836]", Sandbox: "[4026532203]", Kind: sandbox.Changed},
		{Key: "ipc", Host: "[4026531839]", Sandbox: "[4026531839]", Kind: sandbox.Same},
	}
	joiner := map[string]string{"uts": "[4026532201]", "pid": "[4026531836]", "ipc": "[4026531839]"}
	got := renderView(sandbox.ViewIDs, ds, 80, joiner)
	// Each row's last two cells: the target's value, then the joiner's.
	cells := map[string][2]string{}
	for _, line := range strings.Split(got, "\n") {
		if f := strings.Split(line, "|"); len(f) == 3 {
			if key := strings.Fields(f[0]); len(key) >= 2 {
				cells[key[len(key)-2]] = [2]string{strings.TrimSpace(f[1]), strings.TrimSpace(f[2])}
			}
		}
		if strings.Contains(line, "|") && len([]rune(line)) > 80 {
			t.Errorf("line wider than 80: %q", line)
		}
	}
	if !strings.Contains(got, "| TARGET ") || !strings.Contains(got, "| JOINER") ||
		cells["uts"] != [2]string{"[4026532201]", "[4026532201]"} || cells["pid"] != [2]string{"[4026532203]", "[4026531836]"} {
		t.Errorf("target and joiner cells %q in:\n%s", cells, got)
	}
	if two := renderView(sandbox.ViewIDs, ds, 80, nil); strings.Contains(two, "JOINER") || !strings.Contains(two, "| SANDBOX") {
		t.Errorf("without a joiner the view has a third column:\n%s", two)
	}
	golden.RequireEqual(t, []byte(got))
}
