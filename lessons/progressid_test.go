package lessons

import (
	"regexp"
	"strings"
	"testing"
)

// oldProgressID is the regexp validProgressID replaces (it was compiled
// at package init, in every start of the binary).
var oldProgressID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

func TestValidProgressID(t *testing.T) {
	for _, c := range []struct {
		id   string
		want bool
	}{
		{"02-uts", true}, {"uts", true}, {"0", true}, {strings.Repeat("a", 32), true},
		{"", false}, {"-uts", false}, {"UTS", false}, {"02_uts", false}, {"../x", false},
		{strings.Repeat("a", 33), false}, {"a b", false}, {"ü", false},
	} {
		if got := validProgressID(c.id); got != c.want {
			t.Errorf("validProgressID(%q) = %v, want %v", c.id, got, c.want)
		}
	}
}

func FuzzValidProgressID(f *testing.F) {
	for _, s := range []string{"02-uts", "", "-", "a-", strings.Repeat("9", 33), "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if got, want := validProgressID(id), oldProgressID.MatchString(id); got != want {
			t.Errorf("validProgressID(%q) = %v, the regexp says %v", id, got, want)
		}
	})
}
