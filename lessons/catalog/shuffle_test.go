package catalog

import (
	"testing"

	"github.com/nslab/nslab/lessons"
)

// TestShuffleSpreadsRightAnswers: across the catalog, whatever written
// position the right answers share (the defect was the first, in most
// lessons), a learner's seed puts them at one shown position in at most
// half of the lessons. With the order left as written the same check
// fails. The right answers the kernel gives are held to the same check
// by TestPlainEveryLesson.
func TestShuffleSpreadsRightAnswers(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	shown := func(seed uint32, written int, shuffle bool) []int {
		var rights []int
		for _, l := range all {
			n := len(l.Prediction.Choices)
			if written >= n {
				continue
			}
			if !shuffle {
				rights = append(rights, written)
				continue
			}
			order := l.Shuffled(seed).Prediction.Order
			for i, c := range order {
				if c == written {
					rights = append(rights, i)
				}
			}
		}
		return rights
	}
	for seed := uint32(0); seed < 500; seed++ {
		for written := 0; written < 3; written++ {
			if share, at := lessons.SamePositionShare(shown(seed, written, true)); share > 0.5 {
				t.Fatalf("seed %d: right answers written at %d are shown at %d in %.0f%% of the lessons", seed, written, at+1, 100*share)
			}
		}
	}
	if share, _ := lessons.SamePositionShare(shown(7, 0, false)); share <= 0.5 {
		t.Errorf("without shuffling the check passes (%.0f%%): it cannot fail", 100*share)
	}
}
