package lessons

// ChoiceOrder is the order in which a learner with seed sees the n
// choices of lesson number's prediction, whose right choice is written at
// index right: position i shows the choice written at index order[i] in
// lesson.toml.
//
// It is a rotation that puts the right choice at (seed + number) mod n,
// rather than a random permutation: stepping with the lesson number
// spreads the right answers evenly over the positions for every seed
// (with three choices, a third of the lessons each), where random
// permutations only do so on average and some seeds would still put most
// right answers at one position. The rotation is anchored on the right
// choice: a rotation by (seed + number) alone spreads only right answers
// written at one index, and lessons whose answers were written at indexes
// that step with the lesson number cancelled it out (seed 7 showed 60% at
// one position). Different seeds give different rotations, so neighbours
// in a class do not share an answer position.
func ChoiceOrder(seed uint32, number, n, right int) []int {
	if n <= 0 {
		return nil
	}
	right = ((right % n) + n) % n
	k := int((uint64(seed) + uint64(max(number, 0)) + uint64(n-right)) % uint64(n))
	order := make([]int, n)
	for i := range order {
		order[i] = (i + n - k) % n
	}
	return order
}

// Shuffled is the lesson as the learner with seed sees it: the
// prediction's choices in ChoiceOrder, and an Answer that returns the
// right choice's position in that order. Everything downstream (the TUI,
// plain and JSON output, progress) works on the shuffled lesson, so they
// all show the same order.
func (l Lesson) Shuffled(seed uint32) Lesson {
	choices := l.Prediction.Choices
	order := ChoiceOrder(seed, l.Number, len(choices), max(l.Prediction.Right-1, 0))
	shown := make([]string, len(choices))
	pos := make([]int, len(choices))
	for i, c := range order {
		shown[i] = choices[c]
		pos[c] = i
	}
	l.Prediction.Choices = shown
	l.Prediction.Order = order
	if answer := l.Logic.Answer; answer != nil {
		l.Logic.Answer = func(o Observation) (int, string) {
			right, why := answer(o)
			if right >= 0 && right < len(pos) {
				right = pos[right]
			}
			return right, why
		}
	}
	return l
}

// SamePositionShare is the largest share of rights (the right answer's
// shown position, one per lesson; -1 for none) that sit at one position,
// and that position: a catalog where it exceeds one half lets a learner
// win by always picking the same number.
func SamePositionShare(rights []int) (share float64, at int) {
	counts := map[int]int{}
	n := 0
	for _, r := range rights {
		if r < 0 {
			continue
		}
		n++
		counts[r]++
	}
	best := -1
	for p, c := range counts {
		if best < 0 || c > counts[best] || (c == counts[best] && p < best) {
			best = p
		}
	}
	if n == 0 {
		return 0, -1
	}
	return float64(counts[best]) / float64(n), best
}
