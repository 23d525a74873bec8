package headless_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/catalog"
	"github.com/nslab/nslab/lessons/headless"
	"github.com/nslab/nslab/lessons/lessontest"
	"github.com/nslab/nslab/sandbox"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

// playWithInput plays lesson id as root, the host compared around it,
// with the learner's commands read from input; it returns the result and
// the text printed.
func playWithInput(t *testing.T, id, input string) (headless.Result, lessons.Lesson, string) {
	t.Helper()
	lessontest.NeedRoot(t)
	t.Cleanup(lessontest.HostUnchanged(t))
	l, err := catalog.ByID(id)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := headless.Play(t.Context(), lessontest.Engine(t), l, headless.Options{In: strings.NewReader(input), Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	return res, l, out.String()
}

// TestRunnerLearnerCommands plays the uts lesson without Solve, the way a
// workshop would: two hints, the solution, then quit.
func TestRunnerLearnerCommands(t *testing.T) {
	res, l, text := playWithInput(t, "uts", "1\nhint\nhint\nsolution\nquit\n")
	if res.Passed || !res.Quit || res.ChallengeOK {
		t.Errorf("result after quit: %+v", res)
	}
	ch := l.Challenge
	for _, want := range []string{
		"Hint 1/3: " + headless.PlainInline(ch.Hints[0]),
		"Hint 2/3: " + headless.PlainInline(ch.Hints[1]),
		"Solution:",
		"$ hostname lab",
		"$ domainname nslab.test",
		"nsenter --target",
		"Stopped before the end",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(text, "Hint 3/3") {
		t.Error("a third hint was shown unasked")
	}
	if strings.Contains(text, "── 7/7") {
		t.Error("the recap was shown after quit")
	}
	if !lessons.AllOK(res.Facts) {
		t.Errorf("facts: %+v", res.Facts)
	}
	if res.HintsUsed != 2 || !res.SolutionShown || res.Stopped != lessons.PartChallenge {
		t.Errorf("hints %d, solution shown %v, stopped at %q: want 2, true, challenge", res.HintsUsed, res.SolutionShown, res.Stopped)
	}
}

// TestRunnerPrediction: plain mode waits for the learner's number, asks
// again after anything else, locks the answer in and judges it after
// Observe; when the input ends first, the run stops there with
// ErrNoAnswer before any sandbox started.
func TestRunnerPrediction(t *testing.T) {
	res, l, text := playWithInput(t, "uts", "maybe\n0\n9\n 2 \nquit\n")
	for _, want := range []string{
		`"maybe" is not one of the choices: type a number from 1 to 3.`,
		`"0" is not one of the choices`, `"9" is not one of the choices`,
		"Locked in: 2) " + headless.PlainInline(l.Prediction.Choices[1]),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if res.PredictionChoice != 1 || res.PredictionRight < 0 || res.PredictionCorrect != (res.PredictionRight == 1) {
		t.Errorf("prediction in the result: %+v", res)
	}
	verdict := "✗ Your prediction, 2), is not what happened"
	if res.PredictionCorrect {
		verdict = "✓ Your prediction, 2), was right"
	}
	if !strings.Contains(text, verdict) {
		t.Errorf("output lacks the verdict %q", verdict)
	}
	if i, j := strings.Index(text, "Locked in"), strings.Index(text, "Trace"); i < 0 || j < i {
		t.Error("the syscalls ran before the answer was locked in")
	}

	var out bytes.Buffer
	res, err := headless.Play(t.Context(), lessontest.Engine(t), l, headless.Options{In: strings.NewReader("x\n"), Out: &out})
	if !errors.Is(err, headless.ErrNoAnswer) || res.Stopped != lessons.PartPredict || res.Passed {
		t.Errorf("input ended at the prediction: err %v, result %+v", err, res)
	}
	if !strings.Contains(err.Error(), "--answer") || strings.Contains(out.String(), "Trace") {
		t.Errorf("the error does not say what to do, or the lesson went on: %v\n%s", err, out.String())
	}
	// --answer out of range is refused before anything runs.
	if _, err := headless.Play(t.Context(), lessontest.Engine(t), l, headless.Options{Answer: 4, Solve: true, Out: &out}); !errors.Is(err, headless.ErrBadAnswer) {
		t.Errorf("answer 4 of 3: %v", err)
	}
}

// TestRunnerCheckThenSkip: a check on the unsolved state fails, skip ends
// the challenge without passing, and the recap still follows.
func TestRunnerCheckThenSkip(t *testing.T) {
	res, _, text := playWithInput(t, "uts", "3\nfrobnicate\ncheck\nhint\nhint\nhint\nhint\nskip\n")
	if res.Passed || res.ChallengeOK || !res.Skipped || res.Quit {
		t.Errorf("result: %+v", res)
	}
	for _, want := range []string{"Unknown command", "✗ not yet", "Hint 3/3", "No more hints", "Challenge skipped", "── 7/7", "NOT PASSED"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// TestRunnerJSON: with JSON every line is an object with a type, and the
// stream has the parts, the trace, the observation, facts and the result.
func TestRunnerJSON(t *testing.T) {
	lessontest.NeedRoot(t)
	t.Cleanup(lessontest.HostUnchanged(t))
	l, err := catalog.ByID("pid")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := headless.Play(t.Context(), lessontest.Engine(t), l, headless.Options{JSON: true, Solve: true, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Passed {
		t.Errorf("not passed: %+v", res)
	}
	types := map[string]int{}
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	n := 0
	var last map[string]any
	for sc.Scan() {
		n++
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", n, err, sc.Text())
		}
		typ, ok := m["type"].(string)
		if !ok || typ == "" {
			t.Fatalf("line %d has no type: %s", n, sc.Text())
		}
		types[typ]++
		last = m
	}
	for _, want := range []string{"lesson", "part", "prediction", "command", "event", "observation", "fact", "verdict", "experiments", "challenge", "solution", "check", "claims", "result"} {
		if types[want] == 0 {
			t.Errorf("no %q line (got %v)", want, types)
		}
	}
	if types["part"] != 7 {
		t.Errorf("%d part lines, want 7", types["part"])
	}
	if last["type"] != "result" || last["passed"] != true {
		t.Errorf("last line: %v", last)
	}
}

// TestRunnerClosesOnPanic: a lesson whose Perform panics after its sandbox
// started ends in an error, and its agent is gone.
func TestRunnerClosesOnPanic(t *testing.T) {
	lessontest.NeedRoot(t)
	t.Cleanup(lessontest.HostUnchanged(t))
	agent := 0
	l := testLesson2(func(ctx context.Context, r *lessons.Sandboxes) error {
		agent = r.Box.PID()
		panic("boom")
	})
	var out bytes.Buffer
	_, err := headless.Play(t.Context(), lessontest.Engine(t), l, headless.Options{Solve: true, Out: &out})
	if err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("err = %v", err)
	}
	if agent == 0 {
		t.Fatal("perform never ran")
	}
	if alive(agent) {
		t.Errorf("agent %d still alive after a panic", agent)
	}
}

// TestRunnerStepTimeout: a step that hangs is cut off by the step timeout,
// and the sandbox is closed.
func TestRunnerStepTimeout(t *testing.T) {
	lessontest.NeedRoot(t)
	t.Cleanup(lessontest.HostUnchanged(t))
	agent := 0
	l := testLesson2(func(ctx context.Context, r *lessons.Sandboxes) error {
		agent = r.Box.PID()
		<-ctx.Done()
		return ctx.Err()
	})
	start := time.Now()
	_, err := headless.Play(t.Context(), lessontest.Engine(t), l, headless.Options{Solve: true, Out: &bytes.Buffer{}, StepTimeout: 500 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	if agent == 0 || alive(agent) {
		t.Errorf("agent %d: not started or still alive", agent)
	}
}

// testLesson2 is a minimal lesson around a given Perform.
func testLesson2(perform func(ctx context.Context, r *lessons.Sandboxes) error) lessons.Lesson {
	return lessons.Lesson{Meta: lessons.Meta{ID: "test", Title: "t"}, Logic: lessons.Logic{
		Spec:    sandbox.Spec{Flags: sandbox.CloneNewUTS},
		Perform: perform,
		Views:   []sandbox.View{sandbox.ViewUTS},
	}}
}

// alive reports whether a process exists and is not a zombie.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z"
}

// TestRunnerCancelWhileWaiting: a learner who never types does not keep
// the run alive once its context ends (Ctrl-C), and the sandbox closes.
func TestRunnerCancelWhileWaiting(t *testing.T) {
	lessontest.NeedRoot(t)
	t.Cleanup(lessontest.HostUnchanged(t))
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	agent := 0
	l := testLesson2(func(ctx context.Context, r *lessons.Sandboxes) error { agent = r.Box.PID(); return nil })
	l.Challenge = lessons.Challenge{Task: "wait"}
	l.Logic.Check = func(context.Context, *lessons.Sandboxes) (bool, string, error) { return false, "no", nil }
	ctx, cancel := context.WithTimeout(t.Context(), 700*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := headless.Play(ctx, lessontest.Engine(t), l, headless.Options{In: pr, Out: &bytes.Buffer{}})
	if !errors.Is(err, context.DeadlineExceeded) || res.Passed {
		t.Fatalf("err %v, result %+v", err, res)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	if agent == 0 || alive(agent) {
		t.Errorf("agent %d: not started or still alive", agent)
	}
}
