package ui

import (
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/ui/internal/uitest"
)

// TestResumeAtPart: a lesson reopens at the part its progress record
// names; a record from before parts were kept (no part) opens at Concept,
// and so does a finished lesson.
func TestResumeAtPart(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		want lessons.Part
	}{
		{"part kept", `{"version":1,"lessons":{"uts":{"status":"in-progress","part":"experiment","updated":"2026-01-02T03:04:05Z"}}}`, lessons.PartExperiment},
		{"old format, no part", `{"version":1,"lessons":{"uts":{"status":"in-progress","updated":"2026-01-02T03:04:05Z"}}}`, lessons.PartConcept},
		{"done", `{"version":1,"lessons":{"overview":{"status":"in-progress","updated":"2026-01-02T03:04:05Z"},"uts":{"status":"done","part":"recap","updated":"2026-01-02T03:04:05Z"}}}`, lessons.PartConcept},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := lessons.DecodeProgress([]byte(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			h := newHarness(t, 100, 30, uitest.NewStore(p))
			// The lessons' marks show once the progress is loaded.
			h.waitFor("min ◐ in progress") // a lesson row (the legend names the mark too)
			h.keys("j", "enter")
			h.until(string(tc.want), at(tc.want))
			h.final()
		})
	}
}

// TestHintNamesKeyToPerform: at Challenge with no sandbox the way to
// Perform is back (p); before Perform it is forward (n).
func TestHintNamesKeyToPerform(t *testing.T) {
	h := newHarness(t, 100, 30, nil)
	h.keys("j", "enter")
	h.until("concept", at(lessons.PartConcept))
	h.keys("s")
	h.waitFor("go to Perform (n)")
	h.keys("n", "n", "n", "n", "n")
	h.until("challenge", at(lessons.PartChallenge))
	h.keys("c")
	h.waitFor("go to Perform (p)")
	h.final()
}
