// Package sandboxtest holds test helpers shared by nslab's privileged
// tests: a fingerprint of the host to compare before and after a test, and
// a way to run the current test binary again as the user nobody. It is for
// tests only; production code must not import it.
//
// It must not import github.com/nslab/nslab/sandbox: that package's own
// internal tests import this one.
package sandboxtest

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/sandbox/internal/nldump"
)

// HostPrint is what must not change on the host across a privileged test.
type HostPrint struct {
	Hostname, Domainname string
	// SelfNS is this process's own namespaces: a test must leave the test
	// process where it started.
	SelfNS string
	// MountInfo is /proc/self/mountinfo without container engines' mounts.
	MountInfo string
	// Links are "index name flags mtu state hwaddr [addresses]"; Routes
	// are the main table's routes with their device.
	Links, Routes []string
	NetNS         []string          // names under /run/netns
	MQueue        []string          // names under /dev/mqueue
	SysVIPC       map[string]string // /proc/sysvipc/{msg,shm,sem}: keys and ids
	// Foreign maps "PID comm" to the namespaces a process does not share
	// with the test process, for processes that count as ours (see
	// ourProc).
	Foreign map[string]string
	// Cgroups are the cgroups named like nslab's ("nslab-…") under every
	// cgroup hierarchy mounted here, v1 and v2 (CgroupTree).
	Cgroups []string
}

// nsNames are the /proc/PID/ns entries compared for foreign processes.
func nsNames() []string {
	return []string{"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"}
}

// TakeHostPrint reads the host's state. The test process never leaves the
// host's namespaces, so what it reads is the host.
func TakeHostPrint(tb testing.TB) HostPrint {
	tb.Helper()
	var p HostPrint
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		tb.Fatalf("uname: %v", err)
	}
	p.Hostname = unix.ByteSliceToString(u.Nodename[:])
	p.Domainname = unix.ByteSliceToString(u.Domainname[:])
	self := nsIDs("self")
	for _, n := range nsNames() {
		p.SelfNS += n + ":" + self[n] + " "
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		tb.Fatalf("mountinfo: %v", err)
	}
	p.MountInfo = hostMounts(string(mi))

	if p.Links, p.Routes, err = hostNet(); err != nil {
		tb.Fatalf("host print: %v", err)
	}

	p.NetNS = dirNames(tb, "/run/netns")
	p.MQueue = dirNames(tb, "/dev/mqueue")
	p.SysVIPC = map[string]string{}
	for _, f := range []string{"msg", "shm", "sem"} {
		b, err := os.ReadFile("/proc/sysvipc/" + f)
		if err != nil {
			tb.Fatalf("sysvipc: %v", err)
		}
		p.SysVIPC[f] = ipcKeysAndIDs(string(b))
	}
	p.Foreign = foreignProcs(tb)
	p.Cgroups = nslabCgroups(CgroupTree(tb))
	return p
}

// hostNet lists the links (with their addresses) and routes of the calling
// thread's network namespace, leaving out other tests' and container
// engines' links. Every dump goes through nldump.Do: other tests' veths
// come and go while the host is printed, and the kernel then reports the
// dump as interrupted.
func hostNet() (links, routes []string, err error) {
	nlinks, err := nldump.Do("list links", netlink.LinkList)
	if err != nil {
		return nil, nil, err
	}
	for _, l := range nlinks {
		a := l.Attrs()
		if otherTestsLink(a.Name) || containerEngineLink(a.Name) {
			continue
		}
		addrs, err := nldump.Do("list addresses of "+a.Name, func() ([]netlink.Addr, error) {
			return netlink.AddrList(l, netlink.FAMILY_ALL)
		})
		if err != nil && !errors.Is(err, unix.ENODEV) { // ENODEV: it went away since
			return nil, nil, err
		}
		var as []string
		for _, ad := range addrs {
			as = append(as, ad.IPNet.String())
		}
		slices.Sort(as)
		links = append(links, fmt.Sprintf("%d %s %s mtu=%d %s %s [%s]",
			a.Index, a.Name, a.Flags, a.MTU, a.OperState, a.HardwareAddr, strings.Join(as, " ")))
	}
	nroutes, err := nldump.Do("list routes", func() ([]netlink.Route, error) {
		return netlink.RouteList(nil, netlink.FAMILY_ALL)
	})
	if err != nil {
		return nil, nil, err
	}
	for _, r := range nroutes {
		dev := ""
		if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
			dev = l.Attrs().Name
		}
		if otherTestsLink(dev) || containerEngineLink(dev) {
			continue
		}
		routes = append(routes, fmt.Sprintf("%s dev=%s(%d)", r.String(), dev, r.LinkIndex))
	}
	slices.Sort(routes)
	return links, routes, nil
}

// dirNames lists a directory that may be absent (no /run/netns until the
// first `ip netns add`, no /dev/mqueue without the mount).
func dirNames(tb testing.TB, dir string) []string {
	tb.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		tb.Fatalf("%s: %v", dir, err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// Diff lists, one per line, what changed from p (before) to q (after); it
// is empty when nothing did. Foreign processes that were there before and
// are gone after are fine; new ones are not.
func (p HostPrint) Diff(q HostPrint) string {
	var out []string
	cmp := func(what, x, y string) {
		if x != y {
			out = append(out, fmt.Sprintf("%s changed:\n  before: %s\n  after:  %s", what, x, y))
		}
	}
	cmp("hostname", p.Hostname, q.Hostname)
	cmp("domainname", p.Domainname, q.Domainname)
	cmp("the test process's namespaces", p.SelfNS, q.SelfNS)
	if p.MountInfo != q.MountInfo {
		out = append(out, "mountinfo changed:\n"+lineDiff(p.MountInfo, q.MountInfo))
	}
	cmp("links", strings.Join(p.Links, "; "), strings.Join(q.Links, "; "))
	cmp("routes", strings.Join(p.Routes, "; "), strings.Join(q.Routes, "; "))
	cmp("/run/netns", strings.Join(p.NetNS, " "), strings.Join(q.NetNS, " "))
	cmp("/dev/mqueue", strings.Join(p.MQueue, " "), strings.Join(q.MQueue, " "))
	cmp("nslab's cgroups", strings.Join(p.Cgroups, " "), strings.Join(q.Cgroups, " "))
	for _, f := range []string{"msg", "shm", "sem"} {
		cmp("/proc/sysvipc/"+f, p.SysVIPC[f], q.SysVIPC[f])
	}
	for k, v := range q.Foreign {
		if _, ok := p.Foreign[k]; !ok {
			out = append(out, fmt.Sprintf("process left behind in foreign namespaces (%s): %s", v, k))
		}
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// lineDiff shows the lines only one side has.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range al {
		if !slices.Contains(bl, l) {
			out = append(out, "  - "+l)
		}
	}
	for _, l := range bl {
		if !slices.Contains(al, l) {
			out = append(out, "  + "+l)
		}
	}
	return strings.Join(out, "\n")
}

// settle bounds the wait for asynchronous teardown: a killed agent is
// reaped, and its network namespace (with its veth) freed, a moment after
// Close returns.
const settle = 5 * time.Second

// Unchanged takes the host's fingerprint now and returns a function that
// fails tb if the host differs afterwards. Use it as
//
//	defer sandboxtest.Unchanged(t)()
//
// or t.Cleanup(sandboxtest.Unchanged(t)) registered before other cleanups.
func Unchanged(tb testing.TB) func() {
	tb.Helper()
	before := TakeHostPrint(tb)
	return func() {
		tb.Helper()
		UnchangedSince(tb, before)
	}
}

// UnchangedSince fails tb if the host differs from before, after polling
// for up to a few seconds for asynchronous teardown to finish. Each also
// check is polled with the print: it returns what is wrong, or "" when
// all is well (a package's own checks, such as its binary's processes).
func UnchangedSince(tb testing.TB, before HostPrint, also ...func() string) {
	tb.Helper()
	var d string
	for deadline := time.Now().Add(settle); ; time.Sleep(100 * time.Millisecond) {
		ds := []string{before.Diff(TakeHostPrint(tb))}
		for _, f := range also {
			ds = append(ds, f())
		}
		d = strings.TrimSpace(strings.Join(ds, "\n"))
		if d == "" || time.Now().After(deadline) {
			break
		}
	}
	if d != "" {
		tb.Errorf("the host changed during the test:\n%s", d)
	}
}

// Container engines (podman/buildah in .ci, docker) and the image test's
// debootstrap roots (.ci/image-test) work on this machine at the same time
// as the tests: their storage mounts and bridges come and go. nslab never
// mounts there nor names a link like that, so ignoring them hides no leak
// of ours. /run/netns mounts are ignored here because the names under
// /run/netns are compared on their own.
func foreignMount(mountpoint string) bool {
	for _, p := range []string{"/var/lib/containers/", "/run/containers/", "/var/lib/docker/", "/run/docker/",
		"/run/containerd/", "/run/crun/", "/run/runc/", "/var/tmp/buildah", "/run/user/", "/run/libpod/",
		"/var/cache/nslab-ci/", "/run/netns/"} {
		if strings.HasPrefix(mountpoint+"/", p) {
			return true
		}
	}
	return strings.HasPrefix(strings.TrimPrefix(mountpoint, os.TempDir()), "/nslab-ci-")
}

func containerEngineLink(name string) bool {
	for _, p := range []string{"podman", "cni", "docker", "br-", "veth"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// hostMounts is mountinfo without foreign mounts, and without the mount
// and parent IDs, sorted: another program that remounts something (podman
// does) changes those but leaves the table as it was.
func hostMounts(mi string) string {
	var keep []string
	for _, line := range strings.Split(strings.TrimSpace(mi), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && foreignMount(f[4]) {
			continue
		}
		if len(f) > 2 {
			line = strings.Join(f[2:], " ")
		}
		keep = append(keep, line)
	}
	slices.Sort(keep)
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

// otherTestsLink reports whether a link is the host veth end ("nslab<PID>")
// of an agent that belongs to another test binary running at the same time
// (go test ./... runs packages in parallel): its agent is alive, is not a
// copy of this binary and does not descend from this process. A leak of
// ours, or a dead agent's end, is kept and so reported.
func otherTestsLink(name string) bool {
	n, ok := strings.CutPrefix(name, "nslab")
	if !ok {
		return false
	}
	pid, err := strconv.Atoi(n)
	if err != nil {
		return false
	}
	exe, err := os.Readlink("/proc/" + n + "/exe")
	if err != nil {
		return false
	}
	return !isOurExe(exe) && !descendsFromMe(pid)
}

func isOurExe(exe string) bool {
	self, err := os.Executable()
	return err == nil && strings.TrimSuffix(exe, " (deleted)") == self
}

// parentPID reads the PPID from /proc/PID/stat. comm may hold spaces and
// parentheses: the state and PPID follow the last ')'.
func parentPID(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 2 {
		return 0, fmt.Errorf("/proc/%d/stat: %q: %w", pid, s, errShortStat)
	}
	return strconv.Atoi(f[1])
}

var errShortStat = errors.New("too few fields")

// selfOrAncestor reports whether match holds for pid or one of its
// ancestors (bounded: a chain longer than 64 is not ours).
func selfOrAncestor(pid int, match func(pid int) bool) bool {
	for i := 0; i < 64 && pid > 1; i++ {
		if match(pid) {
			return true
		}
		ppid, err := parentPID(pid)
		if err != nil {
			return false
		}
		pid = ppid
	}
	return false
}

func descendsFromMe(pid int) bool {
	me := os.Getpid()
	return selfOrAncestor(pid, func(p int) bool { return p == me })
}

// ourProc reports whether pid runs this test binary or descends from this
// process or from a process running this binary.
func ourProc(pid int) bool {
	me := os.Getpid()
	return selfOrAncestor(pid, func(p int) bool {
		if p == me {
			return true
		}
		exe, err := os.Readlink("/proc/" + strconv.Itoa(p) + "/exe")
		return err == nil && isOurExe(exe)
	})
}

func nsIDs(pid string) map[string]string {
	out := map[string]string{}
	for _, n := range nsNames() {
		if id, err := os.Readlink("/proc/" + pid + "/ns/" + n); err == nil {
			out[n] = id
		}
	}
	return out
}

// foreignProcs lists the processes of ours (see ourProc) that are not in
// all of this process's namespaces: agents, their children and anything
// still descended from this process. Other test binaries and container
// engines run on this machine at the same time; their processes are not
// this test's business.
func foreignProcs(tb testing.TB) map[string]string {
	tb.Helper()
	self := nsIDs("self")
	if len(self) == 0 {
		tb.Fatal("cannot read /proc/self/ns")
	}
	out := map[string]string{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		tb.Fatalf("/proc: %v", err)
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// A process that is gone, or a kernel thread whose links we may
		// not read, yields no ids and so no difference.
		ids := nsIDs(e.Name())
		var diff []string
		for _, n := range nsNames() {
			a, aok := ids[n]
			b, bok := self[n]
			if aok && bok && a != b {
				diff = append(diff, n)
			}
		}
		if len(diff) == 0 || !ourProc(pid) {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		out[e.Name()+" "+strings.TrimSpace(string(comm))] = strings.Join(diff, ",")
	}
	return out
}
