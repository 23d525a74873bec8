package lessons

import (
	"strings"

	"github.com/nslab/nslab/sandbox"
)

// Title is the part's name as a heading ("Concept"), for a lesson whose
// text lacks the part's own heading.
func (p Part) Title() string {
	s := string(p)
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// DeltaSymbol marks a row of a HOST | SANDBOX comparison, so that colour is
// never the only cue: "=" the same, "≠" changed, "+" only in the sandbox,
// "-" only on the host. The ui and the headless runner both use it.
func DeltaSymbol(k sandbox.DeltaKind) string {
	switch k {
	case sandbox.Changed:
		return "≠"
	case sandbox.OnlySandbox:
		return "+"
	case sandbox.OnlyHost:
		return "-"
	}
	return "="
}
