package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/catalog"
	"github.com/nslab/nslab/lessons/doctor"
	"github.com/nslab/nslab/lessons/headless"
	"github.com/nslab/nslab/sandbox"
)

func (a *app) runCmd() *cobra.Command {
	var plain, asJSON, solve bool
	var answer int
	var seed uint32
	cmd := &cobra.Command{
		Use:   "run ID",
		Short: "Play one lesson without the TUI (plain text or JSON lines)",
		Long: `run plays lesson ID part by part with the headless runner: the real syscalls
and their trace, host against sandbox, the facts checked against the kernel,
and the challenge. Text is printed once, one event a line, never redrawn:
it suits projectors and screen readers.

At the prediction it waits for the number of your answer on stdin (asking
again until it is one of the choices); --answer N gives it instead, for
when stdin is not a terminal. When stdin ends before an answer the run
stops with exit code 1 and your progress is kept. At the challenge it reads
commands from stdin (check, hint, solution, skip, quit, and shell when
stdin is a terminal: a shell inside the sandbox, until you type exit); it
also prints the nsenter line that opens one from another terminal.
--solve applies the reference solution instead, and without --answer leaves
the prediction unanswered.

The choices come in an order of your own, drawn from the seed in your
progress file (so a run can be replayed, and neighbours in a class see
different orders); --seed N uses seed N instead.

The output is plain text (the default, also --plain: for projectors and
screen readers) or, with --json, one JSON object a line for tooling.
ID is a lesson id or number from ` + "`nslab list`" + `.

It exits 0 only when every fact held and the challenge check passed, 1 when
one did not, 3 when this machine or user lacks what the lesson needs. The
outcome is recorded in your progress file (see ` + "`nslab progress --help`" + `);
when that file cannot be used the run says why ("progress not recorded")
and the exit code is still the lesson's.`,
		Example: `  sudo nslab run uts --plain
  nslab run uts --answer 2 < commands.txt
  nslab run uts --solve --json | jq .type`,
		Args:              exactLessonArg,
		ValidArgsFunction: completeLessonIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if plain && asJSON {
				return usageErrorf("--plain and --json exclude each other: pick one")
			}
			l, err := lessonByID(args[0])
			if err != nil {
				return err
			}
			return a.playHeadless(cmd.Context(), l, runOptions{json: asJSON, solve: solve, answer: answer, seed: seed, seedSet: cmd.Flags().Changed("seed")})
		},
	}
	cmd.Flags().IntVar(&answer, "answer", 0, "your prediction, N (1-based), instead of asking on stdin")
	cmd.Flags().Uint32Var(&seed, "seed", 0, "order the prediction's choices by seed N instead of your progress file's")
	cmd.Flags().BoolVar(&plain, "plain", false, "plain text (the default)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object a line")
	cmd.Flags().BoolVar(&solve, "solve", false, "apply the challenge's reference solution instead of waiting for commands")
	return cmd
}

// runPlainDefault is `nslab --plain`: the headless runner on the lesson
// given with --lesson, else the first one the progress file does not mark
// done.
func (a *app) runPlainDefault(ctx context.Context, start string) error {
	if start != "" {
		l, err := lessonByID(start)
		if err != nil {
			return err
		}
		return a.playHeadless(ctx, l, runOptions{})
	}
	ls, err := allLessons()
	if err != nil {
		return err
	}
	if len(ls) == 0 {
		return withCode(exitInternal, errors.New("no lessons"))
	}
	next := ls[0]
	if p, ok := a.loadProgressQuiet(); ok {
		for _, l := range ls {
			if p.Get(l.ID).Status != lessons.StatusDone {
				next = l
				break
			}
		}
	}
	return a.playHeadless(ctx, next, runOptions{})
}

// runOptions are `nslab run`'s choices.
type runOptions struct {
	json, solve bool
	answer      int    // the prediction, 1-based; 0 asks on stdin
	seed        uint32 // with seedSet, instead of the progress file's
	seedSet     bool
}

// playHeadless checks that this machine and user can run lesson l, runs
// it, records the outcome in the progress file and turns the outcome into
// an exit code.
func (a *app) playHeadless(ctx context.Context, l lessons.Lesson, ro runOptions) error {
	if n := len(l.Prediction.Choices); ro.answer < 0 || ro.answer > n {
		return usageErrorf("--answer %d: lesson %s's prediction has choices 1 to %d", ro.answer, l.ID, n)
	}
	m := sandbox.ProbeMachine(ctx)
	if la := doctor.Assess(m, l); !la.Runnable() {
		return withCode(exitMachine, a.cannotRun(m, l, la))
	}
	seed, keep := ro.seed, uint32(0)
	if !ro.seedSet {
		seed = a.learnerSeed()
		keep = seed
	}
	l = l.Shuffled(seed)
	var res headless.Result
	err := a.withEngine(ctx, func(ctx context.Context, eng *sandbox.Engine) error {
		var err error
		opt := headless.Options{
			JSON: ro.json, Solve: ro.solve, Answer: ro.answer, In: a.in, Out: a.out, Width: a.width(),
		}
		if !ro.json && term.IsTerminal(a.inFd) && term.IsTerminal(a.outFd) {
			// A terminal of its own: `shell` opens one on it, relayed
			// through a pty so the shell never takes nslab's terminal.
			opt.Shell = func(ctx context.Context, cmd *exec.Cmd) error {
				sh := sandbox.NewFullScreenShell(ctx, cmd)
				sh.SetStdin(a.in)
				sh.SetStdout(a.out)
				return sh.Run()
			}
		}
		faultHook(&opt)
		res, err = headless.Play(ctx, eng, l, opt)
		return err
	})
	if errors.Is(err, headless.ErrNoAnswer) {
		a.recordRun(l, res, ro.solve, keep)
		return withCode(exitFailed, fmt.Errorf("lesson %s did not pass: %w (your progress is kept)", l.ID, err))
	}
	if err != nil {
		return a.explainRunError(m, l, err)
	}
	a.recordRun(l, res, ro.solve, keep)
	if !res.Passed {
		what := "a fact or the challenge check failed"
		switch {
		case res.Quit:
			what = "it was stopped before the end"
		case res.Skipped:
			what = "the challenge was skipped"
		}
		return withCode(exitFailed, fmt.Errorf("lesson %s did not pass: %s", l.ID, what))
	}
	return nil
}

// cannotRun explains why lesson l cannot run for this user here, and what
// to do instead.
func (a *app) cannotRun(m sandbox.Machine, l lessons.Lesson, la doctor.LessonAccess) error {
	var b strings.Builder
	fmt.Fprintf(&b, "lesson %s cannot run as %s on this machine", l.ID, doctor.UserWord(m))
	if missing := doctor.MissingCaps(m, l); len(missing) > 0 {
		fmt.Fprintf(&b, " (missing %s)", strings.Join(missing, ", "))
	}
	fmt.Fprintf(&b, ":\n  %s\n", la.Why)
	if ids := a.runnableIDs(m, l.ID); len(ids) > 0 && la.Access == doctor.AccessNeedsRoot {
		fmt.Fprintf(&b, "Lessons you can run now without sudo: %s.\n", strings.Join(ids, ", "))
	}
	b.WriteString("`nslab doctor` checks the whole machine.")
	return errors.New(b.String())
}

// runnableIDs lists the lessons this user can run now, except skip.
func (a *app) runnableIDs(m sandbox.Machine, skip string) []string {
	ls, err := catalog.All()
	if err != nil {
		return nil
	}
	var out []string
	for _, la := range doctor.AssessAll(m, ls) {
		if la.Runnable() && la.ID != skip {
			out = append(out, la.ID)
		}
	}
	return out
}

// explainRunError turns a failed run into a message and exit code. The
// kernel's refusals (EPERM, EACCES, ENOSPC, EINVAL on creation) are the
// machine's limits, not nslab's bugs, and are said with what to do.
func (a *app) explainRunError(m sandbox.Machine, l lessons.Lesson, err error) error {
	var sig signalError
	var pe panicError
	var ee *exitError
	switch {
	case errors.As(err, &sig), errors.As(err, &pe), errors.As(err, &ee):
		return err
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		var b strings.Builder
		fmt.Fprintf(&b, "lesson %s: the kernel refused: %v\n", l.ID, err)
		if missing := doctor.MissingCaps(m, l); len(missing) > 0 {
			fmt.Fprintf(&b, "This process lacks %s. ", strings.Join(missing, ", "))
		}
		if m.EUID != 0 {
			fmt.Fprintf(&b, "Run it as root: `sudo nslab run %s`", l.ID)
			if ids := a.runnableIDs(m, l.ID); len(ids) > 0 {
				fmt.Fprintf(&b, ", or pick a rootless lesson: %s", strings.Join(ids, ", "))
			}
			b.WriteString(".")
		} else if m.Container.Inside {
			b.WriteString(doctor.ContainerFix(m) + ".")
		} else {
			b.WriteString("`nslab doctor` says what this machine refuses and how to fix it.")
		}
		return withCode(exitMachine, errors.New(b.String()))
	case errors.Is(err, unix.ENOSPC):
		return withCode(exitMachine, fmt.Errorf("lesson %s: %w\nA user.max_*_namespaces limit is reached or 0; `nslab doctor` shows which", l.ID, err))
	case errors.Is(err, sandbox.ErrAgent):
		// Usually killed from outside (kill -9, the OOM killer): nslab
		// closed everything; running the lesson again starts afresh.
		return withCode(exitInternal, fmt.Errorf("lesson %s: %w\nThe sandbox's agent process died; nslab closed the sandbox. Run the lesson again; if it keeps happening, please report it", l.ID, err))
	case errors.Is(err, lessons.ErrNoLogic):
		return withCode(exitInternal, fmt.Errorf("lesson %s is not finished in this build of nslab: %w", l.ID, err))
	}
	return withCode(exitInternal, fmt.Errorf("lesson %s failed: %w", l.ID, err))
}

// learnerSeed is the seed in the learner's progress file, or a new one
// when there is none yet (recordRun keeps it).
func (a *app) learnerSeed() uint32 {
	p, _ := a.loadProgressQuiet()
	p.EnsureSeed()
	return p.Seed
}

// recordRun keeps a headless run in the progress file: a lesson passed
// without --solve is done, with how its challenge was solved; otherwise
// it is in progress. The prediction's answer and the seed that ordered
// its choices are kept too. A progress file that cannot be written is a
// warning: the run itself is what was asked.
func (a *app) recordRun(l lessons.Lesson, res headless.Result, solve bool, seed uint32) {
	store, err := a.progressStore()
	if err != nil {
		a.warn("progress not recorded: %v", err)
		return
	}
	p, warning, err := store.Load()
	if warning != "" {
		a.warn("%s", warning)
	}
	if err != nil {
		a.warn("progress not recorded: %v", err)
		return
	}
	if p.Seed == 0 && seed != 0 {
		p.Seed = seed
	}
	if res.PredictionChoice >= 0 {
		p.RecordPrediction(l.ID, res.PredictionCorrect)
	}
	if res.SolutionShown && !solve {
		p.RecordSolutionShown(l.ID)
	}
	switch {
	case res.Stopped == lessons.PartPredict:
		p.Mark(l.ID, lessons.StatusInProgress, lessons.PartPredict)
	case res.Passed && !solve:
		p.Mark(l.ID, lessons.StatusDone, lessons.PartRecap)
		p.RecordChallenge(l.ID, true, res.HintsUsed)
	case res.Quit && res.Stopped != "":
		p.Mark(l.ID, lessons.StatusInProgress, res.Stopped)
	case res.Quit:
		p.Mark(l.ID, lessons.StatusInProgress, lessons.PartChallenge)
	default:
		p.Mark(l.ID, lessons.StatusInProgress, lessons.PartRecap)
	}
	if !res.Passed && res.HintsUsed > 0 && !solve {
		p.RecordChallenge(l.ID, false, res.HintsUsed)
	}
	if err := store.Save(p); err != nil {
		a.warn("progress not recorded: %v", err)
	}
}
