package common

import "github.com/nslab/nslab/sandbox"

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
