package sandboxtest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestHostPrintCatchesALink shows the fingerprint can fail: a link created
// on the host after the print is reported, and once it is deleted the host
// is back to what it was. The link is named like an engine's host veth end
// for this process ("nslab<PID>"): other test binaries running at the same
// time take it for a live neighbour's and ignore it, this one must not.
// A dummy link is simplest; a kernel without the dummy driver gets a bridge.
func TestHostPrintCatchesALink(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: it adds a link to the host")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8) from iproute2")
	}
	name := fmt.Sprintf("nslab%d", os.Getpid())
	if err := exec.Command("ip", "link", "show", name).Run(); err == nil {
		t.Fatalf("%s already exists on the host: not ours to touch", name)
	}
	before := TakeHostPrint(t)
	var added bool
	var why []string
	for _, kind := range []string{"dummy", "bridge"} {
		out, err := exec.Command("ip", "link", "add", name, "type", kind).CombinedOutput()
		if err == nil {
			added = true
			break
		}
		why = append(why, fmt.Sprintf("%s: %v %s", kind, err, strings.TrimSpace(string(out))))
	}
	if !added {
		t.Skipf("cannot add a link here: %v", why)
	}
	deleted := false
	del := func() {
		if deleted {
			return
		}
		if out, err := exec.Command("ip", "link", "del", name).CombinedOutput(); err != nil {
			t.Errorf("removing %s: %v %s", name, err, out)
		}
		deleted = true
	}
	defer del()
	d := before.Diff(TakeHostPrint(t))
	if !strings.Contains(d, "links changed") || !strings.Contains(d, " "+name+" ") {
		t.Errorf("a new link %s is not reported:\n%q", name, d)
	}
	del()
	UnchangedSince(t, before)
}

// TestUnchangedSinceAlso shows an extra check is polled with the print and
// reported when it never settles.
func TestUnchangedSinceAlso(t *testing.T) {
	before := TakeHostPrint(t)
	polls := 0
	settles := func() string {
		if polls++; polls < 3 {
			return "not yet"
		}
		return ""
	}
	UnchangedSince(t, before, settles)
	if polls < 3 {
		t.Errorf("the extra check ran %d times, want it polled until it settles", polls)
	}
}

func TestDiffFields(t *testing.T) {
	a := HostPrint{Hostname: "h", SysVIPC: map[string]string{}, Foreign: map[string]string{"7 agent": "uts"}}
	if d := a.Diff(a); d != "" {
		t.Errorf("a print differs from itself: %q", d)
	}
	b := a
	b.Hostname = "other"
	b.SelfNS = "uts:x"
	b.MQueue = []string{"q"}
	b.Foreign = map[string]string{"9 leak": "net,pid"}
	d := b.Diff(b)
	if d != "" {
		t.Errorf("self diff %q", d)
	}
	d = a.Diff(b)
	for _, want := range []string{"hostname changed", "namespaces changed", "/dev/mqueue changed", "(net,pid): 9 leak"} {
		if !strings.Contains(d, want) {
			t.Errorf("diff lacks %q:\n%s", want, d)
		}
	}
	// A process gone since the first print is no leak.
	if d := b.Diff(HostPrint{Hostname: "other", SelfNS: "uts:x", MQueue: []string{"q"}, SysVIPC: map[string]string{}}); d != "" {
		t.Errorf("a departed process is reported: %q", d)
	}
}

const nobodyEnv = "NSLAB_SANDBOXTEST_NOBODY"

// TestAsNobody runs itself as nobody: the copy reports its uid.
func TestAsNobody(t *testing.T) {
	if os.Getenv(nobodyEnv) == "1" {
		if os.Geteuid() == 0 {
			t.Fatal("the nobody copy runs as root")
		}
		t.Logf("NOBODY-UID=%d", os.Geteuid())
		return
	}
	out, err := AsNobody(t, "TestAsNobody", nobodyEnv+"=1")
	if err != nil {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(out, "NOBODY-UID=65534") || !strings.Contains(out, "--- PASS: TestAsNobody") {
		t.Errorf("the copy did not run as nobody (uid 65534):\n%s", out)
	}
}
