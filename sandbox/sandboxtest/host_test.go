package sandboxtest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestHostPrintCatchesALink shows the fingerprint can fail: a link created
// on the host after the print is reported, and once it is deleted the host
// is back to what it was. A dummy link is simplest; a kernel without the
// dummy driver gets a veth pair (deleting one end deletes both).
func TestHostPrintCatchesALink(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: it adds a link to the host")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8) from iproute2")
	}
	const name, peer = "nslabtestdummy", "nslabtestpeer"
	for _, n := range []string{name, peer} {
		if err := exec.Command("ip", "link", "show", n).Run(); err == nil {
			t.Fatalf("%s already exists on the host: not ours to touch", n)
		}
	}
	before := TakeHostPrint(t)
	if _, err := exec.Command("ip", "link", "add", name, "type", "dummy").CombinedOutput(); err != nil {
		if out, err := exec.Command("ip", "link", "add", name, "type", "veth", "peer", "name", peer).CombinedOutput(); err != nil {
			t.Skipf("cannot add a dummy link nor a veth pair here: %v %s", err, out)
		}
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
	if !strings.Contains(d, "links changed") || !strings.Contains(d, name) {
		t.Errorf("a new link %s is not reported:\n%q", name, d)
	}
	del()
	UnchangedSince(t, before)
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
