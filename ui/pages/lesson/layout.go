package lesson

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/ui/common"
)

// Layout. The body is the lesson text and the live area: side by side
// when wide, stacked when not; a focused view takes the whole body.

// wideMin is the narrowest screen that puts the text beside the views.
const wideMin = 110

// sideBySideMin is the narrowest live area that still has HOST and
// SANDBOX columns next to each other (liveviews stacks them below it).
const sideBySideMin = 64

type geometry struct {
	bodyH        int
	textW, textH int
	liveW, liveH int // the views area (under its title line)
	traceH       int
	wide         bool
}

func (m Model) geometry(need int) geometry { return m.geometryFor(need, m.shell.Open()) }

// geometryFor is the body's geometry with or without the shell pane.
func (m Model) geometryFor(need int, pane bool) geometry {
	w, h := m.common.Width, m.common.Height
	g := geometry{bodyH: max(h-2-m.status.Height(), 3)}
	g.wide = w >= wideMin
	if g.wide {
		g.textW, g.textH = textWidth(w, pane), g.bodyH
		g.liveW = w - g.textW - 3
		avail := g.bodyH - 2
		g.liveH = max(min(need, avail-3), 1)
		g.traceH = avail - g.liveH
		return g
	}
	g.textW, g.liveW = w, w
	avail := g.bodyH - 2
	textMin, traceMin := max(g.bodyH/4, 4), 3
	if g.bodyH < 18 {
		traceMin = 2
	}
	switch {
	case pane:
		// The shell and the views share the body.
		textMin = max(avail/3, 5)
	case m.Part() == lessons.PartObserve, m.Part() == lessons.PartExperiment:
		// The views are what these parts are about.
	default:
		// The text and its interaction come first; the views keep a
		// glimpse.
		textMin = max(textMin, avail-traceMin-max(avail/3, 3))
	}
	g.liveH = max(min(need, avail-textMin-traceMin), 1)
	g.traceH = traceMin
	g.textH = max(avail-g.liveH-g.traceH, 1)
	return g
}

// textWidth is the text column's width on a wide screen; the shell pane
// takes it, a little wider.
func textWidth(w int, pane bool) int {
	if pane {
		return w - 3 - sideBySideMin
	}
	return min(w*2/5, w-3-sideBySideMin)
}

// paneSize is the shell pane's area, and whether it has a note line.
func (m Model) paneSize() (int, int, bool) {
	w := m.common.Width
	note := m.shellNote() != ""
	if m.shell.Zoomed() {
		return w, max(m.common.Height-2-m.status.Height(), 3), note
	}
	// As if open: the first size a new shell gets.
	liveW := w
	if w >= wideMin {
		liveW = w - textWidth(w, true) - 3
	}
	g := m.geometryFor(m.views.NeedAt(liveW), true)
	return g.textW, g.textH, note
}

// peersNeed is the lines the peer diagram wants at width w, 0 for a
// lesson without one.
func (m Model) peersNeed(w int) int {
	if m.lesson.Logic.Peers == nil {
		return 0
	}
	return m.peers.Need(w)
}

// shellNote is the pane's one line about tracing ("" when nothing to say).
func (m Model) shellNote() string { return "" }

// layout sizes the components and refills the text.
func (m Model) layout() Model {
	w := m.common.Width
	if w == 0 {
		return m
	}
	m.status = m.status.SetSize(w, 2).SetKeys(helpFor(m))
	m.parts = m.parts.SetSize(w, 1)
	liveW := w
	if w >= wideMin {
		liveW = w - textWidth(w, m.shell.Open()) - 3
	}
	m.views = m.views.SetWaiting(m.waiting()).SetWide(w >= wideMin)
	g := m.geometry(m.views.NeedAt(liveW) + m.peersNeed(liveW))
	// The peer diagram, for lessons that have one, takes the top of the
	// live area, at most half of it.
	peersH := min(m.peersNeed(g.liveW), max((g.liveH+1)/2, 3))
	m.peers = m.peers.SetSize(g.liveW, peersH).SetFocusSize(w, g.bodyH)
	m.behalf = m.behalf.SetFocusSize(w, g.bodyH)
	m.views = m.views.SetSize(g.liveW, g.liveH+1-peersH).SetFocusSize(w, g.bodyH).Draw()
	m.log = m.log.SetSize(g.liveW, g.traceH+1).SetFocusSize(w, g.bodyH)
	m.text = m.text.SetSize(g.textW, g.textH)
	if m.shell.Open() {
		pw, ph, _ := m.paneSize()
		m.shell = m.shell.SetSize(pw, ph)
	}
	tw := max(g.textW-1, 10)
	m.prediction = m.prediction.SetSize(tw, 0)
	m.challenge = m.challenge.SetSize(tw, 0)
	if c := m.textFor(tw); c != m.textContent {
		m.textContent = c
		m.text = m.text.SetContent(c)
	}
	return m
}

// textFor is the current part's text and its interaction, at width w.
func (m *Model) textFor(w int) string {
	st := m.common.Styles
	sec := m.lesson.Section(m.Part())
	// The Markdown is rendered once per part and width: a live refresh
	// redraws only what follows it.
	if k := fmt.Sprint(m.Part(), w); k != m.textBodyKey {
		m.textBodyKey = k
		title := sec.Title
		if title == "" {
			title = m.Part().Title()
		}
		m.textBody = st.Heading.Render(common.Truncate(title, w))
		if body := strings.TrimSpace(sec.Body); body != "" {
			m.textBody += "\n" + common.Markdown(st, body, w)
		}
	}
	b := []string{m.textBody}
	if extra := m.partExtra(w); len(extra) > 0 {
		b = append(b, "")
		b = append(b, extra...)
	}
	return strings.Join(b, "\n")
}

// partExtra is what the learner can do in the current part.
func (m Model) partExtra(w int) []string {
	st := m.common.Styles
	var b []string
	fc := m.frame
	if fc == nil {
		fc = &frameCache{}
	}
	add := func(s string) { b = append(b, fc.wrapped(st, s, w, true)...) }
	styled := func(s string, style func(...string) string) {
		for _, l := range fc.wrapped(st, s, w, false) {
			b = append(b, style(l))
		}
	}
	switch m.Part() {
	case lessons.PartPredict:
		return m.prediction.Lines()
	case lessons.PartPerform:
		if m.lesson.Command != "" {
			add("The same with util-linux:")
			b = append(b, "  "+st.Code.Render(common.Truncate(m.lesson.Command, w-2)))
		}
		if len(m.lesson.Syscalls) > 0 {
			add("Syscalls: `" + strings.Join(m.lesson.Syscalls, "`, `") + "`")
		}
		b = append(b, "")
		switch {
		case m.lock != "":
			styled(common.SymLocked+" Locked on this machine: "+m.lock, st.Locked.Render)
			add("You can read on, but not perform it here.")
		case m.performing:
			add("… performing the syscalls")
		case m.performErr != "":
			styled(common.SymFail+" The syscalls failed: "+m.performErr, st.Error.Render)
		case m.performed:
			styled(common.SymOK+" Performed. The trace is in the syscall log; n goes on.", st.Done.Render)
		default:
			styled("Press enter to perform the syscalls for real.", st.Bold.Render)
		}
		if ls := m.behalf.Lines(w); len(ls) > 0 {
			b = append(append(b, ""), ls...)
		}
		b = append(b, m.prediction.VerdictLines()...)
	case lessons.PartObserve:
		if !m.views.Observed() {
			add(m.waiting())
			break
		}
		if len(m.facts) > 0 {
			styled("What the kernel shows:", st.Bold.Render)
			for _, f := range m.facts {
				s, style := common.SymOK+" "+f.Text, st.Done.Render
				if !f.OK {
					s, style = common.SymFail+" "+f.Text, st.Error.Render
				}
				if f.Got != "" {
					s += " (" + f.Got + ")"
				}
				styled(s, style)
			}
		}
		b = append(b, m.prediction.VerdictLines()...)
	case lessons.PartExperiment:
		if m.performed && m.performErr == "" {
			styled("Press s for a shell inside the sandbox; exit returns here.", st.Bold.Render)
		} else {
			add(m.waiting())
		}
		if ex := m.lesson.Experiments; len(ex) > 0 {
			add("Try:")
			for _, e := range ex {
				b = append(b, "  "+st.Code.Render(common.Truncate(e, w-2)))
			}
		}
	case lessons.PartChallenge:
		return m.challenge.Lines()
	case lessons.PartRecap:
		// The Recap's text has the one "Read:" line (the content lint
		// holds it to exactly one).
		if m.challenge.Solved() {
			styled(common.SymOK+" Lesson done.", st.Done.Render)
		}
		add("Press enter to go back to the lessons.")
	}
	return b
}

// waiting is what shows where the views will be.
func (m Model) waiting() string {
	switch {
	case m.lock != "":
		return common.SymLocked + " Locked on this machine: " + m.lock
	case m.performErr != "":
		return "The syscalls failed: " + m.performErr
	case m.performed || m.performing:
		return "… looking at both sides"
	}
	return "Nothing to see yet: go to Perform and press enter."
}

// View draws the page. It is called after every message, most of which
// change nothing on the screen: what it measures and joins is kept in the
// frame cache and reused while its inputs are the same strings.
func (m Model) View() string {
	st, w := m.common.Styles, m.common.Width
	fc := m.frame
	if fc == nil {
		fc = &frameCache{}
	}
	g := m.geometry(m.views.Need())
	// Header: the lesson and the part bar.
	state := ""
	switch {
	case m.lock != "":
		state = st.Locked.Render(common.SymLocked + " locked")
	case m.performing:
		state = st.Warn.Render("… performing")
	case m.performErr != "":
		state = st.Error.Render(common.SymFail + " failed")
	case m.performed:
		state = st.Done.Render("● sandbox live")
	}
	if fc.headState != state || fc.headW != w || fc.headStyles != st || fc.head == "" {
		title := st.Title.Render("nslab") + st.Subtle.Render(" › ") + st.Bold.Render(fmt.Sprintf("%02d %s", m.lesson.Number, m.lesson.Title))
		fc.head, fc.headState, fc.headW, fc.headStyles = common.JoinEnds(common.Truncate(title, w-16), state, w), state, w, st
	}
	out := []string{fc.head, m.parts.View()}

	var body []string
	switch {
	case m.log.Focused():
		body = m.log.FocusedLines()
	case m.peers.Focused():
		body = m.peers.FocusedLines()
	case m.behalf.Focused():
		body = m.behalf.FocusedLines()
	case m.shell.Zoomed():
		body = m.shell.Lines()
	case m.views.Focus() > 0:
		body = m.views.FocusedLines()
	default:
		text := m.text.Lines()
		if m.shell.Open() {
			text = m.shell.Lines()
		}
		live := append(append(append([]string(nil), m.peers.Lines()...), m.views.Lines()...), m.log.Lines()...)
		if g.wide {
			sep := st.Rule.Render("│")
			for i := 0; i < g.bodyH; i++ {
				l, r := "", ""
				if i < len(text) {
					l = text[i]
				}
				if i < len(live) {
					r = live[i]
				}
				body = append(body, fc.row(i, l, r, sep, g.textW))
			}
		} else {
			body = append(body, text...)
			for len(body) < g.textH {
				body = append(body, "")
			}
			body = append(body, live...)
		}
	}
	for len(body) < g.bodyH {
		body = append(body, "")
	}
	out = append(out, body[:g.bodyH]...)
	out = append(out, m.status.View())
	return fc.join(out)
}

// frameCache is what View drew last: the header, each row of the wide
// body, and the whole frame. It is shared by the copies of a page (a
// value that bubbletea copies on every message): every entry is keyed by
// all the inputs it was drawn from, so a copy with other inputs draws
// anew rather than reusing another's.
type frameCache struct {
	head, headState string
	headW           int
	headStyles      *common.Styles
	rows            []fitRow
	lines           []string // the frame's lines
	joined          string   // and joined
	// wraps is the part's sentences as wrapped (common.Inline or
	// WrapPlain): a live refresh lays the text out again, and most of it
	// is the same sentences at the same width.
	wraps map[wrapKey][]string
}

type wrapKey struct {
	s      string
	w      int
	inline bool // common.Inline (Markdown), else WrapPlain
	st     *common.Styles
}

// maxWraps bounds wraps: a fact's observed value can differ at every
// refresh, and a page stays open for hours.
const maxWraps = 256

// wrapped is s wrapped to w, as Inline (inline set) or WrapPlain would.
// The caller may append to the result, not change it.
func (fc *frameCache) wrapped(st *common.Styles, s string, w int, inline bool) []string {
	k := wrapKey{s: s, w: w, inline: inline, st: st}
	if l, ok := fc.wraps[k]; ok {
		return l
	}
	var l []string
	if inline {
		l = common.Inline(st, s, w)
	} else {
		l = common.WrapPlain(s, w)
	}
	l = slices.Clip(l)
	if fc.wraps == nil || len(fc.wraps) >= maxWraps {
		fc.wraps = map[wrapKey][]string{}
	}
	fc.wraps[k] = l
	return l
}

// fitRow is one row of the wide body: the text column's line l cut and
// padded to w, the separator, the live column's line r.
type fitRow struct {
	l, r, sep string
	w         int
	out       string
}

// row is a row of the wide body, measured only when its lines changed.
func (fc *frameCache) row(i int, l, r, sep string, w int) string {
	if i >= len(fc.rows) {
		fc.rows = append(fc.rows, make([]fitRow, i+1-len(fc.rows))...)
	}
	c := &fc.rows[i]
	if c.out == "" || c.l != l || c.r != r || c.sep != sep || c.w != w {
		*c = fitRow{l: l, r: r, sep: sep, w: w, out: common.Pad(common.Truncate(l, w), w) + " " + sep + " " + r}
	}
	return c.out
}

// join is the frame's lines joined: the same string as the last frame's
// when no line changed, which the renderer compares at once.
func (fc *frameCache) join(lines []string) string {
	if !slices.Equal(lines, fc.lines) || fc.joined == "" {
		fc.lines, fc.joined = lines, strings.Join(lines, "\n")
	}
	return fc.joined
}
