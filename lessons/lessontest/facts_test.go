package lessontest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// observed is an observation as a lesson sees it: a UTS and PID namespace
// of its own, a child PID kept in Extra, and an identity kept with PutIDs.
func observed() lessons.Observation {
	host := sandbox.Snapshot{Side: "host", PID: 100, Views: []sandbox.View{sandbox.ViewIDs, sandbox.ViewUTS, sandbox.ViewPIDs},
		IDs:      sandbox.IDs{"uts": {Dev: 4, Ino: 1}, "pid": {Dev: 4, Ino: 2}},
		Hostname: "vm",
		Procs:    []sandbox.Proc{{HostPID: 1, PID: 1, Comm: "init"}, {HostPID: 200, PID: 200, PPID: 100, Comm: "agent"}}}
	sb := sandbox.Snapshot{Side: "sandbox", PID: 200, Views: host.Views,
		IDs:      sandbox.IDs{"uts": {Dev: 4, Ino: 11}, "pid": {Dev: 4, Ino: 12}},
		Hostname: "lab",
		Procs:    []sandbox.Proc{{HostPID: 200, PID: 1, Comm: "agent", NSpid: []int{200, 1}}}}
	o := lessons.Observation{Host: host, Sandbox: sb, Diffs: sandbox.DiffAll(host, sb), Extra: map[string]string{"child.pid": "200"}}
	lessons.PutIDs(o.Extra, "plain.", sandbox.IDs{"uts": {Dev: 4, Ino: 1}})
	return o
}

// TestDoctoredFacts shows DoctoredFacts passing facts that check their
// data, and catching a fact made to always pass, a fact that reads only
// data no doctoring reaches, and finding 9's fact, which held with a
// namespace id where a PID belongs.
func TestDoctoredFacts(t *testing.T) {
	o := observed()
	childPID := func(o lessons.Observation) (int, bool) {
		n, err := strconv.Atoi(o.Extra["child.pid"])
		return n, err == nil && n > 0
	}
	good := func(o lessons.Observation) []lessons.Fact {
		pid, ok := childPID(o)
		p, inside := lessons.ProcByHostPID(o.Sandbox.Procs, pid)
		plain, pok := lessons.ExtraID(o, "plain.uts")
		return []lessons.Fact{
			lessons.NSFact(o, "uts", false, "the sandbox has a UTS namespace of its own"),
			lessons.NewFact("the sandbox is named lab", o.Sandbox.Hostname == "lab", "%q", o.Sandbox.Hostname),
			lessons.NewFact("the child is PID 1 inside", ok && inside && p.PID == 1, "child %s is %d inside", o.Extra["child.pid"], p.PID),
			lessons.NewFact("the flagless child shares the host's uts", pok && plain == o.Host.IDs["uts"], "%v", plain),
		}
	}
	if ps := DoctoredFacts(good, o); len(ps) > 0 {
		t.Fatalf("facts that check their data are reported:\n%s", strings.Join(ps, "\n"))
	}
	if o.Sandbox.Hostname != "lab" || o.Extra["child.pid"] != "200" || len(o.Host.Procs) != 2 || o.Sandbox.IDs["uts"].Ino != 11 {
		t.Fatalf("doctoring changed the observation it was given: %+v", o)
	}

	for _, c := range []struct {
		name  string
		facts func(lessons.Observation) []lessons.Fact
		says  string
	}{
		{"always passes", func(lessons.Observation) []lessons.Fact {
			return []lessons.Fact{lessons.NewFact("always", true, "")}
		}, `fact 1 "always" holds on each of the`},
		{"reads no observation", func(o lessons.Observation) []lessons.Fact {
			return []lessons.Fact{lessons.NewFact("the host is in the host's namespaces", len(o.Host.Views) > 0, "")}
		}, "cannot fail"},
		{"finding 9: a namespace id as a PID", func(o lessons.Observation) []lessons.Fact {
			pid := o.Extra["child.pid"]
			return []lessons.Fact{lessons.NewFact("the child has a PID of its own", pid != strconv.Itoa(o.Host.PID), "child %s, nslab %d", pid, o.Host.PID)}
		}, `reads Extra child.pid ("200", got child 200, nslab 100) and still holds when it is "4:4026531836"`},
		{"holds with the value missing", func(o lessons.Observation) []lessons.Fact {
			_, ok := childPID(o)
			bad := o.Extra["child.pid"] != "" && !ok
			return []lessons.Fact{lessons.NewFact("the child's PID is not garbage", !bad, "%s", o.Extra["child.pid"])}
		}, `still holds when it is "(missing)"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			ps := DoctoredFacts(c.facts, o)
			if !strings.Contains(strings.Join(ps, "\n"), c.says) {
				t.Errorf("DoctoredFacts did not say %q; it said:\n%s", c.says, strings.Join(ps, "\n"))
			}
		})
	}
}
