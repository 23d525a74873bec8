package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
)

func opKinds(ops []HostOp) []string {
	var out []string
	for _, op := range ops {
		out = append(out, op.Op)
	}
	return out
}

func readTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestConfinedHostOpsAreTrue: every operation a confined engine records
// for a sandbox with a veth is what the host's state says was done: the
// agent in the learner's cgroup under RLIMIT_NPROC, its id maps the
// learner's range, the host end of the veth on the host and its peer in
// the sandbox's network namespace, forwarding off on the host end. An
// ordinary engine records the veth alone.
func TestConfinedHostOpsAreTrue(t *testing.T) {
	a, _, ra, _ := learners(t, Limits{})
	ctx := testCtx(t)
	sb := start(t, a, Spec{Label: "net"})
	v, err := sb.AddVeth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ops := sb.HostOps()
	want := []string{HostOpCgroup, HostOpNProc, HostOpIDMaps, HostOpVeth, HostOpNoForward}
	if !slices.Equal(opKinds(ops), want) {
		t.Fatalf("recorded %v, want %v: %+v", opKinds(ops), want, ops)
	}
	pid := sb.PID()
	for _, op := range ops {
		if op.Time.IsZero() || op.Text == "" || op.Object == "" {
			t.Errorf("an operation without its time, text or object: %+v", op)
		}
		switch op.Op {
		case HostOpCgroup:
			for _, d := range a.conf.cg.dirs {
				procs := strings.Fields(readTrim(t, filepath.Join(d, "cgroup.procs")))
				if !slices.Contains(procs, strconv.Itoa(pid)) || !strings.Contains(op.Text, d) {
					t.Errorf("agent %d in %s's cgroup.procs %v; the record says %q", pid, d, procs, op.Text)
				}
			}
		case HostOpNProc:
			limits := readTrim(t, fmt.Sprintf("/proc/%d/limits", pid))
			n := strconv.Itoa(a.conf.lim.NProc)
			var soft, hard string
			for _, line := range strings.Split(limits, "\n") {
				if rest, ok := strings.CutPrefix(line, "Max processes"); ok {
					if f := strings.Fields(rest); len(f) >= 2 {
						soft, hard = f[0], f[1]
					}
				}
			}
			if soft != n || hard != n || !strings.Contains(op.Text, "RLIMIT_NPROC "+n) {
				t.Errorf("the record says %q; /proc/%d/limits:\n%s", op.Text, pid, limits)
			}
		case HostOpIDMaps:
			m := strings.Join(strings.Fields(readTrim(t, fmt.Sprintf("/proc/%d/uid_map", pid))), " ")
			if m != fmt.Sprintf("0 %d %d", ra.Base, ra.Count) || !strings.Contains(op.Text, fmt.Sprintf("%d-%d", ra.Base, ra.End()-1)) {
				t.Errorf("uid_map %q; the record says %q", m, op.Text)
			}
		case HostOpVeth:
			l, err := netlink.LinkByName(v.HostName)
			ids, _ := ReadIDs(pid)
			if err != nil || l.Type() != "veth" || op.Object != v.HostName || !strings.Contains(op.Text, ids["net"].Label("net")) {
				t.Errorf("host end %s: %v %v; the record %+v names the sandbox's %s?", v.HostName, l, err, op, ids["net"].Label("net"))
			}
			snap, err := sb.Observe(ctx, []View{ViewNet})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(snap.Links, func(l Link) bool { return l.Name == v.SandboxName && l.Type == "veth" }) {
				t.Errorf("no veth %s in the sandbox: %+v", v.SandboxName, snap.Links)
			}
		case HostOpNoForward:
			if f := readTrim(t, "/proc/sys/net/ipv4/conf/"+v.HostName+"/forwarding"); f != "0" {
				t.Errorf("forwarding on %s is %s; the record says %q", v.HostName, f, op.Text)
			}
			if d, err := os.ReadFile("/proc/sys/net/ipv6/conf/" + v.HostName + "/disable_ipv6"); err == nil && strings.TrimSpace(string(d)) != "1" {
				t.Errorf("IPv6 on %s is not off (disable_ipv6 %s)", v.HostName, d)
			}
		}
	}

	plain := start(t, newEngine(t), Spec{Flags: CloneNewNet, Label: "net"})
	if _, err := plain.AddVeth(ctx); err != nil {
		t.Fatal(err)
	}
	if got := opKinds(plain.HostOps()); !slices.Equal(got, []string{HostOpVeth}) {
		t.Errorf("an ordinary engine recorded %v, want only the veth", got)
	}
}

// TestConfinedVethsDoNotForward: alice and bob each have a veth to the
// host and a route to the other's subnet through it. With forwarding off
// on the host ends (as the confined engine leaves them) alice's ping to
// bob's sandbox gets no answer; with it on (the wrong state) it does, so
// the first ping failed for the sysctl, not for the routes.
func TestConfinedVethsDoNotForward(t *testing.T) {
	a, b, _, _ := learners(t, Limits{})
	if f, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); err != nil || strings.TrimSpace(string(f)) != "1" {
		t.Skipf("the host forwards no IPv4 at all (ip_forward %q): nothing to keep from the learners", f)
	}
	ctx := testCtx(t)
	sa, sb := start(t, a, Spec{Label: "net"}), start(t, b, Spec{Label: "net"})
	va, err := sa.AddVeth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vb, err := sb.AddVeth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	route := func(s *Sandbox, to, via Veth) {
		_, subnet, _ := strings.Cut(to.SandboxAddr, "/")
		dst := strings.TrimSuffix(stripPrefix(to.SandboxAddr), ".2") + ".0/" + subnet
		cmd, err := s.ShellCommand("ip", "route", "add", dst, "via", via.HostIP())
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ip route add %s via %s: %v: %s", dst, via.HostIP(), err, out)
		}
	}
	route(sa, vb, va)
	route(sb, va, vb)
	bIP := stripPrefix(vb.SandboxAddr)
	if out, err := sa.Ping(ctx, bIP); err == nil {
		t.Errorf("alice reached bob's sandbox %s through the host: %s", bIP, out)
	}
	setFwd := func(link, v string) {
		if err := os.WriteFile("/proc/sys/net/ipv4/conf/"+link+"/forwarding", []byte(v), 0); err != nil {
			t.Fatal(err)
		}
	}
	setFwd(va.HostName, "1")
	setFwd(vb.HostName, "1")
	if out, err := sa.Ping(ctx, bIP); err != nil {
		t.Errorf("with forwarding on (the control) alice's ping to bob %s failed too: %v %s; the test shows nothing", bIP, err, out)
	}
	setFwd(va.HostName, "0")
	setFwd(vb.HostName, "0")
}
