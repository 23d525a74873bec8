package catalog

import (
	"testing"

	"github.com/nslab/nslab/lessons"
)

// TestShuffleSpreadsRightAnswers: across the catalog, a learner's seed
// shows the right answers (lesson.toml's right, which TestPlainEveryLesson
// holds to the kernel's answers) at one position in at most half of the
// lessons, for every seed tried. Two controls show the check failing: the
// order left as written, and a rotation not anchored on the right choice
// over a catalog whose right choices step with the lesson number (the
// defect seed 7 met: 60% at one position).
func TestShuffleSpreadsRightAnswers(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	shown := func(ls []lessons.Lesson, seed uint32) []int {
		var rights []int
		for _, l := range ls {
			order := l.Shuffled(seed).Prediction.Order
			for i, c := range order {
				if c == l.Prediction.Right-1 {
					rights = append(rights, i)
				}
			}
		}
		return rights
	}
	for seed := uint32(0); seed < 500; seed++ {
		if share, at := lessons.SamePositionShare(shown(all, seed)); share > 0.5 {
			t.Fatalf("seed %d: the right answers are shown at %d in %.0f%% of the lessons", seed, at+1, 100*share)
		}
	}

	// Control 1: as written, right answers all first.
	first := make([]int, len(all))
	if share, _ := lessons.SamePositionShare(first); share <= 0.5 {
		t.Errorf("right answers all at one position pass the check (%.0f%%): it cannot fail", 100*share)
	}
	// Control 2: right choices written at (-number) mod n, rotated by
	// (seed + number) alone (anchor 0), land at one position for a seed.
	var unanchored []int
	for _, l := range all {
		n := len(l.Prediction.Choices)
		right := ((-l.Number)%n + n) % n
		for i, c := range lessons.ChoiceOrder(7, l.Number, n, 0) {
			if c == right {
				unanchored = append(unanchored, i)
			}
		}
	}
	if share, _ := lessons.SamePositionShare(unanchored); share <= 0.5 {
		t.Errorf("an unanchored rotation passes the check (%.0f%%): it cannot fail", 100*share)
	}
}
