package lessons

// The host fingerprint every privileged lesson test takes before and after
// a lesson run: any difference fails the test. Usage, first thing in a test
// that starts sandboxes:
//
//	defer hostUnchanged(t)()
//
// Other lesson authors reuse it; its names are stable.

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/sandbox"
)

// TestMain dispatches the hidden entry points: agents re-execute this test
// binary through /proc/self/exe. It is the package's only TestMain.
func TestMain(m *testing.M) {
	if sandbox.IsHidden(os.Args) {
		os.Exit(sandbox.RunHidden(os.Args))
	}
	os.Exit(m.Run())
}

// hostPrint is what must not change on the host across a lesson run.
type hostPrint struct {
	Hostname, Domainname string
	MountInfo            string
	Links, Routes        []string
	NetNS                []string
	SysVIPC              map[string]string // /proc/sysvipc/{msg,shm,sem}
	// Foreign maps "PID comm" to the namespaces a process does not share
	// with this test process, for processes that count as ours (see
	// foreignProcs).
	Foreign map[string]string
}

// takeHostPrint reads the host's state. The test process never leaves the
// host's namespaces, so what it reads is the host.
func takeHostPrint(t testing.TB) hostPrint {
	t.Helper()
	var p hostPrint
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatalf("uname: %v", err)
	}
	p.Hostname = unix.ByteSliceToString(u.Nodename[:])
	p.Domainname = unix.ByteSliceToString(u.Domainname[:])
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatalf("mountinfo: %v", err)
	}
	p.MountInfo = hostMounts(string(mi))

	links, err := netlink.LinkList()
	if err != nil {
		t.Fatalf("links: %v", err)
	}
	for _, l := range links {
		a := l.Attrs()
		if otherTestsLink(a.Name) || containerEngineLink(a.Name) {
			continue
		}
		addrs, _ := netlink.AddrList(l, netlink.FAMILY_ALL)
		var as []string
		for _, ad := range addrs {
			as = append(as, ad.IPNet.String())
		}
		slices.Sort(as)
		p.Links = append(p.Links, fmt.Sprintf("%d %s %s %s [%s]", a.Index, a.Name, a.OperState, a.HardwareAddr, strings.Join(as, " ")))
	}
	routes, err := netlink.RouteList(nil, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatalf("routes: %v", err)
	}
	for _, r := range routes {
		dev := ""
		if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
			dev = l.Attrs().Name
		}
		if otherTestsLink(dev) || containerEngineLink(dev) {
			continue
		}
		p.Routes = append(p.Routes, fmt.Sprintf("%s dev=%s(%d)", r.String(), dev, r.LinkIndex))
	}
	slices.Sort(p.Routes)

	if ents, err := os.ReadDir("/run/netns"); err == nil {
		for _, e := range ents {
			p.NetNS = append(p.NetNS, e.Name())
		}
	}
	p.SysVIPC = map[string]string{}
	for _, f := range []string{"msg", "shm", "sem"} {
		b, err := os.ReadFile("/proc/sysvipc/" + f)
		if err != nil {
			t.Fatalf("sysvipc: %v", err)
		}
		p.SysVIPC[f] = ipcKeysAndIDs(string(b))
	}
	p.Foreign = foreignProcs(t)
	return p
}

// Container engines (podman/buildah in .ci, docker) work on this machine
// at the same time as the tests: their storage mounts and bridges come and
// go. nslab never mounts there nor names a link like that, so ignoring
// them hides no leak of ours.
func containerEnginePath(mountpoint string) bool {
	for _, p := range []string{"/var/lib/containers/", "/run/containers/", "/var/lib/docker/", "/run/docker/",
		"/run/containerd/", "/var/tmp/buildah", "/run/user/", "/run/libpod/"} {
		if strings.HasPrefix(mountpoint+"/", p) {
			return true
		}
	}
	return false
}

func containerEngineLink(name string) bool {
	for _, p := range []string{"podman", "cni", "docker", "br-", "veth"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// hostMounts is mountinfo without the container engines' mounts.
func hostMounts(mi string) string {
	var keep []string
	for _, line := range strings.Split(mi, "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && containerEnginePath(f[4]) {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

// ipcKeysAndIDs keeps the key and id columns of a /proc/sysvipc file: the
// others (attach counts, times) move on their own.
func ipcKeysAndIDs(s string) string {
	var out []string
	for i, line := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 2 {
			continue
		}
		out = append(out, f[0]+" "+f[1])
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// otherTestsLink reports whether a link is a host veth end ("nslab<PID>")
// of an agent that belongs to another test binary running at the same
// time (other packages' tests share this machine): its agent is alive and
// is not a copy of this binary. A leak of ours, or a dead agent's end, is
// kept and so reported.
func otherTestsLink(name string) bool {
	n, ok := strings.CutPrefix(name, "nslab")
	if !ok {
		return false
	}
	pid, err := strconv.Atoi(n)
	if err != nil {
		return false
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return false
	}
	return !isOurExe(exe)
}

func isOurExe(exe string) bool {
	self, err := os.Executable()
	return err == nil && strings.TrimSuffix(exe, " (deleted)") == self
}

// foreignProcs lists the processes of this test binary that are not in
// all of its namespaces: agents and their children (re-executions of this
// binary) and anything still descended from this process. Other test
// binaries and container engines run on this machine at the same time;
// their processes are not this test's business.
func foreignProcs(t testing.TB) map[string]string {
	t.Helper()
	self, err := sandbox.ReadIDs(os.Getpid())
	if err != nil {
		t.Fatalf("own namespaces: %v", err)
	}
	out := map[string]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ids, err := sandbox.ReadIDs(pid)
		if err != nil {
			continue // gone, or a kernel thread we may not read
		}
		var diff []string
		for _, k := range sandbox.Kinds() {
			a, aok := ids[k.ProcName]
			b, bok := self[k.ProcName]
			if aok && bok && a != b {
				diff = append(diff, k.ProcName)
			}
		}
		if len(diff) == 0 || !oursProc(pid) {
			continue
		}
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		out[fmt.Sprintf("%d %s", pid, strings.TrimSpace(string(comm)))] = strings.Join(diff, ",")
	}
	return out
}

// oursProc reports whether pid runs this test binary or descends from this
// process or from a process running this binary.
func oursProc(pid int) bool {
	me := os.Getpid()
	for i := 0; i < 64 && pid > 1; i++ {
		if pid == me {
			return true
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && isOurExe(exe) {
			return true
		}
		ppid, err := ParentPID(pid)
		if err != nil {
			return false
		}
		pid = ppid
	}
	return false
}

// diff lists what changed from a (before) to b (after). Foreign processes
// that were there before and are gone after are fine; new ones are not.
func (a hostPrint) diff(b hostPrint) []string {
	var out []string
	cmp := func(what, x, y string) {
		if x != y {
			out = append(out, fmt.Sprintf("%s changed:\n  before: %s\n  after:  %s", what, x, y))
		}
	}
	cmp("hostname", a.Hostname, b.Hostname)
	cmp("domainname", a.Domainname, b.Domainname)
	cmp("mountinfo", a.MountInfo, b.MountInfo)
	cmp("links", strings.Join(a.Links, "; "), strings.Join(b.Links, "; "))
	cmp("routes", strings.Join(a.Routes, "; "), strings.Join(b.Routes, "; "))
	cmp("/run/netns", strings.Join(a.NetNS, " "), strings.Join(b.NetNS, " "))
	for _, f := range []string{"msg", "shm", "sem"} {
		cmp("/proc/sysvipc/"+f, a.SysVIPC[f], b.SysVIPC[f])
	}
	for k, v := range b.Foreign {
		if _, ok := a.Foreign[k]; !ok {
			out = append(out, fmt.Sprintf("process left behind in foreign namespaces (%s): %s", v, k))
		}
	}
	slices.Sort(out)
	return out
}

// hostUnchanged takes the host's fingerprint now and returns a function
// that fails t if the host differs afterwards. Processes and links take a
// moment to go after Close, so it retries for up to three seconds before
// reporting.
func hostUnchanged(t testing.TB) func() {
	t.Helper()
	before := takeHostPrint(t)
	return func() {
		t.Helper()
		hostUnchangedSince(t, before)
	}
}

// hostUnchangedSince fails t if the host differs from before.
func hostUnchangedSince(t testing.TB, before hostPrint) {
	t.Helper()
	var d []string
	for deadline := time.Now().Add(3 * time.Second); ; {
		d = before.diff(takeHostPrint(t))
		if len(d) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, x := range d {
		t.Errorf("host changed: %s", x)
	}
}

// needRoot skips a privileged test for a non-root user with the reason.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: this test creates namespaces and compares the host")
	}
}

// TestHostPrintSeesASandbox shows the fingerprint can fail: while a
// sandbox with its own namespaces runs, its agent is a new foreign process;
// after Close the print is back to what it was.
func TestHostPrintSeesASandbox(t *testing.T) {
	needRoot(t)
	before := takeHostPrint(t)
	eng, err := sandbox.NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	sb, err := eng.Start(t.Context(), sandbox.Spec{Flags: sandbox.CloneNewUTS | sandbox.CloneNewIPC, Label: "hostcheck"})
	if err != nil {
		t.Fatal(err)
	}
	d := before.diff(takeHostPrint(t))
	want := fmt.Sprintf("%d ", sb.PID())
	found := false
	for _, x := range d {
		if strings.Contains(x, want) && strings.Contains(x, "uts") {
			found = true
		}
	}
	if !found {
		t.Errorf("the running agent %d is not reported as a new foreign process: %q", sb.PID(), d)
	}
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	hostUnchangedSince(t, before)
}
