package sandbox

import (
	"errors"
	"os"
	"testing"
)

// TestSpawnNSAndHostnameOf: the agent's idle child is alone in a UTS
// namespace of its own, HostnameOf reads that namespace's name (it
// started as a copy of the agent's), and no thread of this process stays
// there; a flag SpawnNS does not take is refused.
func TestSpawnNSAndHostnameOf(t *testing.T) {
	eng := newEngine(t)
	ctx := testCtx(t)
	sb := start(t, eng, Spec{Flags: CloneNewUTS | CloneNewPID, Rootless: RootlessAlways, Label: "spawnns"})
	if err := sb.SetHostname(ctx, "parent"); err != nil {
		t.Fatal(err)
	}
	inner, err := sb.SpawnNS(ctx, CloneNewUTS)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := sb.Observe(ctx, []View{ViewPIDs})
	if err != nil {
		t.Fatal(err)
	}
	host := 0
	for _, p := range snap.Procs {
		if p.PID == inner {
			host = p.HostPID
		}
	}
	if host == 0 {
		t.Fatalf("the child, PID %d inside, is not in the PID view %v", inner, snap.Procs)
	}
	kid, err := ReadIDs(host)
	if err != nil {
		t.Fatal(err)
	}
	agent, _ := sb.IDs()
	if kid["uts"] == agent["uts"] || kid["user"] != agent["user"] {
		t.Errorf("child uts %v user %v; agent uts %v user %v: want a new UTS namespace in the agent's user namespace", kid["uts"], kid["user"], agent["uts"], agent["user"])
	}
	before, _ := os.Readlink("/proc/thread-self/ns/uts")
	for range 20 { // many threads, many chances to leave one behind
		name, err := HostnameOf(host)
		if err != nil || name != "parent" {
			t.Fatalf("HostnameOf(child) = %q, %v; want the copied %q", name, err, "parent")
		}
	}
	if after, _ := os.Readlink("/proc/self/ns/uts"); after != before {
		t.Errorf("this process's uts namespace is now %s, was %s", after, before)
	}
	if name, err := HostnameOf(sb.PID()); err != nil || name != "parent" {
		t.Errorf("HostnameOf(agent) = %q, %v", name, err)
	}
	if _, err := sb.SpawnNS(ctx, CloneNewPID); !errors.Is(err, ErrBadInput) {
		t.Errorf("SpawnNS(CLONE_NEWPID): %v, want ErrBadInput", err)
	}
}
