// Package lessons is the core of the curriculum: what a lesson is (text,
// data, logic), the embedded lesson folders and their loader and content
// lint, the Session that walks a lesson part by part, the Sandboxes a
// lesson plays in, the helpers lesson logic shares, and the learner's
// progress. Each lesson's logic lives in its own package below (NN-id/),
// joined by package catalog; the headless runner is package headless.
// It may import sandbox only: never a lesson, catalog, headless, ui or
// bubbletea.
package lessons

import (
	"context"
	"strings"

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

// Meta is a lesson's metadata, from the top of its folder's lesson.toml.
type Meta struct {
	ID       string   `json:"id" toml:"id"`             // "uts": used on the command line
	Number   int      `json:"number" toml:"number"`     // position in the curriculum, 1-based
	Title    string   `json:"title" toml:"title"`       // "UTS namespaces: a hostname of your own"
	Summary  string   `json:"summary" toml:"summary"`   // one line
	Syscalls []string `json:"syscalls" toml:"syscalls"` // "clone", "unshare", "setns", "sethostname" ...
	Kinds    []string `json:"kinds" toml:"kinds"`       // namespace kinds it creates or joins: "uts", "pid" ...
	Rootless bool     `json:"rootless" toml:"rootless"` // works for an unprivileged user through a user namespace
	Minutes  int      `json:"minutes" toml:"minutes"`
	// ManPages are the sources of the lesson's claims: "uts_namespaces(7)" ...
	ManPages []string `json:"man_pages" toml:"man_pages"`
	// Command is the equivalent util-linux command line, shown in Perform.
	Command string `json:"command" toml:"command"`
}

// Section is one part of a lesson's text.
type Section struct {
	Part  Part
	Title string // the heading text after "## "
	Body  string // Markdown, without the heading
}

// Prediction is the question asked before the syscall, from lesson.toml.
// Its answer is computed from the observation by Logic.Answer, never
// written down.
type Prediction struct {
	Question string   `toml:"question"`
	Choices  []string `toml:"choices"`
	// Right is the choice (1-based, in the order above) that the kernel's
	// rules make right. Shuffled anchors the order on it, so that every
	// seed spreads the right answers over the positions; the answer a
	// learner is judged by is still the kernel's (Logic.Answer), and
	// TestPlainEveryLesson holds Right to what this kernel answers.
	Right int `toml:"right"`
	// Order is set by Shuffled: the shown position i holds the choice
	// lesson.toml lists at Order[i] (nil: lesson.toml's order).
	Order []int `toml:"-"`
}

// Challenge is the task done in the sandbox shell, from lesson.toml. It is
// checked against kernel state by Logic.Check.
type Challenge struct {
	Task  string   `toml:"task"`  // what to do, one or two sentences
	Hints []string `toml:"hints"` // up to three, progressive
	// Solution holds the shell commands that solve it, shown after a
	// confirmation and run by Solve (lines starting with '#' are comments).
	Solution []string `toml:"solution"`
}

// Claim is one kernel rule a lesson states, with the man page (and
// section) it rests on, from lesson.toml's [[claims]].
type Claim struct {
	Rule   string `json:"rule" toml:"rule"`     // "unshare(CLONE_NEWNS) implies CLONE_FS"
	Source string `json:"source" toml:"source"` // "unshare(2)", a page in the known list
	// Section is the heading of the man page the rule is under
	// ("DESCRIPTION, CLONE_NEWNS").
	Section string `json:"section" toml:"section"`
	// Test names the privileged test that demonstrates the rule on this
	// kernel, "" when the lesson's own walk shows it.
	Test string `json:"test,omitempty" toml:"test"`
}

// Fact is one statement the lesson makes, checked against the snapshots:
// "the child is PID 1 inside" with OK true when the kernel agrees.
type Fact struct {
	Text string `json:"text"`
	OK   bool   `json:"ok"`
	// Got is the observed value that decided OK, for the learner and tests.
	Got string `json:"got,omitempty"`
}

// Logic is a lesson's Go side: what cannot be data because it makes
// syscalls or reads kernel state.
type Logic struct {
	// Spec is the sandbox the lesson starts before Perform (Flags may be 0
	// for lessons that unshare or setns from an agent that starts plain).
	Spec sandbox.Spec
	// Perform does the lesson's real syscalls after the sandbox started.
	Perform func(ctx context.Context, r *Sandboxes) error
	// Views are the views the Observe part shows, host against sandbox
	// (Lesson.Views adds the namespace identities in front).
	Views []sandbox.View
	// Extra, if set, adds lesson-specific observations to every
	// Observation (Observation.Extra), read live from kernel state at
	// observe time (a second sandbox's identities, a process count).
	// Values kept with Sandboxes.Set during Perform are added as well.
	Extra func(ctx context.Context, r *Sandboxes) (map[string]string, error)
	// Peers, if set, reads the mount namespaces the lesson made at every
	// observation (Observation.Peers): the ui draws their peer groups.
	Peers func(ctx context.Context, r *Sandboxes) (*sandbox.PeerDiagram, error)
	// Joiner, if set, names a third side (setns's joiner: the process the
	// lesson moves into the sandbox's namespaces) and the views it is
	// observed in, from the host like the others; nil before it exists.
	Joiner func(r *Sandboxes) (*sandbox.Sandbox, []sandbox.View)
	// Facts derives the lesson's statements from an observation.
	Facts func(o Observation) []Fact
	// Answer returns the index of the prediction's choice that is right
	// given what the kernel showed, and a sentence that explains it with
	// the observed values.
	Answer func(o Observation) (correct int, why string)
	// Check inspects real kernel state for the challenge; detail says what
	// it saw. It must report false on the unsolved state (a test shows it).
	Check func(ctx context.Context, r *Sandboxes) (ok bool, detail string, err error)
	// Solve, if set, replaces running the Solution lines in the lesson
	// sandbox's shell (the headless runner's --solve and the tests use it).
	Solve func(ctx context.Context, r *Sandboxes) error
}

// Lesson is a lesson's text, data and logic together.
type Lesson struct {
	Meta
	Prediction Prediction
	Challenge  Challenge
	// Experiments are commands suggested for the shell; a test runs each.
	Experiments []string
	// ShellNew lists the namespace kinds (/proc/PID/ns names) in which the
	// shells nslab offers for this lesson (the TUI's and plain mode's
	// nsenter line) are not in the host's namespace; for every other kind
	// they are in the host's. The lesson's text must say the same; a test
	// holds both shells to it.
	ShellNew []string
	// Claims are the kernel rules the lesson states, each with its source.
	Claims   []Claim
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

// Views lists what the Observe part shows, in order: the namespace
// identities first, then the lesson's own views.
func (l Lesson) Views() []sandbox.View {
	views := []sandbox.View{sandbox.ViewIDs}
	for _, v := range l.Logic.Views {
		if v != sandbox.ViewIDs {
			views = append(views, v)
		}
	}
	return views
}

// Observation is one look at both sides, with per-view diffs.
type Observation struct {
	Host    sandbox.Snapshot
	Sandbox sandbox.Snapshot
	Diffs   map[sandbox.View][]sandbox.Delta
	// Joiner is the third side of a lesson with a joiner (Logic.Joiner),
	// nil otherwise: its views are shown beside HOST and the sandbox.
	Joiner *sandbox.Snapshot `json:",omitempty"`
	// Extra holds lesson-specific observations (e.g. a child's own view
	// of its PID, the clocks in a time namespace), keyed by name.
	Extra map[string]string
	// Peers is the peer-group diagram of the lesson's mount namespaces,
	// nil for lessons without Logic.Peers.
	Peers *sandbox.PeerDiagram
	// Confinement is how the class server confines the learner
	// (sandbox.Engine.ConfinementNote), "" on an ordinary engine.
	Confinement string `json:",omitempty"`
	// OnBehalf are the privileged operations the engine did on the host
	// for the lesson's sandboxes, as recorded when done (Sandboxes.HostOps):
	// in a class, what the server did on the learner's behalf.
	OnBehalf []sandbox.HostOp `json:",omitempty"`
}

// JoinerColumn is the joiner's value in each row of view v, by row key,
// and whether the joiner was observed in v. The joiner is diffed against
// the host exactly as the sandbox is, so its values read like the
// sandbox's.
func (o Observation) JoinerColumn(v sandbox.View) (map[string]string, bool) {
	if o.Joiner == nil || !o.Joiner.Has(v) || !o.Host.Has(v) {
		return nil, false
	}
	out := map[string]string{}
	for _, d := range sandbox.Diff(o.Host, *o.Joiner, v) {
		if d.Kind != sandbox.OnlyHost {
			out[d.Key] = d.Sandbox
		}
	}
	return out, true
}

// TaskLine is the challenge's task as a line of its own under the
// Challenge section, or "" when that section has text, which then is the
// task's one statement (printing both said each task twice). The task
// from lesson.toml stays the data: JSON events and the lint use it.
func (l Lesson) TaskLine() string {
	if strings.TrimSpace(l.Section(PartChallenge).Body) != "" {
		return ""
	}
	return l.Challenge.Task
}
