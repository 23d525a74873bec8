package lessons

import (
	"testing"

	"github.com/nslab/nslab/sandbox"
)

// confinedObservation is a class sandbox that started in new uts, pid and
// user namespaces and then unshared uts.
func confinedObservation() Observation {
	host := sandbox.IDs{"uts": {Dev: 4, Ino: 1}, "pid": {Dev: 4, Ino: 2}, "user": {Dev: 4, Ino: 3}}
	start := sandbox.IDs{"uts": {Dev: 4, Ino: 11}, "pid": {Dev: 4, Ino: 12}, "user": {Dev: 4, Ino: 13}}
	now := sandbox.IDs{"uts": {Dev: 4, Ino: 21}, "pid": {Dev: 4, Ino: 12}, "user": {Dev: 4, Ino: 13}}
	o := Observation{Host: sandbox.Snapshot{IDs: host}, Sandbox: sandbox.Snapshot{IDs: now}, Extra: map[string]string{ConfinedKey: "uts,pid,user"}}
	PutIDs(o.Extra, ConfinedStartKey, start)
	return o
}

// TestConfinedFacts: both facts hold on a class sandbox, and each fails on
// a wrong state.
func TestConfinedFacts(t *testing.T) {
	const text = "every other namespace is still the one the sandbox started in"
	for _, f := range ConfinedFacts(confinedObservation(), text, "uts") {
		if !f.OK {
			t.Errorf("on a class sandbox: %s (got %s)", f.Text, f.Got)
		}
	}
	wrong := []struct {
		name   string
		doctor func(o *Observation)
		fails  []bool // which of the two facts must fail
	}{
		{"a kind moved that was not said to", func(o *Observation) { o.Sandbox.IDs["pid"] = sandbox.NSID{Dev: 4, Ino: 99} }, []bool{true, false}},
		{"it started in the host's pid namespace", func(o *Observation) { PutIDs(o.Extra, ConfinedStartKey, sandbox.IDs{"pid": {Dev: 4, Ino: 2}}) }, []bool{true, true}},
		{"its start not kept", func(o *Observation) { delete(o.Extra, ConfinedStartKey+"user") }, []bool{true, true}},
		{"the server's list is garbage", func(o *Observation) { o.Extra[ConfinedKey] = "garbage" }, []bool{true, true}},
		{"nothing observed", func(o *Observation) { o.Sandbox.IDs, o.Host.IDs = nil, nil }, []bool{true, true}},
	}
	for _, w := range wrong {
		o := confinedObservation()
		w.doctor(&o)
		for i, f := range ConfinedFacts(o, text, "uts") {
			if w.fails[i] && f.OK {
				t.Errorf("%s: fact %q holds (got %s)", w.name, f.Text, f.Got)
			}
		}
	}
	if IsConfined(Observation{Extra: map[string]string{}}) {
		t.Error("an ordinary observation passes as a class sandbox's")
	}
	if _, ok := StartID(Observation{Extra: map[string]string{ConfinedStartKey + "uts": "4:11"}}, "uts"); ok {
		t.Error("a start identity counts without the class server's list")
	}
}
