package headless

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// ErrNoAnswer: the input ended before the learner answered the
// prediction.
var ErrNoAnswer = errors.New("no answer to the prediction")

// ErrBadAnswer: Options.Answer names no choice of the lesson.
var ErrBadAnswer = errors.New("no such choice")

// lineReader hands out the learner's lines one at a time, reading only
// when one is asked for: nothing reads the terminal while a shell has it.
// The read happens in a goroutine so that a cancelled context ends the
// wait while the terminal has nothing to say; that goroutine ends with
// the input, or with the process.
type lineReader struct {
	in      io.Reader
	started bool
	req     chan struct{}
	out     chan lineResult
	done    chan struct{}
}

type lineResult struct {
	text string
	ok   bool
}

func newLineReader(in io.Reader) *lineReader {
	return &lineReader{in: in, req: make(chan struct{}), out: make(chan lineResult, 1), done: make(chan struct{})}
}

// line is the next line; ok is false at EOF (or without input).
func (r *lineReader) line(ctx context.Context) (text string, ok bool, err error) {
	if r.in == nil {
		return "", false, nil
	}
	if !r.started {
		r.started = true
		go r.read()
	}
	select {
	case r.req <- struct{}{}:
	case res := <-r.out: // a line read for a wait that was cancelled
		return res.text, res.ok, nil
	case <-ctx.Done():
		return "", false, ctx.Err()
	}
	select {
	case res := <-r.out:
		return res.text, res.ok, nil
	case <-ctx.Done():
		return "", false, ctx.Err()
	}
}

func (r *lineReader) read() {
	sc := bufio.NewScanner(r.in)
	eof := false
	for {
		select {
		case <-r.req:
		case <-r.done:
			return
		}
		res := lineResult{}
		if !eof && sc.Scan() {
			res = lineResult{text: sc.Text(), ok: true}
		} else {
			eof = true
		}
		select {
		case r.out <- res:
		case <-r.done:
			return
		}
	}
}

func (r *lineReader) stop() { close(r.done) }

// predict asks the prediction and takes the learner's answer: Answer, or
// a number typed on In (asked again until it is one). Solve without
// Answer leaves it unanswered.
func (p *printer) predict(ctx context.Context, l lessons.Lesson, opt Options, in *lineReader, res *Result) error {
	pr := l.Prediction
	q := PlainInline(pr.Question)
	choices := make([]string, len(pr.Choices))
	for j, c := range pr.Choices {
		choices[j] = PlainInline(c)
	}
	p.text("\n? %s\n", q)
	for j, c := range choices {
		p.text("  %d) %s\n", j+1, c)
	}
	p.obj("prediction", map[string]any{"question": q, "choices": choices})
	n := len(choices)
	if n == 0 {
		return nil
	}
	choice := -1
	switch {
	case opt.Answer > 0:
		choice = opt.Answer - 1
		p.text("Your prediction (from --answer): %d\n", opt.Answer)
	case opt.Solve:
		p.text("Not answered: --solve without --answer.\n")
		p.obj("answer", map[string]any{"choice": -1})
		return nil
	default:
		for choice < 0 {
			p.text("Your prediction, a number from 1 to %d: ", n)
			line, ok, err := in.line(ctx)
			if err != nil {
				return err
			}
			if !ok {
				p.text("\n")
				return fmt.Errorf("%w: the input ended before you answered; type a number from 1 to %d and press enter, or pass --answer N", ErrNoAnswer, n)
			}
			typed := strings.TrimSpace(line)
			k, err := strconv.Atoi(strings.TrimSuffix(typed, ")"))
			if err != nil || k < 1 || k > n {
				p.text("%q is not one of the choices: type a number from 1 to %d.\n", typed, n)
				p.obj("invalid", map[string]any{"input": typed, "of": n})
				continue
			}
			choice = k - 1
		}
	}
	res.PredictionChoice = choice
	p.text("Locked in: %d) %s. Perform shows what the kernel does.\n", choice+1, choices[choice])
	p.obj("answer", map[string]any{"choice": choice, "text": choices[choice]})
	return nil
}

// verdict says what the kernel made right, beside the learner's answer.
func (p *printer) verdict(sess *lessons.Session, l lessons.Lesson, o lessons.Observation, res *Result) {
	correct, right, why := sess.Answer(res.PredictionChoice, o)
	why = PlainInline(why)
	res.PredictionRight, res.PredictionWhy, res.PredictionCorrect = right, why, correct && res.PredictionChoice >= 0
	choice := ""
	if pr := l.Prediction; right >= 0 && right < len(pr.Choices) {
		choice = PlainInline(pr.Choices[right])
		switch {
		case res.PredictionChoice < 0:
			p.text("\nThe prediction: the kernel's answer is %d) %s\n  %s\n", right+1, choice, why)
		case res.PredictionCorrect:
			p.text("\n✓ Your prediction, %d), was right: %s\n  %s\n", right+1, choice, why)
		default:
			p.text("\n✗ Your prediction, %d), is not what happened; the kernel's answer is %d) %s\n  %s\n", res.PredictionChoice+1, right+1, choice, why)
		}
	}
	p.obj("verdict", map[string]any{"right": right, "choice": choice, "why": why, "yours": res.PredictionChoice, "correct": res.PredictionCorrect})
}

// enter says how to open a shell inside the lesson's sandbox: the
// nsenter line for another terminal, and `shell` when there is one here.
func (p *printer) enter(sess *lessons.Session, opt Options) {
	box := sess.Sandboxes().Box
	if box == nil {
		return
	}
	cmd := fmt.Sprintf("nsenter --target %d --all", box.PID())
	shown := cmd
	if os.Geteuid() != 0 && !box.Rootless() {
		shown = "sudo " + cmd
	}
	if opt.Shell != nil {
		p.text("\nOpen a shell inside the sandbox: type shell at the prompt, or run this in another terminal:\n  $ %s\n", shown)
	} else {
		p.text("\nOpen a shell inside the sandbox from another terminal:\n  $ %s\n", shown)
	}
	p.obj("enter", map[string]any{"pid": box.PID(), "command": shown})
}

// experiment waits, with a terminal, for the learner to open shells and
// go on: shell, an empty line, or quit.
func (p *printer) experiment(ctx context.Context, sess *lessons.Session, opt Options, in *lineReader) (quit bool, err error) {
	for {
		p.text("Type shell to experiment here, press enter to go on to the challenge, or quit.\n")
		cmd, eof, err := p.command(ctx, in, "experiment> ")
		if eof || err != nil {
			return true, err
		}
		switch cmd {
		case "":
			return false, nil
		case "shell":
			if err := p.shell(ctx, sess, opt); err != nil {
				return true, err
			}
		case "quit", "q", "exit":
			return true, nil
		default:
			p.text("Unknown command %q.\n", cmd)
		}
	}
}

// shell runs a shell inside the sandbox on the learner's terminal until
// it exits. Its exit status is the learner's business; a terminal that
// went away ends the run.
func (p *printer) shell(ctx context.Context, sess *lessons.Session, opt Options) error {
	if opt.Shell == nil {
		p.text("There is no terminal here for a shell: run the nsenter line above in another terminal.\n")
		return nil
	}
	cmd, err := sess.ShellCommand()
	if err != nil {
		p.text("No shell: %v\n", err)
		return nil
	}
	p.text("A shell inside the sandbox; type exit to come back.\n")
	p.obj("shell", map[string]any{"state": "open"})
	err = opt.Shell(ctx, cmd)
	p.text("Back from the shell.\n")
	p.obj("shell", map[string]any{"state": "closed"})
	var ee *exec.ExitError
	switch {
	case err == nil, errors.As(err, &ee):
		return nil
	case errors.Is(err, sandbox.ErrTerminalGone), ctx.Err() != nil:
		return err
	}
	p.text("The shell failed: %v\n", err)
	return nil
}

// command prompts for and reads one of the learner's commands, trimmed and
// lower-cased; eof is set when the input ended.
func (p *printer) command(ctx context.Context, in *lineReader, prompt string) (cmd string, eof bool, err error) {
	p.text("%s", prompt)
	line, ok, err := in.line(ctx)
	if err != nil {
		return "", true, err
	}
	if !ok {
		p.text("\n")
		return "", true, nil
	}
	cmd = strings.ToLower(strings.TrimSpace(line))
	p.obj("input", map[string]any{"command": cmd})
	return cmd, false, nil
}
