package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lessons/class"
	"github.com/nslab/nslab/lessons/class/control"
)

// classCmd is `nslab class`: the instructor's commands about a class that
// `nslab serve` runs (or ran) from a state directory.
func (a *app) classCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "class",
		Short: "The class `nslab serve` runs: its status, and its results",
		Long: `class reads the class that ` + "`nslab serve`" + ` runs, or ran, from its state
directory (default ` + class.DefaultDir + `): status asks the running server through its
root-only control socket; end ends one learner's session through it;
export writes the results kept in the state directory, during the class
or after it.`,
		Args: noArgs,
	}
	cmd.AddCommand(a.classStatusCmd(), a.classEndCmd(), a.classExportCmd(), a.classKubeCmd())
	return cmd
}

func (a *app) classStatusCmd() *cobra.Command {
	var asJSON bool
	var dir string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "One line per learner: lesson, part, time on it, prediction, hints, solved, idle, stuck",
		Long: `status asks the running ` + "`nslab serve`" + ` for the class, through the control
socket STATE/control.sock (root only), and prints one line per learner. With
--json it prints {"rows": [...], "follow": {...}}, times in seconds.
It fails (exit 3) when no server runs for the state directory.`,
		Example: `  sudo nslab class status
  sudo nslab class status --json --state-dir /srv/class`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := control.Status(cmd.Context(), control.Path(dir))
			if err != nil {
				return withCode(exitMachine, err)
			}
			if asJSON {
				enc := json.NewEncoder(a.out)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Rows   []class.Row   `json:"rows"`
					Follow *class.Follow `json:"follow,omitempty"`
				}{resp.Rows, resp.Follow})
			}
			return writeStatus(a.out, resp)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().StringVar(&dir, "state-dir", class.DefaultDir, "the state directory `nslab serve` uses")
	return cmd
}

func (a *app) classEndCmd() *cobra.Command {
	var dir, why string
	cmd := &cobra.Command{
		Use:   "end NAME [--why TEXT]",
		Short: "End one learner's session, telling them why",
		Long: `end asks the running ` + "`nslab serve`" + `, through its root-only control socket,
to end the session of the learner connected as NAME, as the dashboard's x key
does: the learner reads the reason (--why, default "` + control.DefaultEndReason + `"),
their sandboxes are closed, and their progress is kept, so they can join
again with the same name. It fails with exit 2 when no learner NAME is
connected, and exit 3 when no server runs for the state directory.`,
		Example: `  sudo nslab class end alice
  sudo nslab class end bob --why "the workshop is over for today"`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("%s takes one learner name (got %d arguments); `nslab class status` lists them", cmd.CommandPath(), len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			err := control.End(cmd.Context(), control.Path(dir), name, why)
			switch {
			case errors.Is(err, class.ErrNoLearner):
				return usageErrorf("no learner %q is connected to this class; `nslab class status` lists who is", name)
			case errors.Is(err, control.ErrBadReason):
				return usageErrorf("--why: %v", err)
			case err != nil:
				return withCode(exitMachine, err)
			}
			_, err = fmt.Fprintf(a.out, "%s's session is ended: their sandboxes close and their progress is kept.\n", name)
			return err
		},
	}
	cmd.Flags().StringVar(&why, "why", "", "the reason the learner reads (default \""+control.DefaultEndReason+"\")")
	cmd.Flags().StringVar(&dir, "state-dir", class.DefaultDir, "the state directory `nslab serve` uses")
	return cmd
}

// writeStatus prints the rows as a table.
func writeStatus(w io.Writer, resp control.Response) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LEARNER\tLESSON\tPART\tON PART\tPREDICTION\tHINTS\tCHALLENGE\tIDLE\tSTATE")
	for _, r := range resp.Rows {
		state := "connected"
		switch {
		case !r.Connected:
			state = "left"
		case r.Stuck:
			state = "STUCK"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.Name, orDash(r.Lesson), orDash(string(r.Part)),
			minSec(r.OnPart), orDash(r.Prediction), r.Hints, challengeWord(r), minSec(r.Idle), state)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if f := resp.Follow; f != nil {
		_, err := fmt.Fprintf(w, "following: %s, %s\n", f.Lesson, f.Part)
		return err
	}
	return nil
}

func challengeWord(r class.Row) string {
	switch {
	case r.SolutionShown:
		return "solution shown"
	case r.Solved:
		return "solved"
	}
	return "-"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// minSec is a duration as 4m05s.
func minSec(d time.Duration) string {
	d = d.Truncate(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
}

func (a *app) classExportCmd() *cobra.Command {
	var csvOut, jsonOut, junitOut bool
	var dir, file string
	cmd := &cobra.Command{
		Use:   "export --csv|--json|--junit",
		Short: "Write the class's results: one line per learner × lesson",
		Long: `export writes the results kept in the class's state directory, during the
class or after it: one record per learner × lesson (last part, prediction,
hints, solved, solution shown, seconds to solve). --junit writes JUnit XML
with one testcase per learner × lesson: it fails when the challenge is not
solved and is skipped when the solution was shown.`,
		Example: `  sudo nslab class export --csv -o results.csv
  sudo nslab class export --junit --state-dir /srv/class > class.xml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var write func(io.Writer, []class.Record) error
			n := 0
			for _, f := range []struct {
				on bool
				w  func(io.Writer, []class.Record) error
			}{{csvOut, class.WriteCSV}, {jsonOut, class.WriteJSON}, {junitOut, class.WriteJUnit}} {
				if f.on {
					n++
					write = f.w
				}
			}
			if n != 1 {
				return usageErrorf("export needs exactly one of --csv, --json, --junit")
			}
			st, err := class.Load(dir)
			if err != nil {
				if errors.Is(err, os.ErrPermission) {
					return withCode(exitMachine, fmt.Errorf("%w: the state directory is root's; run it with sudo", err))
				}
				return withCode(exitMachine, err)
			}
			var b bytes.Buffer
			if err := write(&b, st.Records()); err != nil {
				return err
			}
			if file == "" || file == "-" {
				_, err := a.out.Write(b.Bytes())
				return err
			}
			// Replaced whole, never left half-written.
			tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
			if err != nil {
				return withCode(exitMachine, fmt.Errorf("writing %s: %w", file, err))
			}
			defer os.Remove(tmp.Name())
			if _, err := tmp.Write(b.Bytes()); err != nil {
				_ = tmp.Close()
				return withCode(exitMachine, fmt.Errorf("writing %s: %w", file, err))
			}
			if err := tmp.Chmod(0o644); err != nil {
				_ = tmp.Close()
				return withCode(exitMachine, fmt.Errorf("writing %s: %w", file, err))
			}
			if err := tmp.Close(); err != nil {
				return withCode(exitMachine, fmt.Errorf("writing %s: %w", file, err))
			}
			if err := os.Rename(tmp.Name(), file); err != nil {
				return withCode(exitMachine, fmt.Errorf("writing %s: %w", file, err))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&csvOut, "csv", false, "CSV, with a header line")
	cmd.Flags().BoolVar(&jsonOut, "json", false, `JSON: {"results": [...]}`)
	cmd.Flags().BoolVar(&junitOut, "junit", false, "JUnit XML: a testcase per learner × lesson")
	cmd.Flags().StringVar(&dir, "state-dir", class.DefaultDir, "the state directory `nslab serve` uses")
	cmd.Flags().StringVarP(&file, "output", "o", "", "write to this file instead of standard output")
	return cmd
}
