package headless

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// Collapse thresholds: beyond these, rows that say little are counted
// instead of listed (the host's hundreds of processes, its mount table).
const (
	maxOnlyHostRows = 8
	maxSameRows     = 12
)

// printer writes plain text or JSON lines; trace events arrive from another
// goroutine, so every write holds mu.
type printer struct {
	mu    sync.Mutex
	w     io.Writer
	json  bool
	width int
	err   error // first write error
}

func (p *printer) text(format string, args ...any) {
	if p.json {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := fmt.Fprintf(p.w, format, args...); err != nil && p.err == nil {
		p.err = err
	}
}

func (p *printer) obj(typ string, fields map[string]any) {
	if !p.json {
		return
	}
	m := map[string]any{"type": typ}
	for k, v := range fields {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		b, _ = json.Marshal(map[string]any{"type": "error", "error": err.Error()})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.w.Write(append(b, '\n')); err != nil && p.err == nil {
		p.err = err
	}
}

// confinement says how the class server confines the learner (nothing
// on an ordinary engine: note is "").
func (p *printer) confinement(note string) {
	if note == "" {
		return
	}
	p.text("\nIn this class: %s.\n", note)
	p.obj("confinement", map[string]any{"note": note})
}

// onBehalf lists what the class server did on the host for the lesson,
// as the engine recorded it.
func (p *printer) onBehalf(ops []sandbox.HostOp) {
	p.text("\nOn your behalf, the class server (root on this machine):\n")
	if len(ops) == 0 {
		p.text("  nothing outside your sandbox\n")
	}
	for _, op := range ops {
		p.text("  • %s\n", op.Text)
	}
	p.obj("on_behalf", map[string]any{"ops": ops})
}

// event prints one trace event as it happens.
func (p *printer) event(e sandbox.Event) {
	if p.json {
		p.obj("event", map[string]any{"event": e, "text": e.String(), "detail": e.Detail()})
		return
	}
	line := "  " + e.Who() + " " + e.String()
	if d := e.Detail(); d != "" {
		line += "   " + d
	}
	if e.Note != "" {
		line += "\n           # " + plainCode(e.Note)
	}
	p.text("%s\n", line)
}

// observation prints every view of the lesson side by side.
func (p *printer) observation(l lessons.Lesson, o lessons.Observation) {
	for _, v := range l.Views() {
		ds := o.Diffs[v]
		same, onlyHost, onlySB, changed := sandbox.Summarize(ds)
		// The words are those of the plain table, whose only-host rows
		// collapse past maxOnlyHostRows.
		obj := map[string]any{"view": v, "rows": ds, "words": inWords(v, ds, onlyHost > maxOnlyHostRows),
			"same": same, "only_host": onlyHost, "only_sandbox": onlySB, "changed": changed}
		joiner, _ := o.JoinerColumn(v)
		if joiner != nil {
			obj["joiner"] = joiner // row key → the joiner's value
		}
		p.obj("observation", obj)
		if p.json {
			continue
		}
		p.text("\n%s", renderView(v, ds, p.width, joiner))
	}
	if len(o.Extra) > 0 {
		p.obj("extra", map[string]any{"extra": o.Extra})
	}
}

// renderView renders one view as a HOST | SANDBOX table with markers, and
// the differences in words below it. With a joiner column (joiner not nil,
// by row key) it is HOST | TARGET | JOINER.
func renderView(v sandbox.View, ds []sandbox.Delta, width int, joiner map[string]string) string {
	var b strings.Builder
	same, onlyHost, onlySB, changed := sandbox.Summarize(ds)
	fmt.Fprintf(&b, "[%s]  %d same, %d changed, %d only in the sandbox, %d only on the host\n", v, same, changed, onlySB, onlyHost)
	keyW := 18
	for _, d := range ds {
		keyW = max(keyW, min(30, utf8.RuneCountInString(rowKey(d))))
	}
	collapseHost := onlyHost > maxOnlyHostRows
	collapseSame := same > maxSameRows
	colW := max(12, (width-keyW-7)/2)
	head := pad("HOST", colW) + " | SANDBOX"
	cells := func(d sandbox.Delta) string { return pad(d.Host, colW) + " | " + cut(d.Sandbox, colW) }
	if joiner != nil {
		colW = max(12, (width-keyW-10)/3)
		head = pad("HOST", colW) + " | " + pad("TARGET", colW) + " | JOINER"
		cells = func(d sandbox.Delta) string {
			return pad(d.Host, colW) + " | " + pad(d.Sandbox, colW) + " | " + cut(joiner[d.Key], colW)
		}
	}
	fmt.Fprintf(&b, "  %s %s\n", pad("", keyW), head)
	for _, d := range ds {
		if (collapseHost && d.Kind == sandbox.OnlyHost) || (collapseSame && d.Kind == sandbox.Same) {
			continue
		}
		fmt.Fprintf(&b, "%s %s %s\n", marker(d.Kind), pad(rowKey(d), keyW), cells(d))
	}
	if collapseSame {
		fmt.Fprintf(&b, "  … %d rows the same on both sides\n", same)
	}
	if collapseHost {
		fmt.Fprintf(&b, "%s … %d %s only the host sees\n", lessons.DeltaSymbol(sandbox.OnlyHost), onlyHost, hostRowsWord(v))
	}
	fmt.Fprintf(&b, "  In words: %s\n", inWords(v, ds, collapseHost))
	return b.String()
}

// inWords says what differs: the first few rows by name, then how many
// more; only-host rows the table collapsed are counted, never left out (a
// view with only those differences is not "no differences"). CheckWords
// holds it to the rows.
func inWords(v sandbox.View, ds []sandbox.Delta, collapseHost bool) string {
	var out []string
	n, hidden := 0, 0
	for _, d := range ds {
		var s string
		switch d.Kind {
		case sandbox.Changed:
			s = fmt.Sprintf("%s differs (host %s, sandbox %s)", rowKey(d), quoteEmpty(d.Host), quoteEmpty(d.Sandbox))
		case sandbox.OnlySandbox:
			s = fmt.Sprintf("%s only in the sandbox", rowKey(d))
		case sandbox.OnlyHost:
			if collapseHost {
				hidden++
				continue
			}
			s = fmt.Sprintf("%s only on the host", rowKey(d))
		default:
			continue
		}
		n++
		if len(out) < 6 {
			out = append(out, s)
		}
	}
	if n > len(out) {
		out = append(out, fmt.Sprintf("and %d more", n-len(out)))
	}
	if hidden > 0 {
		out = append(out, fmt.Sprintf("%d %s only the host sees", hidden, hostRowsWord(v)))
	}
	if len(out) == 0 {
		return noDifferences
	}
	return strings.Join(out, "; ")
}

// noDifferences is the words of a view whose rows are all the same.
const noDifferences = "no differences"

// hostRowsWord names what a view's rows are, for counts.
func hostRowsWord(v sandbox.View) string {
	if v == sandbox.ViewPIDs {
		return "processes"
	}
	return "rows"
}

// CheckWords holds a view's words (as inWords writes them) against its
// rows: "no differences" exactly when every row is the same; every row
// that differs named with its kind (a changed row with both values) or
// counted; no same row named as differing.
func CheckWords(words string, ds []sandbox.Delta) error {
	nonSame, named := 0, 0
	for _, d := range ds {
		k := rowKey(d)
		changed := k + " differs (host " + quoteEmpty(d.Host) + ", sandbox " + quoteEmpty(d.Sandbox) + ")"
		phrase := map[sandbox.DeltaKind]string{sandbox.Changed: changed, sandbox.OnlySandbox: k + " only in the sandbox", sandbox.OnlyHost: k + " only on the host"}
		if d.Kind == sandbox.Same {
			for _, p := range []string{k + " differs", k + " only in", k + " only on"} {
				if hasPhrase(words, p) {
					return fmt.Errorf("%w: %q is the same on both sides, the words say %q", ErrWords, k, words)
				}
			}
			continue
		}
		nonSame++
		if hasPhrase(words, phrase[d.Kind]) {
			named++
		}
	}
	if (words == noDifferences) != (nonSame == 0) {
		return fmt.Errorf("%w: %d rows differ, the words say %q", ErrWords, nonSame, words)
	}
	// The counts: "and 3 more", "81 processes only the host sees".
	countedRe := regexp.MustCompile(`(?:and (\d+) more|(\d+) (?:processes|rows) only the host sees)`)
	counted := 0
	for _, m := range countedRe.FindAllStringSubmatch(words, -1) {
		for _, g := range m[1:] {
			if g != "" {
				c, _ := strconv.Atoi(g)
				counted += c
			}
		}
	}
	if named+counted != nonSame {
		return fmt.Errorf("%w: %d rows differ, the words name %d and count %d: %q", ErrWords, nonSame, named, counted, words)
	}
	return nil
}

// hasPhrase reports whether p starts one of the "; "-separated phrases
// of words, whole or followed by " " or "(" (a key that is a prefix of
// another key does not count). Values may hold "; " themselves, so the
// words are searched, not split.
func hasPhrase(words, p string) bool {
	for i := 0; i <= len(words)-len(p); i++ {
		j := strings.Index(words[i:], p)
		if j < 0 {
			return false
		}
		i += j
		start := i == 0 || strings.HasSuffix(words[:i], "; ")
		rest := words[i+len(p):]
		if start && (rest == "" || strings.HasPrefix(rest, ";") || strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "(")) {
			return true
		}
	}
	return false
}

// ErrWords says a view's words disagree with its rows.
var ErrWords = errors.New("the view's words disagree with its rows")

func rowKey(d sandbox.Delta) string {
	if d.Label != "" {
		return d.Key + " (" + d.Label + ")"
	}
	return d.Key
}

func quoteEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

func marker(k sandbox.DeltaKind) string {
	if k == sandbox.Same {
		return " " // the table stays quiet where nothing differs
	}
	return lessons.DeltaSymbol(k)
}

// pad cuts or pads s to n runes.
func pad(s string, n int) string {
	s = cut(s, n)
	return s + strings.Repeat(" ", n-utf8.RuneCountInString(s))
}

func cut(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
