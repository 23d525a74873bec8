// Package headless plays a lesson without the TUI, as plain text or JSON
// lines: for projectors, screen readers, scripts and tests. It drives a
// lessons.Session exactly as the ui does; it may import lessons and
// sandbox, never ui, and it prints only to the writer it is given.
package headless

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// Options configure the headless runner.
type Options struct {
	// JSON prints one JSON object a line, each with a "type" field,
	// instead of plain text.
	JSON bool
	// Solve runs the challenge's reference solution instead of waiting for
	// the learner. Without Answer, it also leaves the prediction
	// unanswered rather than wait for one.
	Solve bool
	// Answer is the learner's prediction, 1-based as the choices are
	// numbered (the lesson given to Play is already in the learner's
	// order); 0 asks on In.
	Answer int
	// In is where the learner's answer to the prediction (a number) and
	// commands at the challenge come from (check, hint, solution, shell,
	// skip, quit). At the prediction, EOF is ErrNoAnswer; at the
	// challenge, EOF means quit.
	In io.Reader
	// Shell, if set, runs a shell command on the learner's terminal until
	// it exits (the `shell` command at the prompts); nil when there is no
	// terminal, and `shell` says how to open one from another.
	Shell func(ctx context.Context, cmd *exec.Cmd) error
	// Out receives everything; nil means os.Stdout.
	Out io.Writer
	// Width is the line width for the side-by-side tables (default 100).
	Width int
	// StepTimeout bounds every step that talks to the kernel (default 30 s).
	StepTimeout time.Duration
	// OnPart, if set, is called before each part starts, in the runner's
	// goroutine: the fault-injection tests stop or break a run exactly at
	// a part boundary through it.
	OnPart func(p lessons.Part)
}

// Result is how a headless run ended.
type Result struct {
	Lesson string `json:"lesson"`
	// Passed is true only when every fact held and the challenge check
	// passed.
	Passed bool           `json:"passed"`
	Facts  []lessons.Fact `json:"facts"`
	// PredictionRight is the choice the observation made right (0-based,
	// -1 when there was none); PredictionWhy explains it.
	PredictionRight int    `json:"prediction_right"`
	PredictionWhy   string `json:"prediction_why,omitempty"`
	// PredictionChoice is the learner's answer (0-based, -1 for none);
	// PredictionCorrect says whether it was the right one.
	PredictionChoice  int  `json:"prediction_choice"`
	PredictionCorrect bool `json:"prediction_correct"`
	// HintsUsed counts the hints shown; SolutionShown is set when the
	// learner asked for the solution (or Solve applied it).
	HintsUsed       int    `json:"hints_used,omitempty"`
	SolutionShown   bool   `json:"solution_shown,omitempty"`
	ChallengeOK     bool   `json:"challenge_ok"`
	ChallengeDetail string `json:"challenge_detail,omitempty"`
	// Skipped: the learner skipped the challenge; Quit: they quit the
	// lesson before its end.
	Skipped bool `json:"skipped,omitempty"`
	Quit    bool `json:"quit,omitempty"`
	// Stopped is the part the run ended in when it did not reach the
	// end ("" when it did).
	Stopped lessons.Part `json:"stopped,omitempty"`
}

// Play plays lesson l part by part without the TUI, on opt.Out.
// It always closes the lesson's sandboxes, also after an error or a panic.
// The error is about the run itself (a syscall failed, the output broke);
// a failed fact or check is in the Result, not an error.
func Play(ctx context.Context, eng *sandbox.Engine, l lessons.Lesson, opt Options) (res Result, err error) {
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
	res = Result{Lesson: l.ID, PredictionRight: -1, PredictionChoice: -1}
	if n := len(l.Prediction.Choices); opt.Answer < 0 || opt.Answer > n {
		return res, fmt.Errorf("%w: --answer %d, and lesson %s's prediction has choices 1 to %d", ErrBadAnswer, opt.Answer, l.ID, n)
	}
	sess := lessons.NewSession(eng, l, func(e sandbox.Event) { p.event(e) })
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
	// The learner's lines, read only when asked for: with Solve and
	// Answer nslab never touches its input, and nothing reads it while a
	// shell has the terminal.
	in := newLineReader(opt.In)
	defer in.stop()

	p.text("%s\n%s\n%s\n", l.Title, strings.Repeat("=", utf8.RuneCountInString(l.Title)), l.Summary)
	p.obj("lesson", map[string]any{"id": l.ID, "number": l.Number, "title": l.Title, "summary": l.Summary})
	p.confinement(eng.ConfinementNote())

	observed := false
	for i, part := range lessons.Parts() {
		if opt.OnPart != nil {
			opt.OnPart(part)
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		sess.Goto(part)
		res.Stopped = part
		sec := l.Section(part)
		title, body := PlainInline(sectionTitle(sec, part)), PlainText(sec.Body, opt.Width)
		p.text("\n── %d/%d %s ──\n\n%s\n", i+1, len(lessons.Parts()), title, body)
		p.obj("part", map[string]any{"part": part, "index": i, "title": title, "body": body})

		switch part {
		case lessons.PartPredict:
			if err := p.predict(ctx, l, opt, in, &res); err != nil {
				return res, err
			}

		case lessons.PartPerform:
			if l.Command != "" {
				p.text("\nBy hand, util-linux does the same with:\n  $ %s\n", l.Command)
				p.obj("command", map[string]any{"command": l.Command})
			}
			p.text("\nTrace (one line a syscall):\n")
			c, cancel := step()
			err := sess.Perform(c)
			cancel()
			if err != nil {
				p.obj("error", map[string]any{"step": "perform", "error": err.Error()})
				p.text("\nPerform failed: %v\n", err)
				return res, err
			}
			if eng.Confined() {
				p.onBehalf(sess.HostOps())
			}

		case lessons.PartObserve:
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
				text, got := PlainInline(f.Text), plainCode(f.Got)
				p.text("  %s %s", mark, text)
				if got != "" {
					p.text("  (%s)", got)
				}
				p.text("\n")
				p.obj("fact", map[string]any{"text": text, "ok": f.OK, "got": got})
			}
			p.verdict(sess, l, o, &res)

		case lessons.PartExperiment:
			p.enter(sess, opt)
			if len(l.Experiments) > 0 {
				p.text("\nTry in a shell inside the sandbox:\n")
				for _, e := range l.Experiments {
					p.text("  $ %s\n", e)
				}
			}
			p.obj("experiments", map[string]any{"commands": l.Experiments})
			if opt.Shell != nil && !opt.Solve {
				if quit, err := p.experiment(ctx, sess, opt, in); quit || err != nil {
					if err == nil {
						res.Quit = true
						p.obj("result", resultFields(res))
						p.text("\nStopped before the end of the lesson.\n")
						err = p.err
					}
					return res, err
				}
			}

		case lessons.PartRecap:
			// The rules the lesson stated, each with where the man pages
			// say it: the Read: line above names the pages, this the places.
			if len(l.Claims) > 0 {
				p.text("\nThe rules, and where the man pages state them:\n")
				for _, c := range l.Claims {
					p.text("  • %s — %s, %s\n", PlainInline(c.Rule), c.Source, c.Section)
				}
			}
			claims := make([]lessons.Claim, len(l.Claims))
			for i, c := range l.Claims {
				c.Rule = PlainInline(c.Rule)
				claims[i] = c
			}
			p.obj("claims", map[string]any{"claims": claims})

		case lessons.PartChallenge:
			if !observed {
				return res, fmt.Errorf("challenge before observe: %w", lessons.ErrNotPerformed)
			}
			quit, err := p.challenge(ctx, sess, l, opt, in, step, &res)
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
	res.Stopped = ""
	res.Passed = lessons.AllOK(res.Facts) && res.ChallengeOK
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
func (p *printer) challenge(ctx context.Context, sess *lessons.Session, l lessons.Lesson, opt Options, in *lineReader,
	step func() (context.Context, context.CancelFunc), res *Result) (quit bool, err error) {
	ch := l.Challenge
	task := PlainInline(ch.Task)
	if line := l.TaskLine(); line != "" {
		p.text("\nTask: %s\n", PlainInline(line))
	}
	p.obj("challenge", map[string]any{"task": task, "hints": len(ch.Hints)})
	check := func() error {
		c, cancel := step()
		ok, detail, err := sess.Check(c)
		cancel()
		if err != nil {
			p.obj("error", map[string]any{"step": "check", "error": err.Error()})
			p.text("check failed to run: %v\n", err)
			return err
		}
		detail = PlainInline(detail)
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
		res.SolutionShown = true
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
	p.enter(sess, opt)
	commands := "check, hint, solution, skip, quit"
	if opt.Shell != nil {
		commands = "check, hint, solution, shell, skip, quit"
	}
	p.text("Type one of: %s\n", commands)
	hints := 0
	for {
		if err := ctx.Err(); err != nil {
			return true, err
		}
		cmd, eof, err := p.command(ctx, in, "challenge> ")
		if eof || err != nil {
			return true, err // EOF is quit
		}
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
			hint := PlainInline(ch.Hints[hints])
			p.text("Hint %d/%d: %s\n", hints+1, len(ch.Hints), hint)
			p.obj("hint", map[string]any{"index": hints + 1, "of": len(ch.Hints), "text": hint})
			hints++
			res.HintsUsed = hints
		case "solution", "s":
			p.text("Solution:\n")
			for _, s := range ch.Solution {
				p.text("  $ %s\n", s)
			}
			p.obj("solution", map[string]any{"commands": ch.Solution})
			res.SolutionShown = true
		case "shell":
			if err := p.shell(ctx, sess, opt); err != nil {
				return false, err
			}
		case "skip":
			res.Skipped = true
			p.text("Challenge skipped.\n")
			p.obj("skip", nil)
			return false, nil
		case "quit", "q", "exit":
			return true, nil
		case "":
		default:
			p.text("Unknown command %q. Type one of: %s\n", cmd, commands)
		}
	}
}

func sectionTitle(s lessons.Section, p lessons.Part) string {
	if s.Title != "" {
		return s.Title
	}
	return p.Title()
}

func countOK(fs []lessons.Fact) int {
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
