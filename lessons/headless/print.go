package headless

import (
	"encoding/json"
	"fmt"
	"io"
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
		line += "\n           # " + e.Note
	}
	p.text("%s\n", line)
}

// observation prints every view of the lesson side by side.
func (p *printer) observation(l lessons.Lesson, o lessons.Observation) {
	for _, v := range l.Views() {
		ds := o.Diffs[v]
		same, onlyHost, onlySB, changed := sandbox.Summarize(ds)
		p.obj("observation", map[string]any{"view": v, "rows": ds,
			"same": same, "only_host": onlyHost, "only_sandbox": onlySB, "changed": changed})
		if p.json {
			continue
		}
		p.text("\n%s", renderView(v, ds, p.width))
	}
	if len(o.Extra) > 0 {
		p.obj("extra", map[string]any{"extra": o.Extra})
	}
}

// renderView renders one view as a HOST | SANDBOX table with markers, and
// the differences in words below it.
func renderView(v sandbox.View, ds []sandbox.Delta, width int) string {
	var b strings.Builder
	same, onlyHost, onlySB, changed := sandbox.Summarize(ds)
	fmt.Fprintf(&b, "[%s]  %d same, %d changed, %d only in the sandbox, %d only on the host\n", v, same, changed, onlySB, onlyHost)
	keyW := 18
	for _, d := range ds {
		keyW = max(keyW, min(30, utf8.RuneCountInString(rowKey(d))))
	}
	colW := max(12, (width-keyW-7)/2)
	fmt.Fprintf(&b, "  %s %s | %s\n", pad("", keyW), pad("HOST", colW), "SANDBOX")
	collapseHost := onlyHost > maxOnlyHostRows
	collapseSame := same > maxSameRows
	for _, d := range ds {
		if (collapseHost && d.Kind == sandbox.OnlyHost) || (collapseSame && d.Kind == sandbox.Same) {
			continue
		}
		fmt.Fprintf(&b, "%s %s %s | %s\n", marker(d.Kind), pad(rowKey(d), keyW), pad(d.Host, colW), cut(d.Sandbox, colW))
	}
	if collapseSame {
		fmt.Fprintf(&b, "  … %d rows the same on both sides\n", same)
	}
	if collapseHost {
		what := "rows"
		if v == sandbox.ViewPIDs {
			what = "processes"
		}
		fmt.Fprintf(&b, "%s … %d %s only the host sees\n", lessons.DeltaSymbol(sandbox.OnlyHost), onlyHost, what)
	}
	if words := inWords(ds, collapseHost); words != "" {
		fmt.Fprintf(&b, "  In words: %s\n", words)
	}
	return b.String()
}

// inWords says what differs, the first few rows by name.
func inWords(ds []sandbox.Delta, skipOnlyHost bool) string {
	var out []string
	n := 0
	for _, d := range ds {
		var s string
		switch d.Kind {
		case sandbox.Changed:
			s = fmt.Sprintf("%s differs (host %s, sandbox %s)", rowKey(d), quoteEmpty(d.Host), quoteEmpty(d.Sandbox))
		case sandbox.OnlySandbox:
			s = fmt.Sprintf("%s only in the sandbox", rowKey(d))
		case sandbox.OnlyHost:
			if skipOnlyHost {
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
	if n == 0 {
		return "no differences"
	}
	return strings.Join(out, "; ")
}

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
