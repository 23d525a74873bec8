package lessons

// A class learner's sandbox (nslab serve, a confined engine) starts in new
// namespaces of every kind, whatever the lesson asked for, so a lesson
// cannot show what its own syscalls changed by comparing with the host's
// namespaces: it compares with the namespaces the sandbox started in, and
// states that none of those is the host's.

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nslab/nslab/sandbox"
)

// Keys of the Extra values KeepConfinedStart sets.
const (
	// ConfinedKey names the kinds the class server added to what the
	// lesson asked for ("ipc,mnt,...").
	ConfinedKey = "confined"
	// ConfinedStartKey + kind is the agent's identity when it started,
	// before any request (PutIDs form).
	ConfinedStartKey = "start."
)

// KeepConfinedStart keeps, for a sandbox of a confined engine, the kinds
// the class server added and the namespaces box started in; it keeps
// nothing and returns false for an ordinary engine's sandbox.
func KeepConfinedStart(r *Sandboxes, box *sandbox.Sandbox) bool {
	c := box.Confined()
	if c == 0 {
		return false
	}
	var names []string
	for _, k := range sandbox.KindsIn(c) {
		names = append(names, k.ProcName)
	}
	r.Set(ConfinedKey, strings.Join(names, ","))
	start := map[string]string{}
	PutIDs(start, ConfinedStartKey, box.StartIDs())
	for k, v := range start {
		r.Set(k, v)
	}
	return true
}

// IsConfined reports whether o is of a class learner's sandbox (its
// Perform called KeepConfinedStart on a confined engine).
func IsConfined(o Observation) bool {
	_, ok := o.Extra[ConfinedKey]
	return ok
}

// StartID is the sandbox's identity of kind when it started, as
// KeepConfinedStart kept it; false unless the class server's list of
// kinds was kept too.
func StartID(o Observation, kind string) (sandbox.NSID, bool) {
	id, ok := ExtraID(o, ConfinedStartKey+kind)
	_, valid := ConfinedKinds(o)
	return id, ok && valid
}

// ConfinedKinds reads the kinds the class server added; false when the
// list is missing or names something that is no kind.
func ConfinedKinds(o Observation) ([]string, bool) {
	v := o.Extra[ConfinedKey]
	if v == "" {
		return nil, false
	}
	names := strings.Split(v, ",")
	for _, n := range names {
		if _, err := sandbox.KindByName(n); err != nil {
			return names, false
		}
	}
	return names, true
}

// ConfinedFacts are, for a class sandbox, what SharedExcept(o, text,
// moved...) is for an ordinary one: every kind but moved is still the
// namespace the sandbox started in (text), and none of the namespaces it
// started in is the host's, because the class server made them new.
func ConfinedFacts(o Observation, text string, moved ...string) []Fact {
	skip := map[string]bool{}
	for _, m := range moved {
		skip[m] = true
	}
	var kept, left, notHost, host, unknown []string
	for _, k := range sandbox.Kinds() {
		s, sok := o.Sandbox.IDs[k.ProcName]
		h, hok := o.Host.IDs[k.ProcName]
		if !sok || !hok {
			continue // a kind this kernel lacks
		}
		start, ok := StartID(o, k.ProcName)
		if !ok {
			unknown = append(unknown, k.ProcName)
			continue
		}
		if !skip[k.ProcName] {
			if s == start {
				kept = append(kept, k.ProcName)
			} else {
				left = append(left, k.ProcName)
			}
		}
		if start == h {
			host = append(host, k.ProcName)
		} else {
			notHost = append(notHost, k.ProcName)
		}
	}
	added, valid := ConfinedKinds(o)
	if !valid {
		unknown = append(unknown, "(the class server's list "+strconv.Quote(o.Extra[ConfinedKey])+")")
	}
	unk := ""
	if len(unknown) > 0 {
		unk = "; not recorded: " + strings.Join(unknown, ", ")
	}
	return []Fact{
		NewFact(text, len(kept) > 0 && len(left) == 0 && len(unknown) == 0,
			"same: %s; moved: %s%s", strings.Join(kept, ", "), strings.Join(left, ", "), unk),
		NewFact(fmt.Sprintf("The class server started the sandbox in new namespaces (%s): none of them is the host's", strings.Join(added, ", ")),
			len(notHost) > 0 && len(host) == 0 && len(unknown) == 0,
			"not the host's: %s; the host's: %s%s", strings.Join(notHost, ", "), strings.Join(host, ", "), unk),
	}
}
