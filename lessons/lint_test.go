package lessons

// Tests of the content lint (lint.go) on broken lessons; the catalogue
// package lints the real catalogue and a copy with a lesson added.

import (
	"errors"
	"fmt"
	"regexp"
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

// TestLintShellAndClaims shows each check on shell_new and claims failing:
// an unknown and a repeated kind, no claim, a claim without a section,
// one with an unknown source, one whose source the Read: line lacks, a
// badly named test, and a Recap with two Read: lines or a repeated page.
func TestLintShellAndClaims(t *testing.T) {
	re := regexp.MustCompile(`\b([a-z][a-z0-9_.+-]*)\(([1-8])\)`)
	run := func(l Lesson) string {
		var out []string
		lintShellAndClaims(l, knownManPages(), re, func(f string, a ...any) { out = append(out, fmt.Sprintf(f, a...)) })
		return strings.Join(out, "\n")
	}
	recap := func(body string) []Section { return []Section{{Part: PartRecap, Body: body}} }
	good := Lesson{ShellNew: []string{"uts", "pid"}, Sections: recap("- Read: unshare(2), setns(2)."),
		Claims: []Claim{{Rule: "r", Source: "unshare(2)", Section: "DESCRIPTION", Test: "TestClaimX"}}}
	if got := run(good); got != "" {
		t.Fatalf("a right lesson fails: %s", got)
	}
	for _, c := range []struct {
		name string
		edit func(*Lesson)
		says string
	}{
		{"unknown kind", func(l *Lesson) { l.ShellNew = []string{"utsname"} }, `shell_new "utsname"`},
		{"repeated kind", func(l *Lesson) { l.ShellNew = []string{"uts", "uts"} }, "twice"},
		{"no claim", func(l *Lesson) { l.Claims = nil }, "states no claim"},
		{"no rule", func(l *Lesson) { l.Claims[0].Rule = " " }, "has no rule"},
		{"no section", func(l *Lesson) { l.Claims[0].Section = "" }, "names no section"},
		{"unknown source", func(l *Lesson) { l.Claims[0].Source = "unshare(3)" }, "not a known man page"},
		{"source not read", func(l *Lesson) { l.Claims[0].Source = "clone(2)" }, "not on the Recap's Read: line"},
		{"bad test name", func(l *Lesson) { l.Claims[0].Test = "TestX" }, "not a TestClaim"},
		{"two Read lines", func(l *Lesson) { l.Sections = recap("Read: unshare(2).\nRead: setns(2).") }, `2 "Read:" lines`},
		{"repeated page", func(l *Lesson) { l.Sections = recap("Read: unshare(2), unshare(2).") }, "names unshare(2) twice"},
	} {
		l := good
		l.Claims = append([]Claim(nil), good.Claims...)
		c.edit(&l)
		if got := run(l); !strings.Contains(got, c.says) {
			t.Errorf("%s: lint did not say %q; it said: %q", c.name, c.says, got)
		}
	}
}

// TestLintTaskStatedOnce: a Challenge section that repeats the task's
// words is reported; one that says what the challenge is about is not.
func TestLintTaskStatedOnce(t *testing.T) {
	task := "From the shell inside, give the sandbox the hostname `lab`. The host keeps its own."
	for _, c := range []struct {
		body string
		bad  bool
	}{
		{"Give the sandbox the hostname **lab**, from the shell inside.", true},
		{"The check reads both names on each side.", false},
	} {
		l := Lesson{Challenge: Challenge{Task: task}, Sections: []Section{{Part: PartChallenge, Body: c.body}}}
		got := strings.Join(Lint(l), "\n")
		if has := strings.Contains(got, "states the task again"); has != c.bad {
			t.Errorf("section %q: reported %v, want %v:\n%s", c.body, has, c.bad, got)
		}
	}
}
