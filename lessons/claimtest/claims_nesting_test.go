package claimtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/sandbox"
)

// TestClaimNSGetParentScope: ioctl_ns(2), NS_GET_PARENT and NS_GET_USERNS
// fail with EPERM for an initial namespace and for an answer outside the
// caller's user namespace, and answer from above. An agent in a user
// namespace of its own asks for its user namespace's parent and for the
// owner of the host's UTS namespace it still shares: both EPERM; the host
// asks for the agent's user namespace's parent: the host's.
func TestClaimNSGetParentScope(t *testing.T) {
	privileged(t)
	eng, err := sandbox.NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sb, err := eng.Start(ctx, sandbox.Spec{Rootless: sandbox.RootlessAlways, Label: "claim"})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	for _, kind := range []string{"user", "pid"} {
		if _, err := sandbox.NSRelative("/proc/self/ns/"+kind, sandbox.NSGetParent); !errors.Is(err, unix.EPERM) {
			t.Errorf("NS_GET_PARENT of the initial %s namespace: %v, want EPERM", kind, err)
		}
	}
	if _, err := sb.NSIoctl(ctx, 0, "user", sandbox.NSGetParent); !errors.Is(err, unix.EPERM) {
		t.Errorf("NS_GET_PARENT of its own user namespace, from inside: %v, want EPERM", err)
	}
	if _, err := sb.NSIoctl(ctx, 0, "uts", sandbox.NSGetUserNS); !errors.Is(err, unix.EPERM) {
		t.Errorf("NS_GET_USERNS of the host's UTS namespace, from inside a child user namespace: %v, want EPERM", err)
	}
	got, err := sandbox.NSRelative(fmt.Sprintf("/proc/%d/ns/user", sb.PID()), sandbox.NSGetParent)
	if err != nil || got != eng.HostIDs()["user"] {
		t.Errorf("NS_GET_PARENT of the agent's user namespace, from the host: %v %v, want %v", got, err, eng.HostIDs()["user"])
	}
	if got, err := sandbox.NSRelative("/proc/self/ns/uts", sandbox.NSGetUserNS); err != nil || got != eng.HostIDs()["user"] {
		t.Errorf("NS_GET_USERNS of the host's UTS namespace, from the host: %v %v", got, err)
	}
}

// TestClaimUserNestingLimit: user namespaces nest to a bounded depth. Each
// level runs unshare --user --map-root-user for the next; the first that
// fails reports its depth and error. On Linux since 4.9 the kernel
// refuses a user namespace whose parent is 33 levels below the initial
// one with ENOSPC (clone(2), ERRORS; EUSERS before).
func TestClaimUserNestingLimit(t *testing.T) {
	privileged(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skipf("util-linux unshare is not installed: %v", err)
	}
	const script = `d=$1; if ! out=$(unshare --user --map-root-user sh -c "$S" sh $((d+1)) 2>&1); then echo "at $d: $out"; else echo "$out"; fi`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", script, "sh", "0")
	cmd.Env = append(os.Environ(), "S="+script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// unshare(1) prints strerror(ENOSPC).
	const enospc = "No space left on device"
	got := strings.TrimSpace(string(out))
	if !strings.HasPrefix(got, "at 33: ") || !strings.Contains(got, enospc) {
		t.Errorf("the nesting stopped %q, want at 33 levels with %q", got, enospc)
	}
}
