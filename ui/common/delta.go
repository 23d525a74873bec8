package common

import "github.com/nslab/nslab/sandbox"

// DeltaSymbol is the one symbol that marks a delta's kind, wherever a
// delta is shown.
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

// Delta draws s in the style of a delta's kind.
func (st *Styles) Delta(k sandbox.DeltaKind, s string) string {
	switch k {
	case sandbox.Changed:
		return st.Changed.Render(s)
	case sandbox.OnlySandbox:
		return st.OnlySB.Render(s)
	case sandbox.OnlyHost:
		return st.OnlyHost.Render(s)
	}
	return st.Same.Render(s)
}
