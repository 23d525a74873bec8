package lessons

// Tests of the content lint (lint.go) on broken lessons; the catalogue
// package lints the real catalogue and a copy with a lesson added.

import (
	"errors"
	"strings"
	"testing"
)

// TestParseSectionsEmptyHeading: a heading with no words is an error, not a
// panic.
func TestParseSectionsEmptyHeading(t *testing.T) {
	for _, md := range []string{"## \nx\n", "##\nx\n", "## :\nx\n", "# T\n## Concept\nx\n##   \n"} {
		if _, err := ParseSections(md); !errors.Is(err, ErrContent) {
			t.Errorf("%q: err %v, want ErrContent", md, err)
		}
	}
	s, err := ParseSections("# T\n## Concept: c\nbody\n## Recap\nr\n")
	if err != nil || len(s) != 2 || s[0].Part != PartConcept || s[0].Body != "body" || s[1].Part != PartRecap {
		t.Errorf("sections %+v, err %v", s, err)
	}
}

// TestLintCatchesProblems shows the lint can fail: a lesson with a missing
// part, a made-up man page, no signature and no data is reported on each
// count.
func TestLintCatchesProblems(t *testing.T) {
	sections, err := ParseSections("## Concept\nx\n## Predict\nx\n## Perform\nx\n## Observe\nx\n## Experiment\nx\n## Recap\nRead: made_up(2)\n")
	if err != nil {
		t.Fatal(err)
	}
	l := Lesson{
		Meta: Meta{ID: "x", Number: 1, Title: "t", Summary: "s", Minutes: 1, Command: "c", Kinds: []string{"uts"},
			Syscalls: []string{"unshare"}, ManPages: []string{"namespaces(7)", "nosuchpage(7)"}},
		Sections: sections,
	}
	got := strings.Join(Lint(l), "\n")
	for _, want := range []string{"6 sections", "nosuchpage(7)", "made_up(2)", "int unshare(int flags)", "no Perform",
		"challenge has no task", "no experiments", "prediction needs a question", "has no Answer", "has no Check"} {
		if !strings.Contains(got, want) {
			t.Errorf("lint did not report %q; it said:\n%s", want, got)
		}
	}
}
