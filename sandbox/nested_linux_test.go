package sandbox

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestNestedOwnership: a user namespace made inside the sandbox's is its
// child (NS_GET_PARENT from the agent and from the host), created by the
// sandbox's root (NS_GET_OWNER_UID: 0 inside, the mapped uid outside); its
// root may not rename the sandbox's UTS namespace (EPERM, traced at the
// call by the process that made it); its PID namespace is owned by it and
// gives the grandchild three PIDs; the agent may not ask for its own user
// namespace's parent (EPERM). The tree shows the chain, and the checks
// fail on a wrong state (the sandbox's own user namespace as the nested
// one's parent is not the host's).
func TestNestedOwnership(t *testing.T) {
	eng := newEngine(t)
	ctx := testCtx(t)
	sb := start(t, eng, Spec{Flags: CloneNewPID | CloneNewUTS | CloneNewNS, Rootless: RootlessAlways, MapRootToNobody: true})
	if _, _, err := sb.Nested(ctx, "nested"); !errors.Is(err, ErrBadInput) {
		t.Errorf("nested without a /proc of its own: %v, want ErrBadInput", err)
	}
	if err := sb.Mount(ctx, "proc", "/proc"); err != nil {
		t.Fatal(err)
	}
	if err := sb.SetHostname(ctx, "outer"); err != nil {
		t.Fatal(err)
	}
	n, g, err := sb.Nested(ctx, "nested")
	if err != nil {
		t.Fatal(err)
	}
	var sawEPERM bool
	for _, e := range sb.Events(0) {
		if e.Syscall == "sethostname" && e.Errno == "EPERM" && e.Args[0] == `"nested"` {
			sawEPERM = e.PID != sb.PID() && e.TID > 0
		}
	}
	if !sawEPERM {
		t.Errorf("no sethostname EPERM by the nested process in the trace: %v", sb.Events(0))
	}
	if snap, err := sb.Observe(ctx, []View{ViewUTS}); err != nil || snap.Hostname != "outer" {
		t.Errorf("the sandbox's hostname: %q %v, want outer", snap.Hostname, err)
	}

	agentUser := mustIDs(t, sb.PID())["user"]
	parent, err := sb.NSIoctl(ctx, n, "user", NSGetParent)
	if err != nil || parent != agentUser.Label("user") {
		t.Errorf("NS_GET_PARENT of the nested user namespace from the agent: %q %v, want %s", parent, err, agentUser.Label("user"))
	}
	if uid, err := sb.NSIoctl(ctx, n, "user", NSGetOwnerUID); err != nil || uid != "0" {
		t.Errorf("NS_GET_OWNER_UID inside: %q %v, want 0", uid, err)
	}
	if _, err := sb.NSIoctl(ctx, 0, "user", NSGetParent); !errors.Is(err, unix.EPERM) {
		t.Errorf("NS_GET_PARENT of its own user namespace from the agent: %v, want EPERM", err)
	}
	if _, err := sb.NSIoctl(ctx, 0, "uts", NSGetOwnerUID); !errors.Is(err, ErrBadInput) {
		t.Errorf("NS_GET_OWNER_UID on a UTS namespace: %v, want ErrBadInput", err)
	}

	// From the host: host pids of the two.
	snap, err := sb.Observe(ctx, []View{ViewPIDs, ViewTree})
	if err != nil {
		t.Fatal(err)
	}
	hostPID := map[int]Proc{}
	for _, p := range snap.Procs {
		hostPID[p.PID] = p
	}
	np, gp := hostPID[n], hostPID[g]
	if np.HostPID == 0 || gp.HostPID == 0 || len(gp.NSpid) != 3 || gp.NSpid[2] != 1 || gp.NSpid[1] != g {
		t.Fatalf("nested %+v, grandchild %+v: want NSpid host, %d, 1", np, gp, g)
	}
	nestedUser := mustIDs(t, np.HostPID)["user"]
	up := fmt.Sprintf("/proc/%d/ns/user", np.HostPID)
	if got, err := NSRelative(up, NSGetParent); err != nil || got != agentUser {
		t.Errorf("NS_GET_PARENT from the host: %v %v, want %v", got, err, agentUser)
	}
	if got, err := NSRelative(fmt.Sprintf("/proc/%d/ns/user", sb.PID()), NSGetParent); err != nil || got != eng.HostIDs()["user"] {
		t.Errorf("the sandbox's user namespace's parent: %v %v, want the host's", got, err)
	}
	if got, err := NSRelative(fmt.Sprintf("/proc/%d/ns/pid", gp.HostPID), NSGetUserNS); err != nil || got != nestedUser {
		t.Errorf("the nested PID namespace's owner: %v %v, want %v", got, err, nestedUser)
	}
	if uid, err := NSOwnerUID(up); err != nil || uid != nobodyID {
		t.Errorf("owner uid of the nested user namespace from the host: %d %v, want %d", uid, err, nobodyID)
	}
	if _, err := NSRelative(fmt.Sprintf("/proc/%d/ns/user", os.Getpid()), NSGetParent); !errors.Is(err, unix.EPERM) {
		t.Errorf("the initial user namespace's parent: %v, want EPERM", err)
	}

	tr := snap.Tree
	if tr == nil || len(tr.User) != 3 || tr.User[0].ID != eng.HostIDs()["user"] || tr.User[1].ID != agentUser || tr.User[2].ID != nestedUser || tr.User[2].Depth != 2 {
		t.Fatalf("user tree: %+v (errs %v)", tr, snap.Errs)
	}
	if tr.User[2].OwnerUID != nobodyID || tr.User[2].NProcs != 2 || !tr.User[1].Mine {
		t.Errorf("nested node: %+v", tr.User[2])
	}
	if len(tr.PID) != 3 || tr.PID[2].Owner != nestedUser || tr.PID[2].Procs[0].PID != gp.HostPID {
		t.Errorf("pid tree: %+v", tr.PID)
	}
	rows := treeRows(tr)
	if len(rows) != 6 || rows[2].key != nestedUser.Label("user") || !strings.HasPrefix(rows[2].val, "level 2, child of "+agentUser.Label("user")) || !strings.Contains(rows[2].val, "owner uid "+strconv.Itoa(nobodyID)) {
		t.Errorf("rows: %+v", rows)
	}
	host := ObserveHost([]View{ViewTree})
	if host.Tree == nil || len(host.Tree.User) != 1 || len(host.Tree.PID) != 1 {
		t.Errorf("host tree: %+v", host.Tree)
	}
	d := Diff(host, snap, ViewTree)
	if len(d) != 6 || d[0].Kind != Same || d[1].Kind != OnlySandbox {
		t.Errorf("diff: %+v", d)
	}
}

// TestNestedRefusesTheHostsUTS: a sandbox in the host's UTS namespace (a
// user namespace of its own only) gets no nested process: its root's
// sethostname would be tried on the host's namespace. Nothing is renamed.
func TestNestedRefusesTheHostsUTS(t *testing.T) {
	eng := newEngine(t)
	ctx := testCtx(t)
	before, _ := os.Hostname()
	sb := start(t, eng, Spec{Rootless: RootlessAlways})
	if _, _, err := sb.Nested(ctx, "nested"); !errors.Is(err, ErrSameNamespace) {
		t.Errorf("nested in the host's UTS namespace: %v, want ErrSameNamespace", err)
	}
	plain := start(t, eng, Spec{Flags: CloneNewUTS, Rootless: RootlessNever})
	if _, _, err := plain.Nested(ctx, "nested"); !errors.Is(err, ErrBadInput) {
		t.Errorf("nested without a user namespace of the sandbox's own: %v, want ErrBadInput", err)
	}
	if after, _ := os.Hostname(); after != before {
		t.Errorf("the host's hostname changed: %q → %q", before, after)
	}
}
