package class

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/nslab/nslab/lessons"
)

// StateVersion is the version of the state file this nslab writes.
const StateVersion = 1

// stateFile is the class's state, in its state directory.
const stateFile = "class.json"

// ErrStateCorrupt: the state file is not one nslab can read.
var ErrStateCorrupt = errors.New("class state file is corrupt")

// ErrNoState: the directory holds no class state (no class ran there).
var ErrNoState = errors.New("no class state here")

// State is the whole state file.
type State struct {
	Version  int                `json:"version"`
	Learners map[string]*Record `json:"learners"`
	// Follow is the lesson and part the class follows (nil: none).
	Follow *Follow `json:"follow,omitempty"`
}

// Record is one learner's record.
type Record struct {
	Name      string    `json:"name"`
	Joined    time.Time `json:"joined"`
	Connected bool      `json:"connected"`
	// Lesson and Part are where the learner is ("" on the home page).
	Lesson string       `json:"lesson,omitempty"`
	Part   lessons.Part `json:"part,omitempty"`
	// PartSince is when they came to that part; LastActive their last key.
	PartSince  time.Time `json:"part_since"`
	LastActive time.Time `json:"last_active"`
	// Lessons is every lesson they opened, by id.
	Lessons map[string]*LessonRecord `json:"lessons"`
}

// LessonRecord is how one lesson went for one learner.
type LessonRecord struct {
	Opened         time.Time    `json:"opened"`
	Part           lessons.Part `json:"part,omitempty"` // the last part they were at
	Predicted      bool         `json:"predicted,omitempty"`
	PredictedRight bool         `json:"predicted_right,omitempty"`
	Hints          int          `json:"hints,omitempty"`
	Solved         bool         `json:"solved,omitempty"`
	SolutionShown  bool         `json:"solution_shown,omitempty"`
	SolvedAt       time.Time    `json:"solved_at,omitzero"`
}

// Row is one learner as the dashboard and `nslab class status` show them.
type Row struct {
	Name      string       `json:"name"`
	Connected bool         `json:"connected"`
	Lesson    string       `json:"lesson,omitempty"`
	Part      lessons.Part `json:"part,omitempty"`
	// OnPart is the time on the current part, Idle the time since the
	// last key; whole seconds, and in JSON a number of seconds.
	OnPart time.Duration `json:"-"`
	Idle   time.Duration `json:"-"`
	// Prediction is "right", "wrong" or "" (not answered) for the current
	// lesson.
	Prediction    string `json:"prediction,omitempty"`
	Hints         int    `json:"hints"`
	Solved        bool   `json:"solved"`
	SolutionShown bool   `json:"solution_shown"`
	// Stuck: connected, on one part of an unsolved lesson for longer than
	// the class's limit.
	Stuck bool `json:"stuck"`
}

// rowJSON is a Row as JSON: its durations in seconds, for scripts.
type rowJSON struct {
	rowFields
	OnPartSeconds int64 `json:"on_part_seconds"`
	IdleSeconds   int64 `json:"idle_seconds"`
}

// rowFields is Row without its methods (no recursion into MarshalJSON).
type rowFields Row

// MarshalJSON writes the durations as seconds.
func (r Row) MarshalJSON() ([]byte, error) {
	return json.Marshal(rowJSON{rowFields(r), int64(r.OnPart / time.Second), int64(r.Idle / time.Second)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Row) UnmarshalJSON(data []byte) error {
	var x rowJSON
	if err := json.Unmarshal(data, &x); err != nil {
		return err
	}
	*r = Row(x.rowFields)
	r.OnPart, r.Idle = time.Duration(x.OnPartSeconds)*time.Second, time.Duration(x.IdleSeconds)*time.Second
	return nil
}

// apply records e; it reports whether anything worth writing at once
// changed (activity alone is not).
func (r *Record) apply(e Event) bool {
	if e.Time.After(r.LastActive) {
		r.LastActive = e.Time
	}
	lr := func() *LessonRecord {
		l := r.Lessons[e.Lesson]
		if l == nil {
			l = &LessonRecord{Opened: e.Time}
			r.Lessons[e.Lesson] = l
		}
		return l
	}
	switch e.Kind {
	case Activity:
		return false
	case LessonOpened, PartEntered:
		if e.Lesson == "" {
			return false
		}
		// The program's updates may be reported out of order: an older
		// move never replaces a newer one.
		if e.Lesson == r.Lesson && e.Time.Before(r.PartSince) {
			return false
		}
		l := lr()
		if e.Lesson != r.Lesson || e.Part != r.Part {
			r.PartSince = e.Time
		}
		r.Lesson, r.Part, l.Part = e.Lesson, e.Part, e.Part
	case LessonClosed:
		if e.Lesson == r.Lesson {
			r.Lesson, r.Part, r.PartSince = "", "", e.Time
		}
	case PredictionAnswered:
		l := lr()
		l.Predicted, l.PredictedRight = true, e.Right
	case HintShown:
		l := lr()
		l.Hints = max(l.Hints, e.Hints)
	case ChallengeSolved:
		l := lr()
		if !l.Solved {
			l.Solved, l.SolvedAt = true, e.Time
		}
	case SolutionShown:
		lr().SolutionShown = true
	default:
		return false
	}
	return true
}

func (r *Record) row(now time.Time, stuckAfter time.Duration) Row {
	row := Row{Name: r.Name, Connected: r.Connected, Lesson: r.Lesson, Part: r.Part}
	if r.Connected {
		row.OnPart = max(0, now.Sub(r.PartSince)).Truncate(time.Second)
		row.Idle = max(0, now.Sub(r.LastActive)).Truncate(time.Second)
	}
	if l := r.Lessons[r.Lesson]; l != nil && r.Lesson != "" {
		if l.Predicted {
			row.Prediction = "wrong"
			if l.PredictedRight {
				row.Prediction = "right"
			}
		}
		row.Hints, row.Solved, row.SolutionShown = l.Hints, l.Solved, l.SolutionShown
	}
	row.Stuck = r.Connected && r.Lesson != "" && !row.Solved && row.OnPart >= stuckAfter
	return row
}

func (r *Record) clone() Record {
	c := *r
	c.Lessons = make(map[string]*LessonRecord, len(r.Lessons))
	for id, l := range r.Lessons {
		x := *l
		c.Lessons[id] = &x
	}
	return c
}

func newState() State {
	return State{Version: StateVersion, Learners: map[string]*Record{}}
}

func statePath(dir string) string { return filepath.Join(dir, stateFile) }

func (s *State) marshal() ([]byte, error) {
	out := *s
	out.Learners = maps.Clone(s.Learners)
	return json.MarshalIndent(out, "", "  ")
}

// Load reads the class state kept in dir (during or after the class);
// ErrNoState when no class ran there.
func Load(dir string) (State, error) {
	data, err := os.ReadFile(statePath(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, fmt.Errorf("%s: %w (is --state-dir the one `nslab serve` used?)", dir, ErrNoState)
	}
	if err != nil {
		return State{}, fmt.Errorf("reading the class state: %w", err)
	}
	var s State
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&s); err != nil {
		return State{}, fmt.Errorf("%s: %w: %w", statePath(dir), ErrStateCorrupt, err)
	}
	if s.Version != StateVersion {
		return State{}, fmt.Errorf("%s: version %d, this nslab reads %d: %w", statePath(dir), s.Version, StateVersion, ErrStateCorrupt)
	}
	if s.Learners == nil {
		s.Learners = map[string]*Record{}
	}
	for n, r := range s.Learners {
		if r == nil || r.Name != n {
			return State{}, fmt.Errorf("%s: learner %q: %w", statePath(dir), n, ErrStateCorrupt)
		}
		if r.Lessons == nil {
			r.Lessons = map[string]*LessonRecord{}
		}
		for id, l := range r.Lessons {
			if l == nil {
				delete(r.Lessons, id)
			}
		}
	}
	return s, nil
}

// Records is every learner's record, sorted by name.
func (s State) Records() []Record { return s.records() }

// loadOrNew reads dir's state, or makes dir (0700) for a new one.
func loadOrNew(dir string) (State, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return State{}, fmt.Errorf("making the class state directory: %w", err)
	}
	s, err := Load(dir)
	if errors.Is(err, ErrNoState) {
		return newState(), nil
	}
	return s, err
}

// writeAtomic replaces path with data: a reader (an export during the
// class) sees the old file or the new one, never half of one, and a crash
// leaves one of them whole.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing the class state: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing the class state: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing the class state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing the class state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing the class state: %w", err)
	}
	ok = true
	return nil
}
