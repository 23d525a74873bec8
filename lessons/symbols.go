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

// The delta symbols mark a row of a HOST | SANDBOX comparison, so that
// colour is never the only cue. They live here and nowhere else; the ui
// and the headless runner both use them.
const (
	SymSame     = "="
	SymChanged  = "≠"
	SymOnlySB   = "+"
	SymOnlyHost = "-"
)

// DeltaSymbol is the symbol of a delta's kind.
func DeltaSymbol(k sandbox.DeltaKind) string {
	switch k {
	case sandbox.Changed:
		return SymChanged
	case sandbox.OnlySandbox:
		return SymOnlySB
	case sandbox.OnlyHost:
		return SymOnlyHost
	}
	return SymSame
}
