package class

import (
	"time"

	"github.com/nslab/nslab/lessons"
)

// EventKind is what a learner's program reports.
type EventKind string

// The events a learner's program reports (ui.Options.Events).
const (
	LessonOpened       EventKind = "lesson-opened"       // Lesson, Part: the part it opened at
	PartEntered        EventKind = "part-entered"        // Lesson, Part
	PredictionAnswered EventKind = "prediction-answered" // Lesson, Right
	HintShown          EventKind = "hint-shown"          // Lesson, Hints: how many are shown now
	ChallengeSolved    EventKind = "challenge-solved"    // Lesson
	SolutionShown      EventKind = "solution-shown"      // Lesson
	LessonClosed       EventKind = "lesson-closed"       // Lesson: back on the home page
	Activity           EventKind = "activity"            // a key pressed
)

// Event is one thing a learner did. It is a plain struct so that the ui
// can report it without this package knowing the ui (ui re-exports it as
// ui.Event).
type Event struct {
	Kind   EventKind
	Lesson string
	Part   lessons.Part
	Right  bool // PredictionAnswered: the prediction matched the kernel
	Hints  int  // HintShown: the number of hints shown so far
	// Time is when it happened; zero is when it is reported.
	Time time.Time
}

// Notice is what the class sends into a learner's program
// (ui.Options.Notices): Broadcast, Follow, Unfollow or EndSession.
type Notice interface{ notice() }

// Broadcast is a message from the instructor, shown on the learner's screen.
type Broadcast struct{ Text string }

// Follow moves the learner to the instructor's lesson and part; until
// Unfollow they may look back, not ahead.
type Follow struct {
	Lesson string
	Part   lessons.Part
}

// Unfollow ends follow mode: the learner may go anywhere again.
type Unfollow struct{}

// EndSession ends the learner's session; Why is shown before it quits.
type EndSession struct{ Why string }

func (Broadcast) notice()  {}
func (Follow) notice()     {}
func (Unfollow) notice()   {}
func (EndSession) notice() {}
