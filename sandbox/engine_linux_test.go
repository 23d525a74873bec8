package sandbox

import (
	"context"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// The test binary stands in for nslab: agents re-execute it.
	if IsHidden(os.Args) {
		os.Exit(RunHidden(os.Args))
	}
	os.Exit(m.Run())
}

func TestSmokeUTS(t *testing.T) {
	eng, err := NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	sb, err := eng.Start(context.Background(), Spec{Flags: CloneNewUTS | CloneNewPID | CloneNewNS | CloneNewNet | CloneNewIPC, Label: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.SetHostname(context.Background(), "lab"); err != nil {
		t.Fatal(err)
	}
	snap, err := sb.Observe(context.Background(), AllViews())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("inner pid %d hostname %q procs %+v errs %v", sb.InnerPID(), snap.Hostname, snap.Procs, snap.Errs)
	v, err := sb.AddVeth(context.Background())
	t.Logf("veth %+v %v", v, err)
	out, err := sb.Ping(context.Background(), v.HostIP())
	t.Logf("ping %s %v", out, err)
	for _, e := range sb.Events(0) {
		t.Log(e.String(), e.Detail(), e.Note)
	}
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSmokeEnter(t *testing.T) {
	eng, err := NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	sb, err := eng.Start(context.Background(), Spec{Flags: CloneNewUTS | CloneNewPID | CloneNewNS, Label: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	_ = sb.SetHostname(context.Background(), "inside")
	cmd, err := sb.ShellCommand("/bin/sh", "-c", "hostname; echo $$; cat /proc/self/status | grep NSpid")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	out, err := cmd.CombinedOutput()
	t.Logf("%s %v", out, err)
}

func TestSmokeUnsharePIDTime(t *testing.T) {
	eng, err := NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ctx := context.Background()
	sb, err := eng.Start(ctx, Spec{Label: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	t.Log(sb.Unshare(ctx, CloneNewPID))
	t.Log(sb.Unshare(ctx, CloneNewTime))
	t.Log(sb.SetTimeOffset(ctx, "monotonic", 86400))
	t.Log(sb.Unshare(ctx, CloneNewUser))
	c, err := sb.ObserveChild(ctx, []View{ViewIDs, ViewTime})
	t.Logf("child %+v %v", c.Clocks, err)
	for _, e := range sb.Events(0) {
		t.Log(e.String(), e.Detail(), e.Note)
	}
}
