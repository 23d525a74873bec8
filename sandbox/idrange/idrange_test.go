package idrange

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestForNeverOverlaps(t *testing.T) {
	dir := t.TempDir()
	a, err := OpenWith(dir, Config{Floor: 131072})
	if err != nil {
		t.Fatal(err)
	}
	var got []Range
	for i := 0; i < 50; i++ {
		r, err := a.For(fmt.Sprintf("learner%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if r.Count != Size || r.Base < 131072 {
			t.Errorf("learner%d got %s: want %d ids at or above 131072", i, r, Size)
		}
		got = append(got, r)
	}
	if err := noOverlap(got); err != nil {
		t.Error(err)
	}
	// The check itself: two equal ranges overlap.
	if noOverlap([]Range{got[0], got[0]}) == nil {
		t.Error("noOverlap missed a duplicate range")
	}
}

func noOverlap(rs []Range) error {
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			if rs[i].Overlaps(rs[j]) {
				return fmt.Errorf("ranges %d (%s) and %d (%s) overlap", i, rs[i], j, rs[j])
			}
		}
	}
	return nil
}

func TestOverlaps(t *testing.T) {
	for _, c := range []struct {
		a, b Range
		want bool
	}{
		{Range{100, 10}, Range{110, 10}, false},
		{Range{100, 10}, Range{109, 10}, true},
		{Range{100, 10}, Range{90, 10}, false},
		{Range{100, 10}, Range{91, 10}, true},
		{Range{100, 10}, Range{95, 30}, true},
		{Range{4294901760, 65535}, Range{4294901760, 1}, true},
	} {
		if got := c.a.Overlaps(c.b); got != c.want || c.b.Overlaps(c.a) != c.want {
			t.Errorf("%s overlaps %s = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestForPersistsAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	a, err := OpenWith(dir, Config{Floor: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	alice, _ := a.For("alice")
	bob, _ := a.For("bob")
	st, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s is %v, want 0600", FileName, st.Mode().Perm())
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}

	// A restart with another floor: the recorded names keep their ranges,
	// a new name gets a fresh one that overlaps neither.
	b, err := OpenWith(dir, Config{Floor: 1 << 21})
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := b.For("alice"); r != alice {
		t.Errorf("alice after restart: %s, was %s", r, alice)
	}
	if r, _ := b.For("bob"); r != bob {
		t.Errorf("bob after restart: %s, was %s", r, bob)
	}
	carol, err := b.For("carol")
	if err != nil {
		t.Fatal(err)
	}
	if err := noOverlap([]Range{alice, bob, carol}); err != nil {
		t.Error(err)
	}
}

func TestForFillsGaps(t *testing.T) {
	dir := t.TempDir()
	// A record with a hole between two learners (one was removed by hand).
	rec := `{"ranges":{"a":{"base":100,"count":10},"c":{"base":120,"count":10}}}`
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(rec), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := OpenWith(dir, Config{Floor: 100, Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := a.For("b"); r != (Range{110, 10}) {
		t.Errorf("b got %s, want the gap 110-119", r)
	}
	if r, _ := a.For("d"); r != (Range{130, 10}) {
		t.Errorf("d got %s, want 130-139", r)
	}
}

func TestForExhausted(t *testing.T) {
	dir := t.TempDir()
	a, err := OpenWith(dir, Config{Floor: 1000, Size: 100, Limit: 1300})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c"} {
		if _, err := a.For(n); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
	}
	if r, err := a.For("d"); !errors.Is(err, ErrExhausted) {
		t.Fatalf("a fourth range of 100 below 1300: %s, %v; want ErrExhausted", r, err)
	}
	// Nothing was recorded for the refused name; known names still work.
	b, err := OpenWith(dir, Config{Floor: 1000, Size: 100, Limit: 1300})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Ranges()["d"]; ok {
		t.Error("the refused learner was recorded")
	}
	if r, err := b.For("c"); err != nil || r.Base != 1200 {
		t.Errorf("c after exhaustion: %s, %v", r, err)
	}
}

func TestOpenRefusesOverlappingRecord(t *testing.T) {
	dir := t.TempDir()
	rec := `{"ranges":{"a":{"base":100,"count":10},"b":{"base":105,"count":10}}}`
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(rec), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenWith(dir, Config{Floor: 100, Size: 10}); err == nil {
		t.Error("a record giving two learners the same ids was accepted")
	}
}

func TestForRefusesBadNames(t *testing.T) {
	a, err := OpenWith(t.TempDir(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"", "Alice", "1a", "a/b", "../x", "a b", "abcdefghijklmnopqrstuvwxyz0123456"} {
		if _, err := a.For(n); !errors.Is(err, ErrBadName) {
			t.Errorf("For(%q) = %v, want ErrBadName", n, err)
		}
	}
}

func TestHostFloor(t *testing.T) {
	etc := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(etc, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("passwd", "root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n")
	write("group", "root:x:0:\n")
	if f, err := HostFloor(etc); err != nil || f != 2*Size {
		t.Errorf("floor without subordinate ids = %d, %v; want %d", f, err, 2*Size)
	}
	write("subuid", "alice:100000:65536\n")
	write("subgid", "alice:100000:65536\nbob:165536:65536\n")
	// bob's gids end at 231072: the floor is the next multiple of 65536.
	if f, err := HostFloor(etc); err != nil || f != 262144 {
		t.Errorf("floor = %d, %v; want 262144", f, err)
	}
	write("passwd", "big:x:300000:300000::/:/bin/false\n")
	if f, _ := HostFloor(etc); f != 327680 {
		t.Errorf("floor above uid 300000 = %d, want 327680", f)
	}
}
