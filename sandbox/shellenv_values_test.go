package sandbox

import (
	"regexp"
	"strings"
	"testing"
)

// The value checks were regexps compiled at package init; they are loops
// now (an agent's start compiled them). These are the regexps they
// replace: the loops must accept exactly what they accepted.
var (
	oldTermValue   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$`)
	oldLocaleValue = regexp.MustCompile(`^[A-Za-z0-9_.@:-]{1,64}$`)
)

func TestShellValueChecks(t *testing.T) {
	long := strings.Repeat("a", 64)
	for _, c := range []struct {
		v            string
		term, locale bool
	}{
		{"xterm-256color", true, true},
		{"C.UTF-8", true, true},
		{"en_US.UTF-8@euro", false, true},
		{"screen.xterm+new", true, false},
		{"", false, false},
		{long, true, true},
		{long + "a", false, false},
		{"-xterm", false, true},
		{".x", false, true},
		{"_x", false, true},
		{"../../home/l/ti", false, false},
		{"/home/l/loc", false, false},
		{"x y", false, false},
		{"x\n", false, false},
		{"x\x00", false, false},
		{"é", false, false},
		{"a:b", false, true},
	} {
		if got := termValue(c.v); got != c.term {
			t.Errorf("termValue(%q) = %v, want %v", c.v, got, c.term)
		}
		if got := localeValue(c.v); got != c.locale {
			t.Errorf("localeValue(%q) = %v, want %v", c.v, got, c.locale)
		}
	}
}

// FuzzShellValueChecks compares the loops with the regexps they replace
// on any input (the seed corpus runs with go test).
func FuzzShellValueChecks(f *testing.F) {
	for _, s := range []string{"xterm", "C.UTF-8", "", "-a", "a/b", strings.Repeat("z", 65), "en_US@euro:x", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if got, want := termValue(v), oldTermValue.MatchString(v); got != want {
			t.Errorf("termValue(%q) = %v, the regexp says %v", v, got, want)
		}
		if got, want := localeValue(v), oldLocaleValue.MatchString(v); got != want {
			t.Errorf("localeValue(%q) = %v, the regexp says %v", v, got, want)
		}
	})
}
