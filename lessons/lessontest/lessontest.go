// Package lessontest is the one walker every lesson's test uses: it plays a
// lesson for real (Perform, Observe, facts, prediction, challenge) and then
// through the headless runner, and checks the host is unchanged around it.
// It owns no lesson: it may import lessons, lessons/headless and sandbox,
// and must never be imported by code that ships.
package lessontest

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/headless"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/sandbox/idrange"
	"github.com/nslab/nslab/sandbox/sandboxtest"
)

// stepTimeout bounds one walk or one headless run.
const stepTimeout = 3 * time.Minute

// Main is a lesson test package's TestMain: agents re-execute the test
// binary through /proc/self/exe, and the hidden entry must run first.
func Main(m *testing.M) {
	if sandbox.IsHidden(os.Args) {
		os.Exit(sandbox.RunHidden(os.Args))
	}
	os.Exit(m.Run())
}

// NeedRoot skips a privileged test for a non-root user with the reason.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: this test creates namespaces and compares the host")
	}
}

// HostUnchanged takes the host's fingerprint now and returns a function
// that fails t if the host differs afterwards. Register it first with
// t.Cleanup, so that it runs after every other cleanup.
func HostUnchanged(t testing.TB) func() {
	t.Helper()
	return sandboxtest.Unchanged(t)
}

// Lesson is the lesson with id from the embedded catalogue, joined with
// logic.
func Lesson(t testing.TB, id string, logic func() lessons.Logic) lessons.Lesson {
	t.Helper()
	l, err := lessons.LoadLesson(lessons.Content(), id, logic)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Engine starts an engine that is closed when the test ends.
func Engine(t testing.TB) *sandbox.Engine {
	t.Helper()
	eng, err := sandbox.NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := eng.Close(); err != nil {
			t.Errorf("engine close: %v", err)
		}
	})
	return eng
}

// ConfinedEngine starts an engine that confines a class learner called
// name as nslab serve does (sandbox.NewConfinedEngine), with an id range
// above the host's from a fresh state directory; closed when the test ends.
func ConfinedEngine(t testing.TB, name string) *sandbox.Engine {
	t.Helper()
	alloc, err := idrange.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r, err := alloc.For(name)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := sandbox.NewConfinedEngine(sandbox.Confinement{Name: name, IDs: r})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := eng.Close(); err != nil {
			t.Errorf("confined engine close: %v", err)
		}
	})
	return eng
}

// PlayConfined is Play for a class learner: the lesson walked and played
// headless on a confined engine (ConfinedEngine).
func PlayConfined(t testing.TB, l lessons.Lesson, want Want) (*lessons.Session, lessons.Observation) {
	t.Helper()
	NeedRoot(t)
	t.Cleanup(HostUnchanged(t))
	eng := ConfinedEngine(t, "learner")
	ctx, cancel := context.WithTimeout(t.Context(), stepTimeout)
	defer cancel()
	s, o := Walk(t, ctx, eng, l, want)
	Headless(t, ctx, eng, l, want)
	return s, o
}

// Performed is the start of a lesson's own privileged checks beyond Play:
// as root, with the host compared before and after, a session of l on a
// fresh engine that has performed; the context ends with the test (at
// most a minute), and the session is closed when the test ends.
func Performed(t testing.TB, l lessons.Lesson) (*lessons.Session, context.Context) {
	t.Helper()
	NeedRoot(t)
	t.Cleanup(HostUnchanged(t))
	return performedOn(t, Engine(t), l)
}

// PerformedConfined is Performed for a class learner: on a confined
// engine (ConfinedEngine).
func PerformedConfined(t testing.TB, l lessons.Lesson) (*lessons.Session, context.Context) {
	t.Helper()
	NeedRoot(t)
	t.Cleanup(HostUnchanged(t))
	return performedOn(t, ConfinedEngine(t, "learner"), l)
}

func performedOn(t testing.TB, eng *sandbox.Engine, l lessons.Lesson) (*lessons.Session, context.Context) {
	t.Helper()
	s := lessons.NewSession(eng, l, nil)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("session close: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	if err := s.Perform(ctx); err != nil {
		t.Fatal(err)
	}
	return s, ctx
}

// AnyChoice as Want.Right accepts any of the prediction's choices, as
// long as the kernel's answer is one of them and explained.
const AnyChoice = -1

// Want is what a test knows about a lesson beyond its logic.
type Want struct {
	// Right is the prediction's choice (0-based) a correct kernel makes
	// right, or AnyChoice.
	Right int
	// Facts is how many facts the lesson states; 0 means at least one.
	Facts int
	// Wrong are plausible wrong answers to the challenge (Play needs at
	// least two). When set, Walk also holds the lesson's shells to its
	// data and runs every suggested experiment (see Experiments) before
	// trying them.
	Wrong []Attempt
	// Secrets, if set, returns the values the learner has to work out to
	// solve the challenge and that the task does not state (an identity's
	// inode, a PID, a gateway's address), read from the performed
	// session. A failing check must never show one: it says what is wrong
	// in the learner's terms, and only a hint may give a value.
	Secrets func(s *lessons.Session) []string
}

// Play is a lesson's whole privileged test: as root, with the host
// compared before and after, it walks the lesson (Walk) and then plays it
// through the headless runner with its solution (Headless). It returns the
// walk's session, still open (closed when the test ends) and solved, and
// its observation, for the lesson's own further checks.
func Play(t testing.TB, l lessons.Lesson, want Want) (*lessons.Session, lessons.Observation) {
	t.Helper()
	NeedRoot(t)
	t.Cleanup(HostUnchanged(t)) // first registered, so it runs last
	eng := Engine(t)
	ctx, cancel := context.WithTimeout(t.Context(), stepTimeout)
	defer cancel()
	if len(want.Wrong) < 2 {
		t.Errorf("lesson %s: %d wrong attempts at its challenge, want at least 2", l.ID, len(want.Wrong))
	}
	s, o := Walk(t, ctx, eng, l, want)
	Headless(t, ctx, eng, l, want)
	return s, o
}

// Walk plays l in a session of eng: Perform; Observe, where every fact
// holds and is derived from the kernel (it breaks when the sandbox is put
// in the host's namespaces, none holds on an empty observation, and each
// fails on some doctored observation: FactsCanFail); the
// prediction, whose right answer is want.Right with an explanation; and
// the challenge, whose check fails with a reason on the unsolved state and
// passes after Solve; paused at the challenge, its views agree with
// util-linux and iproute2 (AgainstTools). The session is closed when the test ends.
func Walk(t testing.TB, ctx context.Context, eng *sandbox.Engine, l lessons.Lesson, want Want) (*lessons.Session, lessons.Observation) {
	t.Helper()
	s := lessons.NewSession(eng, l, nil)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("session close: %v", err)
		}
	})
	if err := s.Perform(ctx); err != nil {
		logTrace(t, s)
		if b := s.Sandboxes().Box; b != nil {
			t.Logf("agent stderr: %s", b.Stderr())
		}
		t.Fatalf("perform: %v", err)
	}
	o, err := s.Observe(ctx)
	if err != nil {
		t.Fatalf("observe: %v", err)
	}
	facts := s.Facts(o)
	if len(facts) == 0 || (want.Facts > 0 && len(facts) != want.Facts) {
		t.Errorf("%d facts, want %d (0: at least one)", len(facts), want.Facts)
	}
	for _, f := range facts {
		if !f.OK {
			t.Errorf("fact does not hold: %s (got %s)", f.Text, f.Got)
		}
	}
	if t.Failed() {
		logTrace(t, s)
		t.Logf("extra: %v", o.Extra)
	}
	factsAreDerived(t, l, o)
	FactsCanFail(t, l, o)

	if n := len(l.Prediction.Choices); n < 2 || want.Right >= n {
		t.Errorf("prediction has %d choices, the right one is %d", n, want.Right)
	}
	ok, right, why := s.Answer(want.Right, o)
	if want.Right == AnyChoice {
		ok = right >= 0 && right < len(l.Prediction.Choices)
	}
	if !ok || why == "" {
		t.Errorf("prediction: the kernel made choice %d right (%q), want %d", right, why, want.Right)
	}

	ok, detail, err := s.Check(ctx)
	if err != nil {
		t.Fatalf("check before solving: %v", err)
	}
	if ok {
		t.Fatalf("the check passes on the unsolved state: %s", detail)
	}
	if detail == "" {
		t.Error("a failing check says nothing about why")
	}
	var secrets []string
	if want.Secrets != nil {
		if secrets = want.Secrets(s); len(secrets) == 0 {
			t.Error("Want.Secrets found no value to keep from the learner")
		}
	}
	if v, found := GivesAway(detail, secrets); found {
		t.Errorf("the failing check gives the value %q away: %s", v, detail)
	}
	// Paused at the challenge, sandboxes live: the views against the tools.
	AgainstTools(t, ctx, s)
	if want.Wrong != nil {
		ShellNamespaces(t, ctx, s, l)
		Experiments(t, ctx, s, l)
		WrongAttempts(t, ctx, s, want.Wrong, secrets...)
	}
	if err := s.Solve(ctx); err != nil {
		t.Fatalf("solve: %v", err)
	}
	ok, detail, err = s.Check(ctx)
	if err != nil || !ok {
		t.Fatalf("check after solving: %v %v: %s", ok, err, detail)
	}
	return s, o
}

// factsAreDerived shows the facts read the observation: with the
// sandbox's identities replaced by the host's some fact fails, and on an
// observation that saw nothing none holds.
func factsAreDerived(t testing.TB, l lessons.Lesson, o lessons.Observation) {
	t.Helper()
	bent := o
	bent.Sandbox.IDs = maps.Clone(o.Host.IDs)
	bent.Diffs = sandbox.DiffAll(bent.Host, bent.Sandbox)
	if lessons.AllOK(l.Logic.Facts(bent)) {
		t.Error("every fact still holds when the sandbox is in the host's namespaces")
	}
	for _, f := range l.Logic.Facts(lessons.Observation{Extra: map[string]string{}}) {
		if f.OK {
			t.Errorf("fact holds on an empty observation: %s (%s)", f.Text, f.Got)
		}
	}
}

// Headless plays l through the headless runner with its solution, in
// plain text and in JSON lines: both must pass, with want.Right as the
// prediction's answer.
func Headless(t testing.TB, ctx context.Context, eng *sandbox.Engine, l lessons.Lesson, want Want) {
	t.Helper()
	for _, js := range []bool{false, true} {
		var out bytes.Buffer
		res, err := headless.Play(ctx, eng, l, headless.Options{Solve: true, JSON: js, Out: &out})
		if err != nil {
			t.Fatalf("headless (json %v): %v\n%s", js, err, out.String())
		}
		rightOK := res.PredictionRight == want.Right ||
			(want.Right == AnyChoice && res.PredictionRight >= 0 && res.PredictionRight < len(l.Prediction.Choices))
		if !res.Passed || !res.ChallengeOK || !rightOK {
			t.Errorf("headless (json %v): %+v\n%s", js, res, out.String())
		}
		words := []string{"HOST", "SANDBOX", "✓", "Lesson " + l.ID + ": PASSED", l.Command}
		if js {
			words = []string{`"type":`, `"passed":true`}
		}
		// A class learner reads how the server confines them and what it
		// did on their behalf (the engine's own words).
		if note := eng.ConfinementNote(); note != "" && js {
			words = append(words, `"type":"confinement"`, `"type":"on_behalf"`)
		} else if note != "" {
			words = append(words, "In this class: "+note, "On your behalf, the class server")
		}
		for _, w := range words {
			if !strings.Contains(out.String(), w) {
				t.Errorf("headless (json %v) output lacks %q:\n%s", js, w, out.String())
			}
		}
		if js {
			wordsAgree(t, l, out.Bytes())
		}
	}
}

// wordsAgree holds the words of every view the JSON run printed to its
// rows (headless.CheckWords), and wants one observation per view.
func wordsAgree(t testing.TB, l lessons.Lesson, out []byte) {
	t.Helper()
	seen := map[sandbox.View]bool{}
	for _, line := range bytes.Split(out, []byte("\n")) {
		var o struct {
			Type  string          `json:"type"`
			View  sandbox.View    `json:"view"`
			Rows  []sandbox.Delta `json:"rows"`
			Words string          `json:"words"`
		}
		if json.Unmarshal(line, &o) != nil || o.Type != "observation" {
			continue
		}
		seen[o.View] = true
		if err := headless.CheckWords(o.Words, o.Rows); err != nil {
			t.Errorf("view %s: %v", o.View, err)
		}
	}
	for _, v := range l.Views() {
		if !seen[v] {
			t.Errorf("the JSON run printed no observation of view %s", v)
		}
	}
}

func logTrace(t testing.TB, s *lessons.Session) {
	t.Helper()
	for _, e := range s.Events() {
		t.Logf("trace: %s %s %s", e, e.Detail(), e.Note)
	}
}

// GivesAway reports whether a failing check's detail shows one of the
// values the learner has to work out, and which.
func GivesAway(detail string, secrets []string) (string, bool) {
	for _, v := range secrets {
		if v != "" && strings.Contains(detail, v) {
			return v, true
		}
	}
	return "", false
}
