package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/catalog"
	"github.com/nslab/nslab/sandbox"
)

// Exit codes. They are part of the interface (scripts, the README, the
// image test), so they are listed in `nslab --help` from exitCodeHelp.
const (
	exitOK       = 0 // success; doctor: every lesson can run here in some way
	exitFailed   = 1 // a lesson ran, but a fact or the challenge check failed (or it was quit)
	exitUsage    = 2 // unknown command, flag, lesson id, progress ID or learner; missing confirmation
	exitMachine  = 3 // this machine or environment cannot do it: privilege, namespaces, no terminal, HOME, state dir
	exitInternal = 4 // nslab or its agent failed (a bug: please report it)
	// A run ended by a signal exits 128+signal, as a shell reports it:
	// 129 SIGHUP, 130 SIGINT, 143 SIGTERM.
)

const exitCodeHelp = `Exit codes:
  0    success (doctor: every lesson can run on this machine in some way)
  1    a lesson ran but a fact or its challenge check failed, or it was quit
  2    usage error: unknown command, flag, lesson id or learner (class end);
       reset without --yes and no terminal
  3    this machine cannot do it: missing privilege or namespace support,
       no terminal for the TUI, HOME unset, progress directory not writable
       (by you: under sudo nslab uses your permissions) or reached through
       a symlink (nslab never follows one there)
  4    internal error in nslab or its agent (please report it)
  129, 130, 143  ended by SIGHUP, SIGINT, SIGTERM (every sandbox was closed first)`

// exitError carries an exit code and the message for it.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

func usageErrorf(format string, args ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, args...))
}

// signalError: a run was ended by a signal after every sandbox was closed.
type signalError struct{ sig syscall.Signal }

func (e signalError) Error() string {
	return fmt.Sprintf("stopped by %s; every sandbox was closed", signalName(e.sig))
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return s.String()
}

// panicError is a panic recovered from a goroutine running a lesson.
type panicError struct {
	val   any
	stack []byte
}

func (e panicError) Error() string { return fmt.Sprintf("internal error: %v", e.val) }

// app is one invocation of nslab: its streams and the engines it started,
// so that the top-level recover can close them.
type app struct {
	in          io.Reader
	out, errOut io.Writer
	inFd, outFd uintptr
	getenv      func(string) string

	mu      sync.Mutex
	engines []*sandbox.Engine

	// set by the root command's flags
	noColor bool
}

func newApp() *app {
	return &app{
		in: os.Stdin, out: os.Stdout, errOut: os.Stderr,
		inFd: os.Stdin.Fd(), outFd: os.Stdout.Fd(),
		getenv: os.Getenv,
	}
}

func (a *app) track(e *sandbox.Engine) {
	a.mu.Lock()
	a.engines = append(a.engines, e)
	a.mu.Unlock()
}

// closeEngines closes every engine this invocation started (idempotent,
// like Engine.Close).
func (a *app) closeEngines() {
	a.mu.Lock()
	es := a.engines
	a.mu.Unlock()
	for _, e := range es {
		_ = e.Close()
	}
}

func (a *app) warn(format string, args ...any) {
	fmt.Fprintf(a.errOut, "nslab: "+format+"\n", args...)
}

// interactive reports whether both ends are a terminal that can show the
// TUI.
func (a *app) interactive() bool {
	return term.IsTerminal(a.outFd) && term.IsTerminal(a.inFd) && a.getenv("TERM") != "dumb"
}

func (a *app) width() int {
	if term.IsTerminal(a.outFd) {
		if w, _, err := term.GetSize(a.outFd); err == nil && w >= 40 {
			return w
		}
	}
	return 100
}

// run is nslab's command line: it returns the exit code.
func run(args []string) (code int) {
	a := newApp()
	defer func() {
		if r := recover(); r != nil {
			a.closeEngines()
			fmt.Fprintf(a.errOut, "nslab: internal error: %v\nEvery sandbox was closed. Please report this with the output of `nslab version`.\n", r)
			if os.Getenv("NSLAB_DEBUG") != "" {
				a.errOut.Write(debug.Stack())
			}
			code = exitInternal
		}
	}()
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(a.in)
	root.SetOut(a.out)
	root.SetErr(a.errOut)
	err := root.ExecuteContext(context.Background())
	a.closeEngines()
	return a.report(err)
}

// report prints err and turns it into an exit code.
func (a *app) report(err error) int {
	if err == nil {
		return exitOK
	}
	var sig signalError
	if errors.As(err, &sig) {
		a.warn("%v", err)
		return 128 + int(sig.sig)
	}
	var pe panicError
	if errors.As(err, &pe) {
		fmt.Fprintf(a.errOut, "nslab: %v\nEvery sandbox was closed. Please report this with the output of `nslab version`.\n", pe)
		if a.getenv("NSLAB_DEBUG") != "" {
			a.errOut.Write(pe.stack)
		}
		return exitInternal
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if !errors.Is(ee.err, errSilent) {
			a.warn("%v", ee.err)
		}
		return ee.code
	}
	a.warn("%v", err)
	return exitInternal
}

// errSilent is returned with a code when the command already said why.
var errSilent = errors.New("")

func (a *app) rootCmd() *cobra.Command {
	var plain bool
	var start string
	root := &cobra.Command{
		Use:   "nslab",
		Short: "Learn Linux namespaces by doing them for real",
		Long: `nslab is an interactive tutorial about Linux namespaces. Every lesson performs
a real clone(2), unshare(2) or setns(2) and shows, side by side, what the new
namespace sees against what the host sees.

Run without a command it starts the lesson browser (it needs a terminal).
` + rootHelp() + `
` + "`nslab doctor`" + ` says what this machine can do.

` + exitCodeHelp,
		Example: `  nslab                           the lesson browser (as root, or as yourself)
  sudo nslab                      the same with root, when you are not root
  nslab list                      the lessons, id first, which run rootless
  nslab run uts --plain           one lesson as plain text (projectors, screen readers)
  nslab doctor                    what this machine can run, and how to fix the rest`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          a.noCommandArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if plain {
				return a.runPlainDefault(cmd.Context(), start)
			}
			return a.runTUI(cmd.Context(), start)
		},
	}
	root.Flags().BoolVar(&plain, "plain", false, "play a lesson as plain text with the headless runner instead of the TUI")
	root.Flags().StringVar(&start, "lesson", "", "open this lesson first (with --plain: play it; default: the first one not done)")
	root.PersistentFlags().BoolVar(&a.noColor, "no-color", false, "no colours (also when NO_COLOR is set)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%w\nSee `%s --help`.", err, c.CommandPath())
	})
	_ = root.RegisterFlagCompletionFunc("lesson", completeLessonIDs)
	root.AddCommand(a.listCmd(), a.runCmd(), a.doctorCmd(), a.progressCmd(), a.serveCmd(), a.classCmd(), a.versionCmd())
	root.SuggestionsMinimumDistance = 2
	return root
}

// noCommandArgs refuses arguments to the bare root command: they are an
// unknown command (cobra hands them here when no subcommand matched).
func (a *app) noCommandArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q", args[0])
	if _, err := catalog.ByID(args[0]); err == nil {
		msg += fmt.Sprintf(": to play lesson %s run `nslab run %s` (or `nslab --lesson %s`)", args[0], args[0], args[0])
	} else if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += ": did you mean " + strings.Join(s, ", ") + "?"
	}
	return usageErrorf("%s\nSee `nslab --help` for the commands.", msg)
}

// noArgs is cobra.NoArgs with a usage error (exit code 2).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("unknown command %q for %q\nSee `%s --help`.", args[0], cmd.CommandPath(), cmd.CommandPath())
	}
	return nil
}

// exactLessonArg is cobra.ExactArgs(1) with a usage error naming the
// lesson list.
func exactLessonArg(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageErrorf("%s takes one lesson id (got %d arguments); `nslab list` shows them", cmd.CommandPath(), len(args))
	}
	return nil
}

func completeLessonIDs(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	all, err := catalog.All()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, l := range all {
		if strings.HasPrefix(l.ID, toComplete) {
			out = append(out, l.ID+"\t"+l.Title)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// lessonByID wraps catalog.ByID: an unknown id is a usage error whose
// message names the closest ids.
func lessonByID(id string) (lessons.Lesson, error) {
	l, err := catalog.ByID(id)
	if errors.Is(err, lessons.ErrUnknownLesson) {
		return l, withCode(exitUsage, err)
	}
	if err != nil {
		return l, withCode(exitInternal, fmt.Errorf("the lesson catalogue is broken: %w", err))
	}
	return l, nil
}

// rootHelp says how many lessons run without root, counted from the
// catalog: a new lesson changes the help with it.
func rootHelp() string {
	all, err := catalog.All()
	if err != nil {
		return "Lessons marked rootless in `nslab list` run as an ordinary user through a\nuser namespace; the others need root."
	}
	rootless := 0
	for _, l := range all {
		if l.Rootless {
			rootless++
		}
	}
	return fmt.Sprintf("%d of the %d lessons run as an ordinary user, through a user namespace\n(rootless in `nslab list`); %s root: run nslab as root, or sudo nslab.",
		rootless, len(all), plural(len(all)-rootless, "the other needs", "the other %d need"))
}

// plural picks one for n == 1, else many with n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	if strings.Contains(many, "%d") {
		return fmt.Sprintf(many, n)
	}
	return many
}

func allLessons() ([]lessons.Lesson, error) {
	all, err := catalog.All()
	if err != nil {
		return nil, withCode(exitInternal, fmt.Errorf("the lesson catalogue is broken: %w", err))
	}
	return all, nil
}

// noColor: --no-color, or NO_COLOR set to anything (no-color.org).
func (a *app) colorOff() bool {
	return a.noColor || a.getenv("NO_COLOR") != ""
}
