package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lessons"
)

// progressStore is the progress file as the TUI's store. When there is no
// path (HOME unset) it still works in memory: Load and Save return the
// reason, the TUI shows it and keeps going. Once Load has failed (a
// symlink on the way, a file it may not read), Save refuses with the same
// reason for the rest of the run: writing what is in memory then would
// replace the learner's earlier progress, which was never read.
type progressStore struct {
	path    string
	pathErr error

	mu   sync.Mutex
	held error // why Load failed; Save keeps the progress in memory
}

func (s *progressStore) Load() (lessons.Progress, string, error) {
	if s.pathErr != nil {
		return lessons.NewProgress(), "", s.pathErr
	}
	p, warning, err := lessons.LoadProgress(s.path)
	if err != nil {
		s.mu.Lock()
		s.held = err
		s.mu.Unlock()
	}
	return p, warning, err
}

func (s *progressStore) Save(p lessons.Progress) error {
	if s.pathErr != nil {
		return s.pathErr
	}
	s.mu.Lock()
	held := s.held
	s.mu.Unlock()
	if held != nil {
		return held
	}
	return lessons.SaveProgress(s.path, p)
}

// progressStore finds the progress file; err (HOME unset, SUDO_* naming no
// user) says what to set.
func (a *app) progressStore() (*progressStore, error) {
	path, err := lessons.ProgressPath()
	if err != nil {
		return &progressStore{pathErr: err}, err
	}
	return &progressStore{path: path}, nil
}

// loadProgressQuiet reads the progress for a default choice; any problem
// is a warning and ok is false.
func (a *app) loadProgressQuiet() (lessons.Progress, bool) {
	s, err := a.progressStore()
	if err != nil {
		return lessons.Progress{}, false
	}
	p, warning, err := s.Load()
	if warning != "" {
		a.warn("%s", warning)
	}
	return p, err == nil
}

func (a *app) progressCmd() *cobra.Command {
	var reset, yes, asJSON bool
	cmd := &cobra.Command{
		Use:   "progress [--reset [ID]]",
		Short: "Show your progress, or reset it",
		Long: `progress shows each lesson's status from your progress file, how its
challenge was finished (solved; solved after N hints; solution shown) and
whether your prediction was right, with your prediction score. The file is
$XDG_STATE_HOME/nslab/progress.json (default ~/.local/state/nslab/; under
sudo, the invoking user's). --reset forgets every lesson, or only lesson ID;
it asks for confirmation unless --yes is given, and without a terminal to
ask on it refuses.

Under sudo nslab reads and writes that file with your own permissions, and
never through a symlink: a file or directory you could not write yourself,
or a symlink on the way, ends the command with exit code 3 and says what to
do; the file is left as it was.`,
		Example: `  nslab progress
  nslab progress --reset uts
  nslab progress --reset --yes`,
		ValidArgsFunction: completeLessonIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErrorf("progress takes at most one lesson id")
			}
			if len(args) == 1 && !reset {
				return usageErrorf("unexpected %q: to forget one lesson run `nslab progress --reset %s`", args[0], args[0])
			}
			if yes && !reset {
				return usageErrorf("--yes confirms --reset; nothing to confirm")
			}
			if reset {
				id := ""
				if len(args) == 1 {
					l, err := lessonByID(args[0])
					if err != nil {
						return err
					}
					id = l.ID
				}
				return a.resetProgress(id, yes)
			}
			return a.showProgress(asJSON)
		},
	}
	cmd.Flags().BoolVar(&reset, "reset", false, "forget your progress (all lessons, or lesson ID)")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the progress file's record as JSON")
	return cmd
}

// loadForCommand loads the progress file for `nslab progress`; problems
// the learner must fix end the command with exit code 3.
func (a *app) loadForCommand() (*progressStore, lessons.Progress, error) {
	s, err := a.progressStore()
	if err != nil {
		return s, lessons.Progress{}, withCode(exitMachine, err)
	}
	p, warning, err := s.Load()
	if warning != "" {
		a.warn("%s", warning)
	}
	if err != nil {
		return s, p, withCode(exitMachine, err)
	}
	return s, p, nil
}

func (a *app) showProgress(asJSON bool) error {
	ls, err := allLessons()
	if err != nil {
		return err
	}
	s, p, err := a.loadForCommand()
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	}
	done := 0
	for _, l := range ls {
		if p.Get(l.ID).Status == lessons.StatusDone {
			done++
		}
	}
	fmt.Fprintf(a.out, "%d of %d lessons done (%s)\n", done, len(ls), s.path)
	if right, answered := p.PredictionScore(); answered > 0 {
		fmt.Fprintf(a.out, "Predictions: %d of %d right\n", right, answered)
	}
	tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "LESSON\tSTATUS\tPART\tCHALLENGE\tPREDICTION\tUPDATED\n")
	for _, l := range ls {
		lp := p.Get(l.ID)
		when := ""
		if !lp.Updated.IsZero() {
			when = lp.Updated.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.ID, lp.Status, dash(string(lp.Part)), dash(lp.HowFinished()), predictionWord(lp), when)
	}
	return tw.Flush()
}

// dash stands in for an empty column.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func predictionWord(lp lessons.LessonProgress) string {
	switch {
	case !lp.Predicted:
		return "-"
	case lp.PredictedRight:
		return "right"
	}
	return "wrong"
}

func (a *app) resetProgress(id string, yes bool) error {
	s, p, err := a.loadForCommand()
	if err != nil {
		return err
	}
	what := "your progress in every lesson"
	if id != "" {
		what = "your progress in lesson " + id
	}
	if !yes {
		if !term.IsTerminal(a.inFd) {
			return usageErrorf("not resetting %s: there is no terminal to confirm on; add --yes to reset without asking", what)
		}
		fmt.Fprintf(a.errOut, "Forget %s? [y/N] ", what)
		line, err := bufio.NewReader(a.in).ReadString('\n')
		if err != nil && line == "" {
			fmt.Fprintln(a.errOut)
		}
		if ans := strings.ToLower(strings.TrimSpace(line)); ans != "y" && ans != "yes" {
			fmt.Fprintln(a.out, "Nothing was reset.")
			return nil
		}
	}
	if id == "" {
		p.ResetAll()
	} else {
		p.Reset(id)
	}
	if err := s.Save(p); err != nil {
		return withCode(exitMachine, err)
	}
	fmt.Fprintf(a.out, "Reset %s.\n", strings.TrimPrefix(what, "your progress in "))
	return nil
}
