// Package lessons is the curriculum: each lesson's text (Markdown, embedded)
// and metadata, the Go logic that performs its real syscalls through the
// sandbox engine, the checks of its prediction and challenge against kernel
// state, and a headless runner. It knows nothing about bubbletea.
package lessons

import (
	"context"

	"github.com/nslab/nslab/sandbox"
)

// Part is one of the seven parts every lesson walks through, in this order.
type Part string

const (
	PartConcept    Part = "concept"
	PartPredict    Part = "predict"
	PartPerform    Part = "perform"
	PartObserve    Part = "observe"
	PartExperiment Part = "experiment"
	PartChallenge  Part = "challenge"
	PartRecap      Part = "recap"
)

// Parts lists the parts in walking order.
func Parts() []Part {
	return []Part{PartConcept, PartPredict, PartPerform, PartObserve, PartExperiment, PartChallenge, PartRecap}
}

// Meta is a lesson's metadata, from its folder's meta.json.
type Meta struct {
	ID       string   `json:"id"`       // "uts": used on the command line
	Number   int      `json:"number"`   // position in the curriculum, 1-based
	Title    string   `json:"title"`    // "UTS namespaces: a hostname of your own"
	Summary  string   `json:"summary"`  // one line
	Syscalls []string `json:"syscalls"` // "clone", "unshare", "setns", "sethostname" ...
	Kinds    []string `json:"kinds"`    // namespace kinds it creates or joins: "uts", "pid" ...
	Rootless bool     `json:"rootless"` // works for an unprivileged user through a user namespace
	Minutes  int      `json:"minutes"`
	ManPages []string `json:"man_pages"` // "uts_namespaces(7)", "unshare(2)" ...
	// Command is the equivalent util-linux command line, shown in Perform.
	Command string `json:"command"`
}

// Section is one part of a lesson's text.
type Section struct {
	Part  Part
	Title string // the heading text after "## "
	Body  string // Markdown, without the heading
}

// Prediction is the question asked before the syscall. Its answer is
// computed from the observation, never a literal: Answer returns the index
// of the choice that is right given what the kernel showed, and a sentence
// that explains it with the observed values.
type Prediction struct {
	Question string
	Choices  []string
	Answer   func(o Observation) (correct int, why string)
}

// Fact is one statement the lesson makes, checked against the snapshots:
// "the child is PID 1 inside" with OK true when the kernel agrees.
type Fact struct {
	Text string `json:"text"`
	OK   bool   `json:"ok"`
	// Got is the observed value that decided OK, for the learner and tests.
	Got string `json:"got,omitempty"`
}

// Challenge is the task done in the sandbox shell, checked against kernel
// state. Check must report false on the unsolved state (a test shows it).
type Challenge struct {
	Task     string   // what to do, one or two sentences
	Hints    []string // up to three, progressive
	Solution []string // shell commands that solve it, shown after confirmation
	// Check inspects real kernel state; detail says what it saw.
	Check func(ctx context.Context, r *Run) (ok bool, detail string, err error)
	// Solve performs the reference solution through the engine (the
	// headless runner's --solve and the tests use it).
	Solve func(ctx context.Context, r *Run) error
}

// Logic is a lesson's Go side.
type Logic struct {
	// Spec is the sandbox the lesson starts before Perform (Flags may be 0
	// for lessons that unshare or setns from an agent that starts plain).
	Spec sandbox.Spec
	// Perform does the lesson's real syscalls after the sandbox started.
	Perform func(ctx context.Context, r *Run) error
	// Views are the views the Observe part shows, host against sandbox.
	Views []sandbox.View
	// Extra, if set, adds lesson-specific observations to every
	// Observation (Observation.Extra), read live from kernel state at
	// observe time (a second sandbox's identities, a process count).
	// Values kept with Run.Set during Perform are added as well.
	Extra func(ctx context.Context, r *Run) (map[string]string, error)
	// Facts derives the lesson's statements from an observation.
	Facts      func(o Observation) []Fact
	Prediction Prediction
	Challenge  Challenge
	// Experiments are commands suggested for the shell.
	Experiments []string
}

// Lesson is a lesson's text, metadata and logic together.
type Lesson struct {
	Meta
	Sections []Section // one per part, in Parts() order
	Logic    Logic
}

// Section returns the section of part p (zero Section when missing).
func (l Lesson) Section(p Part) Section {
	for _, s := range l.Sections {
		if s.Part == p {
			return s
		}
	}
	return Section{}
}

// Observation is one look at both sides, with per-view diffs.
type Observation struct {
	Host    sandbox.Snapshot
	Sandbox sandbox.Snapshot
	Diffs   map[sandbox.View][]sandbox.Delta
	// Extra holds lesson-specific observations (e.g. a child's own view
	// of its PID, the clocks in a time namespace), keyed by name.
	Extra map[string]string
}
