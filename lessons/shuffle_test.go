package lessons

import (
	"slices"
	"testing"
)

// TestShuffledKeepsTheAnswer: the shuffled lesson shows every choice once,
// and its Answer names the position where the written right choice now
// sits, for every seed.
func TestShuffledKeepsTheAnswer(t *testing.T) {
	l := Lesson{Meta: Meta{ID: "demo", Number: 4}, Prediction: Prediction{Question: "q", Choices: []string{"a", "b", "c"}}}
	l.Logic.Answer = func(Observation) (int, string) { return 1, "b is right" }
	moved := false
	for seed := uint32(0); seed < 9; seed++ {
		s := l.Shuffled(seed)
		got := slices.Clone(s.Prediction.Choices)
		slices.Sort(got)
		if !slices.Equal(got, l.Prediction.Choices) {
			t.Fatalf("seed %d: choices %v are not a permutation of %v", seed, s.Prediction.Choices, l.Prediction.Choices)
		}
		right, why := s.Logic.Answer(Observation{})
		if s.Prediction.Choices[right] != "b" || why != "b is right" {
			t.Errorf("seed %d: the answer points at %q (%d), want b", seed, s.Prediction.Choices[right], right)
		}
		if s.Prediction.Order[right] != 1 {
			t.Errorf("seed %d: Order[%d] = %d, want the written index 1", seed, right, s.Prediction.Order[right])
		}
		if right != 1 {
			moved = true
		}
		if again := l.Shuffled(seed); !slices.Equal(again.Prediction.Choices, s.Prediction.Choices) {
			t.Errorf("seed %d: two shuffles differ: %v, %v", seed, again.Prediction.Choices, s.Prediction.Choices)
		}
	}
	if !moved {
		t.Error("no seed moved the right answer")
	}
	if l.Prediction.Choices[0] != "a" {
		t.Error("Shuffled changed the original lesson's choices")
	}
}

func TestSamePositionShare(t *testing.T) {
	for _, c := range []struct {
		rights []int
		share  float64
		at     int
	}{
		{[]int{0, 0, 0, 1}, 0.75, 0},
		{[]int{0, 1, 2, 0, 1, 2}, 1.0 / 3, 0},
		{[]int{2, -1, 2, 1}, 2.0 / 3, 2},
		{nil, 0, -1},
	} {
		if share, at := SamePositionShare(c.rights); share != c.share || at != c.at {
			t.Errorf("SamePositionShare(%v) = %v at %d, want %v at %d", c.rights, share, at, c.share, c.at)
		}
	}
}
