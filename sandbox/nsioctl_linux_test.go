package sandbox

import (
	"os"
	"testing"
)

// TestIoctlRequestArg: the ioctl_ns(2) requests by strace's names, others
// in hex.
func TestIoctlRequestArg(t *testing.T) {
	for req, want := range map[NSRequest]string{NSGetUserNS: "NS_GET_USERNS", NSGetParent: "NS_GET_PARENT", NSGetOwnerUID: "NS_GET_OWNER_UID", 0x5401: "0x5401"} {
		if got := req.String(); got != want {
			t.Errorf("%#x: %s, want %s", uint(req), got, want)
		}
	}
	if _, err := nsIoctlPath(0, "uts", NSGetOwnerUID); err == nil {
		t.Error("NS_GET_OWNER_UID on a UTS namespace accepted")
	}
	if p, err := nsIoctlPath(7, "pid", NSGetParent); err != nil || p != "/proc/7/ns/pid" {
		t.Errorf("path: %q %v", p, err)
	}
	if _, err := nsIoctlPath(-1, "user", NSGetParent); err == nil {
		t.Error("a negative pid accepted")
	}
}

// BenchmarkObserveTree: the tree view's cost per refresh, from this
// process (the host's roots; every process of the machine is read).
func BenchmarkObserveTree(b *testing.B) {
	for b.Loop() {
		if _, err := ObserveTree(os.Getpid(), false); err != nil {
			b.Fatal(err)
		}
	}
}
