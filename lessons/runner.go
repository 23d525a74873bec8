package lessons

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nslab/nslab/sandbox"
)

// RunOptions configure the headless runner.
type RunOptions struct {
	// JSON prints one JSON object a line, each with a "type" field,
	// instead of plain text.
	JSON bool
	// Solve runs the challenge's reference solution instead of waiting for
	// the learner.
	Solve bool
	// In is where the learner's commands at the challenge come from
	// (check, hint, solution, skip, quit); nil or EOF means quit.
	In io.Reader
	// Out receives everything; nil means os.Stdout.
	Out io.Writer
	// Width is the line width for the side-by-side tables (default 100).
	Width int
	// StepTimeout bounds every step that talks to the kernel (default 30 s).
	StepTimeout time.Duration
	// OnPart, if set, is called before each part starts, in the runner's
	// goroutine: the fault-injection tests stop or break a run exactly at
	// a part boundary through it.
	OnPart func(p Part)
}

// Result is how a headless run ended.
type Result struct {
	Lesson string `json:"lesson"`
	// Passed is true only when every fact held and the challenge check
	// passed.
	Passed bool   `json:"passed"`
	Facts  []Fact `json:"facts"`
	// PredictionRight is the choice the observation made right (0-based,
	// -1 when there was none); PredictionWhy explains it.
	PredictionRight int    `json:"prediction_right"`
	PredictionWhy   string `json:"prediction_why,omitempty"`
	ChallengeOK     bool   `json:"challenge_ok"`
	ChallengeDetail string `json:"challenge_detail,omitempty"`
	// Skipped: the learner skipped the challenge; Quit: they quit the
	// lesson before its end.
	Skipped bool `json:"skipped,omitempty"`
	Quit    bool `json:"quit,omitempty"`
}

// Markers of the side-by-side tables: a row that differs, one only the
// sandbox has, one only the host has.
const (
	markChanged     = "≠"
	markOnlySandbox = "+"
	markOnlyHost    = "-"
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

// RunHeadless plays lesson l part by part without the TUI, on opt.Out.
// It always closes the lesson's sandboxes, also after an error or a panic.
// The error is about the run itself (a syscall failed, the output broke);
// a failed fact or check is in the Result, not an error.
func RunHeadless(ctx context.Context, eng *sandbox.Engine, l Lesson, opt RunOptions) (res Result, err error) {
	if opt.Out == nil {
		opt.Out = os.Stdout
	}
	if opt.Width <= 0 {
		opt.Width = 100
	}
	if opt.StepTimeout <= 0 {
		opt.StepTimeout = 30 * time.Second
	}
	p := &printer{w: opt.Out, json: opt.JSON, width: opt.Width}
	res = Result{Lesson: l.ID, PredictionRight: -1}
	sess := NewSession(eng, l, func(e sandbox.Event) { p.event(e) })
	defer func() {
		if cerr := sess.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close lesson %s: %w", l.ID, cerr)
		}
	}()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("lesson %s panicked: %v", l.ID, r)
			res.Passed = false
		}
	}()
	step := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, opt.StepTimeout) }

	p.text("%s\n%s\n%s\n", l.Title, strings.Repeat("=", utf8.RuneCountInString(l.Title)), l.Summary)
	p.obj("lesson", map[string]any{"id": l.ID, "number": l.Number, "title": l.Title, "summary": l.Summary})

	observed := false
	for i, part := range Parts() {
		if opt.OnPart != nil {
			opt.OnPart(part)
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		sess.Goto(part)
		sec := l.Section(part)
		p.text("\n── %d/%d %s ──\n\n%s\n", i+1, len(Parts()), sectionTitle(sec, part), sec.Body)
		p.obj("part", map[string]any{"part": part, "index": i, "title": sectionTitle(sec, part), "body": sec.Body})

		switch part {
		case PartPredict:
			pr := l.Logic.Prediction
			p.text("\n? %s\n", pr.Question)
			for j, c := range pr.Choices {
				p.text("  %d) %s\n", j+1, c)
			}
			p.obj("prediction", map[string]any{"question": pr.Question, "choices": pr.Choices})

		case PartPerform:
			if l.Command != "" {
				p.text("\nBy hand, util-linux does the same with:\n  $ %s\n", l.Command)
				p.obj("command", map[string]any{"command": l.Command})
			}
			p.text("\nTrace:\n")
			c, cancel := step()
			err := sess.Perform(c)
			cancel()
			if err != nil {
				p.obj("error", map[string]any{"step": "perform", "error": err.Error()})
				p.text("\nPerform failed: %v\n", err)
				return res, err
			}

		case PartObserve:
			c, cancel := step()
			o, err := sess.Observe(c)
			cancel()
			if err != nil {
				p.obj("error", map[string]any{"step": "observe", "error": err.Error()})
				p.text("\nObserve failed: %v\n", err)
				return res, err
			}
			observed = true
			p.observation(l, o)
			res.Facts = sess.Facts(o)
			p.text("\nWhat the kernel shows:\n")
			for _, f := range res.Facts {
				mark := "✓"
				if !f.OK {
					mark = "✗"
				}
				p.text("  %s %s", mark, f.Text)
				if f.Got != "" {
					p.text("  (%s)", f.Got)
				}
				p.text("\n")
				p.obj("fact", map[string]any{"text": f.Text, "ok": f.OK, "got": f.Got})
			}
			_, right, why := sess.Answer(-1, o)
			res.PredictionRight, res.PredictionWhy = right, why
			choice := ""
			if pr := l.Logic.Prediction; right >= 0 && right < len(pr.Choices) {
				choice = pr.Choices[right]
				p.text("\nYour prediction: the answer was %d) %s\n  %s\n", right+1, choice, why)
			}
			p.obj("verdict", map[string]any{"right": right, "choice": choice, "why": why})

		case PartExperiment:
			if len(l.Logic.Experiments) > 0 {
				p.text("\nTry in a shell inside the sandbox:\n")
				for _, e := range l.Logic.Experiments {
					p.text("  $ %s\n", e)
				}
			}
			p.obj("experiments", map[string]any{"commands": l.Logic.Experiments})

		case PartChallenge:
			if !observed {
				return res, fmt.Errorf("challenge before observe: %w", ErrNotPerformed)
			}
			quit, err := p.challenge(ctx, sess, l, opt, step, &res)
			if err != nil {
				return res, err
			}
			if quit {
				res.Quit = true
				p.obj("result", resultFields(res))
				p.text("\nStopped before the end of the lesson.\n")
				return res, p.err
			}
		}
	}
	res.Passed = AllOK(res.Facts) && res.ChallengeOK
	verdict := "PASSED"
	if !res.Passed {
		verdict = "NOT PASSED"
	}
	p.text("\nLesson %s: %s (facts %d/%d, challenge %s)\n", l.ID, verdict, countOK(res.Facts), len(res.Facts), okWord(res.ChallengeOK))
	p.obj("result", resultFields(res))
	return res, p.err
}

// challenge prints the task and then solves it or waits for the learner.
// quit is true when the learner quit the lesson.
func (p *printer) challenge(ctx context.Context, sess *Session, l Lesson, opt RunOptions,
	step func() (context.Context, context.CancelFunc), res *Result) (quit bool, err error) {
	ch := l.Logic.Challenge
	p.text("\nTask: %s\n", ch.Task)
	p.obj("challenge", map[string]any{"task": ch.Task, "hints": len(ch.Hints)})
	check := func() error {
		c, cancel := step()
		ok, detail, err := sess.Check(c)
		cancel()
		if err != nil {
			p.obj("error", map[string]any{"step": "check", "error": err.Error()})
			p.text("check failed to run: %v\n", err)
			return err
		}
		res.ChallengeOK, res.ChallengeDetail = ok, detail
		p.obj("check", map[string]any{"ok": ok, "detail": detail})
		if ok {
			p.text("✓ solved: %s\n", detail)
		} else {
			p.text("✗ not yet: %s\n", detail)
		}
		return nil
	}
	if opt.Solve {
		p.text("\nSolving with the reference solution:\n")
		for _, s := range ch.Solution {
			p.text("  $ %s\n", s)
		}
		p.obj("solution", map[string]any{"commands": ch.Solution})
		c, cancel := step()
		err := sess.Solve(c)
		cancel()
		if err != nil {
			p.obj("error", map[string]any{"step": "solve", "error": err.Error()})
			p.text("solve failed: %v\n", err)
			return false, err
		}
		return false, check()
	}
	if box := sess.Run().Box; box != nil {
		p.text("\nWork in a shell inside the sandbox, from another terminal:\n  $ sudo nsenter --target %d --all\n", box.PID())
		p.obj("enter", map[string]any{"pid": box.PID(), "command": fmt.Sprintf("nsenter --target %d --all", box.PID())})
	}
	p.text("Commands: check, hint, solution, skip, quit\n")
	// Input is read only from here on: with Solve, nslab never touches it.
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	lines := readLines(rctx, opt.In)
	hints := 0
	for {
		if err := ctx.Err(); err != nil {
			return true, err
		}
		p.text("challenge> ")
		var line string
		var ok bool
		select {
		case line, ok = <-lines:
		case <-ctx.Done():
			return true, ctx.Err()
		}
		if !ok {
			p.text("\n")
			return true, nil // EOF is quit
		}
		cmd := strings.ToLower(strings.TrimSpace(line))
		p.obj("input", map[string]any{"command": cmd})
		switch cmd {
		case "check", "c":
			if err := check(); err != nil {
				return false, err
			}
			if res.ChallengeOK {
				return false, nil
			}
		case "hint", "h":
			if hints >= len(ch.Hints) {
				p.text("No more hints: type `solution` to see it.\n")
				p.obj("hint", map[string]any{"index": hints, "of": len(ch.Hints), "text": ""})
				continue
			}
			p.text("Hint %d/%d: %s\n", hints+1, len(ch.Hints), ch.Hints[hints])
			p.obj("hint", map[string]any{"index": hints + 1, "of": len(ch.Hints), "text": ch.Hints[hints]})
			hints++
		case "solution", "s":
			p.text("Solution:\n")
			for _, s := range ch.Solution {
				p.text("  $ %s\n", s)
			}
			p.obj("solution", map[string]any{"commands": ch.Solution})
		case "skip":
			res.Skipped = true
			p.text("Challenge skipped.\n")
			p.obj("skip", nil)
			return false, nil
		case "quit", "q", "exit":
			return true, nil
		case "":
		default:
			p.text("Unknown command %q. Commands: check, hint, solution, skip, quit\n", cmd)
		}
	}
}

// readLines delivers the learner's lines; the channel closes at EOF (or at
// once without input). Reading happens in a goroutine so that a cancelled
// context ends the wait even while the terminal has nothing to say; that
// goroutine ends with the input, or with the process.
func readLines(ctx context.Context, in io.Reader) <-chan string {
	ch := make(chan string)
	if in == nil {
		close(ch)
		return ch
	}
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case ch <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
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
func (p *printer) observation(l Lesson, o Observation) {
	views := []sandbox.View{sandbox.ViewIDs}
	for _, v := range l.Logic.Views {
		if v != sandbox.ViewIDs {
			views = append(views, v)
		}
	}
	for _, v := range views {
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
		fmt.Fprintf(&b, "%s … %d %s only the host sees\n", markOnlyHost, onlyHost, what)
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
	switch k {
	case sandbox.Changed:
		return markChanged
	case sandbox.OnlySandbox:
		return markOnlySandbox
	case sandbox.OnlyHost:
		return markOnlyHost
	}
	return " "
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

func sectionTitle(s Section, p Part) string {
	if s.Title != "" {
		return s.Title
	}
	return strings.ToUpper(string(p[:1])) + string(p[1:])
}

func countOK(fs []Fact) int {
	n := 0
	for _, f := range fs {
		if f.OK {
			n++
		}
	}
	return n
}

func okWord(ok bool) string {
	if ok {
		return "passed"
	}
	return "not passed"
}

func resultFields(r Result) map[string]any {
	b, _ := json.Marshal(r)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return map[string]any{"error": err.Error()}
	}
	return m
}
