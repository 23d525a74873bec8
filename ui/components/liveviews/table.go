package liveviews

import (
	"fmt"
	"strings"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/components/nstree"
)

// The tables: pure rendering of an observation's deltas, tested on
// fixtures.

// sideBySideMin is the narrowest area that still fits HOST and SANDBOX
// columns next to each other; below it each row stacks its two values.
const sideBySideMin = 64

// Collapsing in the all-views area: lists of rows equal on both sides, or
// only on the host, longer than this are shown as a count.
const (
	collapseSame     = 4
	collapseOnlyHost = 3
)

// Title names a view for people.
func Title(v sandbox.View) string {
	switch v {
	case sandbox.ViewIDs:
		return "namespaces"
	case sandbox.ViewUTS:
		return "hostname"
	case sandbox.ViewPIDs:
		return "processes"
	case sandbox.ViewMount:
		return "mounts"
	case sandbox.ViewNet:
		return "network"
	case sandbox.ViewTree:
		return "namespace tree"
	}
	return string(v)
}

// observedViews lists the views an observation compared, in display order.
func observedViews(o *lessons.Observation) []sandbox.View {
	if o == nil {
		return nil
	}
	var out []sandbox.View
	for _, v := range sandbox.AllViews() {
		if _, ok := o.Diffs[v]; ok {
			out = append(out, v)
		}
	}
	return out
}

// lessonViews lists the views a lesson will show before any observation.
func lessonViews(views []sandbox.View) []sandbox.View {
	want := map[sandbox.View]bool{sandbox.ViewIDs: true}
	for _, v := range views {
		want[v] = true
	}
	var out []sandbox.View
	for _, v := range sandbox.AllViews() {
		if want[v] {
			out = append(out, v)
		}
	}
	return out
}

// vrow is one line of a view's table before layout: a delta, or a summary.
type vrow struct {
	d       sandbox.Delta
	summary string // when set, the row is this text (with d.Kind's symbol)
	joiner  string // the joiner's value, in a lesson with a joiner
}

// compactRows picks the rows of a view shown when every view shares the
// area: what differs first, then what is the same (counted when many),
// then what only the host has (counted when many: a host has hundreds of
// processes the sandbox never sees).
func compactRows(ds []sandbox.Delta) []vrow {
	nSame, nHost := 0, 0
	for i := range ds {
		switch ds[i].Kind {
		case sandbox.Same:
			nSame++
		case sandbox.OnlyHost:
			nHost++
		}
	}
	out := make([]vrow, 0, len(ds)-nSame-nHost+min(nSame, collapseSame+1)+min(nHost, collapseOnlyHost+1))
	for i := range ds {
		if k := ds[i].Kind; k != sandbox.Same && k != sandbox.OnlyHost {
			out = append(out, vrow{d: ds[i]})
		}
	}
	group := func(kind sandbox.DeltaKind, n, limit int, what string) {
		if n == 0 {
			return
		}
		if n > limit {
			out = append(out, vrow{d: sandbox.Delta{Kind: kind}, summary: fmt.Sprintf("%d %s: %s", n, what, keyList(ds, kind))})
			return
		}
		for i := range ds {
			if ds[i].Kind == kind {
				out = append(out, vrow{d: ds[i]})
			}
		}
	}
	group(sandbox.Same, nSame, collapseSame, "more the same on both sides")
	group(sandbox.OnlyHost, nHost, collapseOnlyHost, "only on HOST")
	return out
}

// compacted is an observation's compact rows, view by view, computed once
// per observation.
type compacted struct {
	views  []sandbox.View
	rows   [][]vrow
	joiner bool // a third column: the lesson's joiner
}

func compactAll(o *lessons.Observation) compacted {
	var c compacted
	c.views = observedViews(o)
	c.rows = make([][]vrow, len(c.views))
	c.joiner = o != nil && o.Joiner != nil
	for i, v := range c.views {
		c.rows[i] = withJoiner(o, v, compactRows(o.Diffs[v]))
	}
	return c
}

// withJoiner fills in the joiner's column of a view's rows, where the
// joiner was observed in that view.
func withJoiner(o *lessons.Observation, v sandbox.View, rows []vrow) []vrow {
	col, ok := o.JoinerColumn(v)
	if !ok {
		return rows
	}
	for i := range rows {
		if rows[i].summary == "" {
			rows[i].joiner = col[rows[i].d.Key]
		}
	}
	return rows
}

// fullRows is every row of a view, for the focused view.
func fullRows(ds []sandbox.Delta) []vrow {
	out := make([]vrow, len(ds))
	for i, d := range ds {
		out[i] = vrow{d: d}
	}
	return out
}

// keyList names the first few rows of a kind, for a summary line.
func keyList(ds []sandbox.Delta, kind sandbox.DeltaKind) string {
	const shown = 6
	var names []string
	for i := range ds {
		if ds[i].Kind != kind {
			continue
		}
		if len(names) == shown {
			names = append(names, "…")
			break
		}
		names = append(names, rowKey(ds[i]))
	}
	return strings.Join(names, " ")
}

// rowKey is what the key column shows: the label when the key alone is a
// number (a process's command), else the key.
func rowKey(d sandbox.Delta) string {
	if d.Label != "" {
		return d.Label
	}
	return d.Key
}

// viewCounts is a view's tab label suffix: how many rows differ.
func viewCounts(ds []sandbox.Delta) string {
	_, h, s, c := sandbox.Summarize(ds)
	var parts []string
	if c > 0 {
		parts = append(parts, fmt.Sprintf("%s%d", common.SymChanged, c))
	}
	if s > 0 {
		parts = append(parts, fmt.Sprintf("%s%d", common.SymOnlySB, s))
	}
	if h > 0 {
		parts = append(parts, fmt.Sprintf("%s%d", common.SymOnlyHost, h))
	}
	return strings.Join(parts, " ")
}

// tableLayout is the column widths of a view table.
type tableLayout struct {
	width, key, val int
	stacked         bool
	joiner          bool // three sides: HOST, TARGET and JOINER
}

func newTableLayout(width int, rows []vrow, joiner bool) tableLayout {
	t := tableLayout{width: width, stacked: width < sideBySideMin, joiner: joiner}
	longest := 3
	for _, r := range rows {
		if r.summary == "" {
			if n := len(rowKey(r.d)); n > longest {
				longest = n
			}
		}
	}
	t.key = min(longest, max(width/5, 10))
	switch {
	case t.stacked:
		t.val = width - 2 - t.key - 1
	case joiner:
		// "m key │ host │ target │ joiner"
		t.val = (width - 2 - t.key - 9) / 3
	default:
		// "m key │ host │ sandbox"
		t.val = (width - 2 - t.key - 6) / 2
	}
	return t
}

// header is the HOST / SANDBOX column header line.
// label goes in the key column's place.
func (t tableLayout) header(st *common.Styles, label string) string {
	if t.joiner {
		if t.stacked {
			return st.Subtle.Render(label+" ") + st.ColHeader.Render("HOST") + st.Subtle.Render(", ") + st.ColHeader.Render("TARGET") + st.Subtle.Render(", ") + st.ColHeader.Render("JOINER")
		}
		return st.Subtle.Render(common.Pad(common.Truncate(label, 2+t.key), 2+t.key)) + st.Rule.Render(" │ ") + common.Pad(st.ColHeader.Render("HOST"), t.val) + st.Rule.Render(" │ ") + common.Pad(st.ColHeader.Render("TARGET"), t.val) + st.Rule.Render(" │ ") + st.ColHeader.Render("JOINER")
	}
	if t.stacked {
		return st.Subtle.Render(label+" ") + st.ColHeader.Render("HOST") + st.Subtle.Render(" then ") + st.ColHeader.Render("SANDBOX")
	}
	return st.Subtle.Render(common.Pad(common.Truncate(label, 2+t.key), 2+t.key)) + st.Rule.Render(" │ ") + common.Pad(st.ColHeader.Render("HOST"), t.val) + st.Rule.Render(" │ ") + st.ColHeader.Render("SANDBOX")
}

// lines is how many lines render draws for r.
func (t tableLayout) lines(r vrow) int {
	n := 1
	if t.stacked && r.summary == "" && r.d.Kind == sandbox.Changed {
		n = 2
	}
	if t.stacked && r.joiner != "" {
		n++
	}
	return n
}

// render draws one row; stacked rows may take two lines.
func (t tableLayout) render(st *common.Styles, r vrow) []string {
	sym := st.Delta(r.d.Kind, lessons.DeltaSymbol(r.d.Kind))
	if r.summary != "" {
		return []string{sym + " " + st.Subtle.Render(common.Truncate(r.summary, t.width-2))}
	}
	key := common.Pad(common.Truncate(rowKey(r.d), t.key), t.key)
	h, s := r.d.Host, r.d.Sandbox
	if t.stacked && r.joiner != "" {
		j := r.joiner
		r.joiner = ""
		return append(t.render(st, r), strings.Repeat(" ", 2+t.key)+" "+st.Subtle.Render("JOIN ")+common.Truncate(j, t.val-5))
	}
	if t.stacked {
		switch r.d.Kind {
		case sandbox.OnlyHost:
			return []string{sym + " " + key + " " + st.Subtle.Render("HOST ") + common.Truncate(h, t.val-5)}
		case sandbox.OnlySandbox:
			return []string{sym + " " + key + " " + st.Subtle.Render("SBOX ") + st.Delta(r.d.Kind, common.Truncate(s, t.val-5))}
		case sandbox.Same:
			return []string{sym + " " + key + " " + st.Same.Render(common.Truncate(h, t.val))}
		}
		return []string{
			sym + " " + key + " " + st.Subtle.Render("HOST ") + common.Truncate(h, t.val-5),
			strings.Repeat(" ", 2+t.key) + " " + st.Subtle.Render("SBOX ") + st.Delta(r.d.Kind, common.Truncate(s, t.val-5)),
		}
	}
	hv := common.Truncate(h, t.val)
	sv := common.Truncate(s, t.val)
	switch r.d.Kind {
	case sandbox.Same:
		hv, sv = st.Same.Render(hv), st.Same.Render(sv)
	case sandbox.Changed, sandbox.OnlySandbox:
		sv = st.Delta(r.d.Kind, sv)
	case sandbox.OnlyHost:
		hv = st.Delta(r.d.Kind, hv)
	}
	if t.joiner {
		return []string{sym + " " + key + st.Rule.Render(" │ ") + common.Pad(hv, t.val) + st.Rule.Render(" │ ") + common.Pad(sv, t.val) + st.Rule.Render(" │ ") + common.Truncate(r.joiner, t.val)}
	}
	return []string{sym + " " + key + st.Rule.Render(" │ ") + common.Pad(hv, t.val) + st.Rule.Render(" │ ") + sv}
}

// allViews draws every view of the observation in height lines
// (the column header is the caller's): a title per view, then its compact
// rows, shared out fairly. A title says how many rows did not fit.
//
// prio lists the views that get rows first (the lesson's own); the others
// follow. Differences come before sameness across all views.
func allViews(st *common.Styles, o *lessons.Observation, c compacted, prio []sandbox.View, t tableLayout, height int) []string {
	views, rows := c.views, c.rows
	if len(views) == 0 || height < 1 {
		return nil
	}
	if len(views) > height {
		views = views[:height]
	}
	width := t.width
	cost := t.lines
	avail := height - len(views)
	// Round robin: every view gets a row before any gets two, the
	// lesson's views first.
	order := make([]int, 0, len(views))
	taken := make([]bool, len(views))
	for _, p := range prio {
		for i, v := range views {
			if v == p && !taken[i] {
				order, taken[i] = append(order, i), true
			}
		}
	}
	for i := range views {
		if !taken[i] {
			order = append(order, i)
		}
	}
	// Two rounds: first only rows that differ (compactRows puts them
	// first in each view), so that no "the same" row takes the place of a
	// difference in another view; then the rest.
	alloc := make([]int, len(views))
	for _, differing := range []bool{true, false} {
		for progress := true; progress && avail > 0; {
			progress = false
			for _, i := range order {
				if alloc[i] >= len(rows[i]) {
					continue
				}
				r := rows[i][alloc[i]]
				if differing && r.d.Kind == sandbox.Same {
					continue
				}
				if c := cost(r); c <= avail {
					alloc[i]++
					avail -= c
					progress = true
				}
			}
		}
	}
	var out []string
	for i, v := range views {
		ds := o.Diffs[v]
		title := fmt.Sprintf("%d %s", i+1, Title(v))
		if c := viewCounts(ds); c != "" {
			title += "  " + c
		} else {
			title += fmt.Sprintf("  %s all %d the same", common.SymSame, len(ds))
		}
		if hidden := len(rows[i]) - alloc[i]; hidden > 0 && alloc[i] < len(rows[i]) {
			title += fmt.Sprintf("  (+%d more: key %d)", hidden, i+1)
		}
		out = append(out, st.Heading.Render(common.Truncate(title, width)))
		for _, r := range rows[i][:alloc[i]] {
			out = append(out, t.render(st, r)...)
		}
	}
	return out
}

// viewsTable is the column layout shared by every view of the all-views
// area, so that their columns line up.
func viewsTable(c compacted, width int) tableLayout {
	var all []vrow
	for _, rs := range c.rows {
		all = append(all, rs...)
	}
	return newTableLayout(width, all, c.joiner)
}

// focusedRows draws every row of one view, for the scrollable full
// view.
func focusedRows(st *common.Styles, o *lessons.Observation, v sandbox.View, width int) []string {
	if o == nil {
		return nil
	}
	if v == sandbox.ViewTree && o.Sandbox.Tree != nil {
		// Focused, the tree is drawn as a tree: the sandbox's side holds
		// the host's part of it too (its ancestors).
		return nstree.Lines(st, o.Sandbox.Tree, width)
	}
	ds := o.Diffs[v]
	rows := withJoiner(o, v, fullRows(ds))
	t := newTableLayout(width, rows, o.Joiner != nil)
	out := []string{common.Truncate(t.header(st, ""), width)}
	same, h, s, c := sandbox.Summarize(ds)
	out = append(out, st.Subtle.Render(common.Truncate(fmt.Sprintf("%d rows: %d differ (%s), %d only sandbox (%s), %d only host (%s), %d same (%s)", len(ds), c, common.SymChanged, s, common.SymOnlySB, h, common.SymOnlyHost, same, common.SymSame), width)))
	for _, r := range rows {
		out = append(out, t.render(st, r)...)
	}
	if len(ds) == 0 {
		out = append(out, st.Subtle.Render("(nothing to compare)"))
	}
	return out
}
