package catalog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/headless"
	"github.com/nslab/nslab/lessons/lessontest"
)

// TestPlainEveryLesson plays every lesson of the catalog as root through
// the headless runner, in a learner's shuffled order (seed 7), with an
// answer and the reference solution, in plain text and in JSON lines, and
// once more the learner's way (check, every hint, the solution, quit):
//   - the plain text holds no Markdown marker and no TUI key
//     (headless.RawMarkdown, shown failing on each marker by
//     TestPlainText);
//   - every part's text in the JSON stream is the text plain mode printed;
//   - the right answers the kernel gave sit at one shown position in at
//     most half of the lessons (TestShuffleSpreadsRightAnswers shows the
//     check failing without the shuffle).
func TestPlainEveryLesson(t *testing.T) {
	lessontest.NeedRoot(t)
	t.Cleanup(lessontest.HostUnchanged(t))
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	eng := lessontest.Engine(t)
	const seed = 7
	var shown, written []int
	for _, l := range all {
		l := l.Shuffled(seed)
		t.Run(l.ID, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			var plain, js bytes.Buffer
			res, err := headless.Play(ctx, eng, l, headless.Options{Solve: true, Answer: 1, Out: &plain})
			if err != nil || !res.Passed {
				t.Fatalf("plain: %v %+v\n%s", err, res, plain.String())
			}
			if err := headless.RawMarkdown(plain.String()); err != nil {
				t.Error(err)
			}
			shown = append(shown, res.PredictionRight)
			written = append(written, l.Prediction.Order[res.PredictionRight])
			if w := l.Prediction.Order[res.PredictionRight] + 1; w != l.Prediction.Right {
				t.Errorf("the kernel made choice %d right, lesson.toml's right = %d: the seeded order is anchored on the wrong choice", w, l.Prediction.Right)
			}
			if _, err := headless.Play(ctx, eng, l, headless.Options{Solve: true, Answer: 1, JSON: true, Out: &js}); err != nil {
				t.Fatalf("json: %v", err)
			}
			// The learner's way: the check on the unsolved state, every
			// hint, the solution, then quit: their words are clean too.
			var asked bytes.Buffer
			in := "check\n" + strings.Repeat("hint\n", len(l.Challenge.Hints)) + "solution\nquit\n"
			if _, err := headless.Play(ctx, eng, l, headless.Options{Answer: 1, In: strings.NewReader(in), Out: &asked}); err != nil {
				t.Fatalf("with commands: %v\n%s", err, asked.String())
			}
			if !strings.Contains(asked.String(), "✗ not yet") || !strings.Contains(asked.String(), "Solution:") {
				t.Errorf("the check, hints and solution were not all shown:\n%s", asked.String())
			}
			if err := headless.RawMarkdown(asked.String()); err != nil {
				t.Error(err)
			}
			parts := 0
			sc := bufio.NewScanner(&js)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var ev struct {
					Type  string `json:"type"`
					Title string `json:"title"`
					Body  string `json:"body"`
				}
				if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
					t.Fatalf("not JSON: %v: %s", err, sc.Text())
				}
				if ev.Type != "part" {
					continue
				}
				parts++
				if !strings.Contains(plain.String(), ev.Title+" ──\n\n"+ev.Body+"\n") {
					t.Errorf("the JSON text of part %q is not what plain mode printed:\n%s", ev.Title, ev.Body)
				}
			}
			if parts != len(lessons.Parts()) {
				t.Errorf("%d parts in the JSON stream", parts)
			}
		})
	}
	if t.Failed() {
		return
	}
	share, at := lessons.SamePositionShare(shown)
	t.Logf("seed %d: right answers shown at %v; at most %.0f%% at one position (%d)", seed, shown, 100*share, at+1)
	if share > 0.5 {
		t.Errorf("seed %d puts the right answer at %d in %.0f%% of the lessons", seed, at+1, 100*share)
	}
	ws, wat := lessons.SamePositionShare(written)
	t.Logf("as written in lesson.toml: %.0f%% at %d", 100*ws, wat+1)
}
