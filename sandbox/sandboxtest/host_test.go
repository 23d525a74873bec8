package sandboxtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
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

// TestHostNetWhileLinksChurn lists a network namespace's links while
// another thread keeps adding and deleting a veth pair in it: the kernel
// then marks dumps as interrupted, and the print must retry rather than
// fail (issue 10's flake in the fault matrix). It works in a network
// namespace of its own, so the host is not touched. Many links make each
// dump span several messages, which is when a change can land mid-dump.
func TestHostNetWhileLinksChurn(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: it creates a network namespace")
	}
	defer Unchanged(t)()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		errc <- churnAndList()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// churnAndList runs on a locked thread. It moves the thread into a new
// network namespace and back before it returns: this may be the main
// thread, which Go never ends, so it must not stay there.
func churnAndList() (err error) {
	host, err := netns.Get()
	if err != nil {
		return err
	}
	defer host.Close()
	ns, err := netns.New()
	if err != nil {
		return fmt.Errorf("new network namespace: %w", err)
	}
	defer ns.Close()
	defer func() {
		if e := netns.Set(host); e != nil {
			panic(fmt.Sprintf("cannot return to the host's network namespace: %v", e))
		}
	}()
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer h.Close()
	for i := range 60 {
		la := netlink.NewLinkAttrs()
		la.Name = fmt.Sprintf("a%d", i)
		if err := h.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: fmt.Sprintf("b%d", i)}); err != nil {
			return fmt.Errorf("add veth %s: %w", la.Name, err)
		}
	}
	stop := make(chan struct{})
	churned := make(chan error, 1)
	go func() {
		// The result is sent only once the thread is back on the host,
		// after every use of ns and host: the caller closes them then.
		churned <- churn(ns, host, stop)
	}()
	var listErr error
	for i := 0; i < 60 && listErr == nil; i++ {
		var links []string
		links, _, listErr = hostNet()
		if listErr == nil && len(links) < 120 {
			listErr = fmt.Errorf("listed %d links, want at least the 120 made", len(links))
		}
	}
	close(stop)
	return errors.Join(listErr, <-churned)
}

// churn adds and deletes a veth pair in ns, from a locked thread it moves
// there and back to host, until stop is closed.
func churn(ns, host netns.NsHandle, stop <-chan struct{}) (err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := netns.Set(ns); err != nil {
		return err
	}
	defer func() {
		if e := netns.Set(host); e != nil {
			panic(fmt.Sprintf("cannot return to the host's network namespace: %v", e))
		}
	}()
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		la := netlink.NewLinkAttrs()
		la.Name = "churn"
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "churnp"}); err != nil {
			return err
		}
		if err := netlink.LinkDel(&netlink.Veth{LinkAttrs: la}); err != nil {
			return err
		}
		// A change every few milliseconds: busy like a machine running
		// tests, not a wall no retry can get through.
		time.Sleep(3 * time.Millisecond)
	}
}
