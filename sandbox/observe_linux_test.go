package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/sandbox/sandboxtest"
)

func TestMountinfoFixture(t *testing.T) {
	ms, err := readMounts(filepath.Join("testdata", "observe", "mountinfo"))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ mp, fstype, source, prop string }{
		{"/", "ext4", "/dev/vda", "private"},
		{"/proc", "proc", "proc", "shared:5"},
		{"/sys", "sysfs", "sysfs", "shared:6"},
		{"/dev", "devtmpfs", "devtmpfs", "master:1"},
		{"/dev/shm", "tmpfs", "tmpfs", "shared:7 master:2"},
		{"/dev/mqueue", "mqueue", "mqueue", "master:3 propagate_from:4"},
		{"/tmp", "tmpfs", "tmpfs", "unbindable"},
		{"/tmp", "tmpfs", "nslab", "shared:9"},
		{"/mnt/my disk", "vfat", "/dev/sdb1", "private"}, // \040 unescaped
	}
	if len(ms) != len(want) {
		t.Fatalf("got %d mounts, want %d: %+v", len(ms), len(want), ms)
	}
	for i, w := range want {
		m := ms[i]
		if m.Mountpoint != w.mp || m.FSType != w.fstype || m.Source != w.source || m.Propagation != w.prop {
			t.Errorf("mount %d = %+v, want %+v", i, m, w)
		}
	}
	if ms[7].ID != 31 || ms[7].Parent != 30 || ms[8].Options != "ro,relatime" {
		t.Errorf("ids/options: %+v %+v", ms[7], ms[8])
	}
	// The stacked /tmp mounts keep distinct diff keys.
	if k := MountKeys(ms); k[6] != "/tmp" || k[7] != "/tmp (2)" {
		t.Errorf("MountKeys = %q", k)
	}
	if _, err := readMounts(filepath.Join("testdata", "observe", "status-nested")); err == nil {
		t.Error("readMounts accepted a status file")
	}
}

func TestCapTableMatchesUnix(t *testing.T) {
	want := map[int]string{
		unix.CAP_CHOWN: "CAP_CHOWN", unix.CAP_KILL: "CAP_KILL", unix.CAP_SETPCAP: "CAP_SETPCAP",
		unix.CAP_NET_ADMIN: "CAP_NET_ADMIN", unix.CAP_SYS_CHROOT: "CAP_SYS_CHROOT",
		unix.CAP_SYS_PTRACE: "CAP_SYS_PTRACE", unix.CAP_SYS_ADMIN: "CAP_SYS_ADMIN",
		unix.CAP_SYS_RESOURCE: "CAP_SYS_RESOURCE", unix.CAP_SETFCAP: "CAP_SETFCAP",
		unix.CAP_MAC_OVERRIDE: "CAP_MAC_OVERRIDE", unix.CAP_SYSLOG: "CAP_SYSLOG",
		unix.CAP_AUDIT_READ: "CAP_AUDIT_READ", unix.CAP_PERFMON: "CAP_PERFMON", unix.CAP_BPF: "CAP_BPF",
		unix.CAP_CHECKPOINT_RESTORE: "CAP_CHECKPOINT_RESTORE",
	}
	for n, name := range want {
		if CapName(n) != name {
			t.Errorf("CapName(%d) = %q, want %q", n, CapName(n), name)
		}
	}
	if CapLast != unix.CAP_LAST_CAP {
		t.Errorf("CapLast = %d, unix.CAP_LAST_CAP = %d", CapLast, unix.CAP_LAST_CAP)
	}
}

func TestReadFileMax(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	content := bytes.Repeat([]byte("0123456789"), 1000) // 10000 bytes: the buffer must grow
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	got, buf, err := readFile(p, make([]byte, 16))
	if err != nil || !bytes.Equal(got, content) || len(buf) < len(content) {
		t.Fatalf("readFile: %d bytes, %v", len(got), err)
	}
	got, _, err = readFileMax(p, nil, 25)
	if err != nil || string(got) != "0123456789012345678901234" {
		t.Errorf("readFileMax(25) = %q, %v", got, err)
	}
	if _, _, err := readFile(filepath.Join(t.TempDir(), "missing"), nil); !errors.Is(err, unix.ENOENT) {
		t.Errorf("missing file: %v, want ENOENT", err)
	}
	// A /proc seq file bigger than the first buffer is still read whole.
	want, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	got, _, err = readFile("/proc/self/mountinfo", make([]byte, 64))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("readFile(mountinfo) = %d bytes, %v; want %d", len(got), err, len(want))
	}
}

// requireRoot skips a privileged test on a machine that cannot run it.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: namespaces and mounts are real here")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8) from iproute2 to check the host before and after")
	}
}

// onThrowawayThread runs f on a locked OS thread that is never unlocked:
// when the goroutine ends, the runtime ends the thread too, and with it
// every namespace f moved that thread into. f must not call t.Fatal.
func onThrowawayThread(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// The main thread: the runtime never ends it, and /proc/self
			// is its view. Holding it locked sends the next goroutine to
			// another thread; f runs there.
			onThrowawayThread(f)
			runtime.UnlockOSThread()
			return
		}
		// No UnlockOSThread, on purpose.
		f()
	}()
	<-done
}

// observeHostFingerprint records what the host looks like (the shared
// fingerprint of sandbox/sandboxtest: names, mounts, links, routes,
// /run/netns, /dev/mqueue, System V objects, processes of ours in other
// namespaces) and checks, when the test ends, that it looks the same. It
// registers its check first, so that it runs after every cleanup the test
// registers later.
func observeHostFingerprint(t testing.TB) {
	t.Helper()
	t.Cleanup(sandboxtest.Unchanged(t))
}

func TestObserveHostMatchesTools(t *testing.T) {
	requireRoot(t)
	observeHostFingerprint(t)

	s := ObserveHost(AllViews())
	if len(s.Errs) != 0 {
		t.Fatalf("errors: %v", s.Errs)
	}
	if s.Side != "host" || s.PID != os.Getpid() || time.Since(s.Taken) > time.Minute || !reflect.DeepEqual(s.Views, AllViews()) {
		t.Errorf("header: side %q pid %d taken %v views %v", s.Side, s.PID, s.Taken, s.Views)
	}

	out, err := exec.Command("hostname").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); s.Hostname != got {
		t.Errorf("hostname %q, hostname(1) says %q", s.Hostname, got)
	}
	dn, _ := os.ReadFile("/proc/sys/kernel/domainname")
	if got := strings.TrimSpace(string(dn)); s.Domainname != got {
		t.Errorf("domainname %q, /proc says %q", s.Domainname, got)
	}

	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(mi)), "\n")
	if len(s.Mounts) != len(lines) {
		t.Errorf("%d mounts, /proc/self/mountinfo has %d lines", len(s.Mounts), len(lines))
	}
	for i, l := range lines {
		if i < len(s.Mounts) && !strings.HasPrefix(l, strconv.Itoa(s.Mounts[i].ID)+" ") {
			t.Errorf("mount %d is id %d, the file says %q", i, s.Mounts[i].ID, l)
		}
	}

	// ip -o link: "2: eth0: <...> ... state UP ..."; a veth is "name@peer".
	out, err = exec.Command("ip", "-o", "link").Output()
	if err != nil {
		t.Fatal(err)
	}
	ipLinks := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		state := ""
		if i := slices.Index(f, "state"); i >= 0 && i+1 < len(f) {
			state = f[i+1]
		}
		ipLinks[name] = state
	}
	gotLinks := map[string]string{}
	for _, l := range s.Links {
		gotLinks[l.Name] = l.State
	}
	if !reflect.DeepEqual(gotLinks, ipLinks) {
		t.Errorf("links %v, ip -o link says %v", gotLinks, ipLinks)
	}

	// The default route, when ip(8) shows one.
	out, err = exec.Command("ip", "route", "show", "table", "main", "default").Output()
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(string(out)); len(f) >= 5 && f[1] == "via" && f[3] == "dev" {
		found := false
		for _, r := range s.Routes {
			found = found || (r.Dst == "default" && r.Gateway == f[2] && r.Dev == f[4])
		}
		if !found {
			t.Errorf("no default via %s dev %s in %+v", f[2], f[4], s.Routes)
		}
	}

	for name, id := range s.IDs {
		want, err := readNSID("/proc/self/ns/" + name)
		if err != nil || id != want {
			t.Errorf("id %s = %v, /proc/self says %v (%v)", name, id, want, err)
		}
	}
	if len(s.IDs) < 6 {
		t.Errorf("only %d namespace ids: %v", len(s.IDs), s.IDs)
	}

	stb, _ := os.ReadFile("/proc/self/status")
	st, err := parseStatus(stb)
	if err != nil {
		t.Fatal(err)
	}
	if s.User == nil || s.User.EUID != 0 || s.User.CapEff != st.CapEff || len(s.User.CapNames) == 0 || len(s.User.UIDMap) == 0 || s.User.Setgroups == "" {
		t.Errorf("user %+v, status CapEff %#x", s.User, st.CapEff)
	}
	cg, _ := os.ReadFile("/proc/self/cgroup")
	if want, lines, _ := parseCgroup(cg); s.Cgroup != want || len(s.CgroupLines) != len(lines) || len(lines) != strings.Count(string(cg), "\n") {
		t.Errorf("cgroup %q (%d lines), want %q (%d lines of %q)", s.Cgroup, len(s.CgroupLines), want, len(lines), cg)
	}
	var mono unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono)
	if s.Clocks == nil || time.Duration(mono.Nano())-s.Clocks.Monotonic > 10*time.Second || s.Clocks.Boottime < s.Clocks.Monotonic {
		t.Errorf("clocks %+v, monotonic now %v", s.Clocks, time.Duration(mono.Nano()))
	}
	if s.IPC == nil {
		t.Error("no IPC view")
	}

	var me *Proc
	for i := range s.Procs {
		if s.Procs[i].HostPID == os.Getpid() {
			me = &s.Procs[i]
		}
	}
	if me == nil || me.PID != os.Getpid() || me.PPID != os.Getppid() || me.State == "" || me.Cmdline == "" {
		t.Errorf("this process in the host list: %+v", me)
	}

	// Nothing differs between the host and itself, nor after the JSON
	// trip an agent's snapshot makes.
	j, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(j, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Procs) != len(s.Procs) || len(back.Mounts) != len(s.Mounts) || back.User.CapEff != s.User.CapEff {
		t.Errorf("JSON round trip lost data")
	}
	for v, ds := range DiffAll(s, back) {
		if _, oh, osb, ch := Summarize(ds); oh+osb+ch != 0 {
			t.Errorf("view %s differs from itself: %+v", v, ds)
		}
	}
}

// startInNewPIDNS starts a command as PID 1 of a new PID namespace and
// registers its kill and reaping.
func startInNewPIDNS(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &unix.SysProcAttr{Cloneflags: unix.CLONE_NEWPID, Pdeathsig: unix.SIGKILL}
	if err := cmd.Start(); err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL) {
			t.Skipf("this machine refuses CLONE_NEWPID: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Killing a PID namespace's init kills every process in it.
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

func TestObserveProcsNewPIDNamespace(t *testing.T) {
	requireRoot(t)
	observeHostFingerprint(t)

	cmd := startInNewPIDNS(t, "sleep", "30")
	hostPID := cmd.Process.Pid
	ns, err := readNSID("/proc/" + strconv.Itoa(hostPID) + "/ns/pid")
	if err != nil {
		t.Fatal(err)
	}
	// exec(2) lets the parent go (closing the close-on-exec pipe) before
	// it has set up the new argument list, and until sleep reaches its
	// nanosleep it is running (R) or, on a loaded machine, waiting in the
	// kernel for a page of its binary (D): poll until it sleeps (S).
	var procs []Proc
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if procs, err = ObserveProcs(ns); err != nil {
			t.Fatal(err)
		}
		if len(procs) != 1 || (procs[0].Cmdline != "" && procs[0].State == "S") {
			break
		}
	}
	want := []Proc{{HostPID: hostPID, PID: 1, PPID: 0, NSpid: []int{hostPID, 1}, Comm: "sleep", Cmdline: "sleep 30", State: "S"}}
	if !reflect.DeepEqual(procs, want) {
		t.Errorf("ObserveProcs:\n got %+v\nwant %+v", procs, want)
	}

	// From the host's own namespace the child is a member below, known by
	// its host PID.
	self, err := readNSID("/proc/self/ns/pid")
	if err != nil {
		t.Fatal(err)
	}
	all, err := ObserveProcs(self)
	if err != nil {
		t.Fatal(err)
	}
	hostAll, err := ObserveAllProcs()
	if err != nil {
		t.Fatal(err)
	}
	for _, list := range [][]Proc{all, hostAll} {
		i := slices.IndexFunc(list, func(p Proc) bool { return p.HostPID == hostPID })
		if i < 0 || list[i].PID != hostPID || list[i].PPID != os.Getpid() {
			t.Errorf("child %d not listed right from the host: %+v", hostPID, list)
		}
	}
	if len(all) != len(hostAll) && absInt(len(all)-len(hostAll)) > 20 {
		t.Errorf("from the host's namespace %d processes, ObserveAllProcs %d", len(all), len(hostAll))
	}

	// The pids view of a sandbox made of that namespace.
	d := Diff(Snapshot{Procs: hostAll}, Snapshot{Procs: procs}, ViewPIDs)
	if len(d) == 0 || d[0] != (Delta{Key: strconv.Itoa(hostPID), Host: strconv.Itoa(hostPID), Sandbox: "1", Label: "sleep", Kind: Changed}) {
		t.Errorf("first pids row: %+v", d[:min(len(d), 3)])
	}
}

func TestObserveProcsNestedPIDNamespaces(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare(1) from util-linux")
	}
	observeHostFingerprint(t)

	// PID 1 of the outer namespace is unshare(1), which forks sleep as
	// PID 1 of an inner namespace.
	cmd := startInNewPIDNS(t, "unshare", "--pid", "--fork", "--kill-child", "sleep", "30")
	outerPID := cmd.Process.Pid
	outer, err := readNSID("/proc/" + strconv.Itoa(outerPID) + "/ns/pid")
	if err != nil {
		t.Fatal(err)
	}
	var procs []Proc
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if procs, err = ObserveProcs(outer); err != nil {
			t.Fatal(err)
		}
		if len(procs) == 2 && procs[1].Comm == "sleep" && procs[1].Cmdline != "" {
			break
		}
	}
	if len(procs) != 2 {
		t.Fatalf("outer namespace: %+v", procs)
	}
	u, s := procs[0], procs[1]
	if u.HostPID != outerPID || u.PID != 1 || u.PPID != 0 || !reflect.DeepEqual(u.NSpid, []int{outerPID, 1}) || u.Comm != "unshare" {
		t.Errorf("unshare: %+v", u)
	}
	if s.PID != 2 || s.PPID != 1 || len(s.NSpid) != 3 || s.NSpid[1] != 2 || s.NSpid[2] != 1 || s.Cmdline != "sleep 30" {
		t.Errorf("sleep, seen from the outer namespace: %+v", s)
	}

	inner, err := readNSID("/proc/" + strconv.Itoa(s.HostPID) + "/ns/pid")
	if err != nil {
		t.Fatal(err)
	}
	in, err := ObserveProcs(inner)
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 1 || in[0].HostPID != s.HostPID || in[0].PID != 1 || in[0].PPID != 0 {
		t.Errorf("inner namespace: %+v", in)
	}

	// The other ways to the same answer: through a path, and (for
	// kernels before 6.11) by stat and NS_GET_PARENT.
	at, err := ObserveProcsAt("/proc/" + strconv.Itoa(outerPID) + "/ns/pid")
	if err != nil {
		t.Fatal(err)
	}
	names, err := listPIDs()
	if err != nil {
		t.Fatal(err)
	}
	walked, err := observeProcsWalk(outer, names)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]Proc{"ObserveProcsAt": at, "observeProcsWalk": walked} {
		if len(got) != 2 || got[0].HostPID != u.HostPID || got[0].PID != 1 || got[1].HostPID != s.HostPID || got[1].PID != 2 || got[1].PPID != 1 || !reflect.DeepEqual(got[1].NSpid, s.NSpid) {
			t.Errorf("%s: %+v", name, got)
		}
	}
	walkedInner, err := observeProcsWalk(inner, names)
	if err != nil || len(walkedInner) != 1 || walkedInner[0].PID != 1 || walkedInner[0].HostPID != s.HostPID {
		t.Errorf("observeProcsWalk(inner) = %+v, %v", walkedInner, err)
	}
	// unshare(1) forked sleep into its pid_for_children: the inner one.
	if kids, err := ObserveProcsAt("/proc/" + strconv.Itoa(outerPID) + "/ns/pid_for_children"); err != nil || len(kids) != 1 || kids[0].HostPID != s.HostPID {
		t.Errorf("ObserveProcsAt(pid_for_children) = %+v, %v", kids, err)
	}
	if _, err := ObserveProcsAt("/proc/self/ns/uts"); !errors.Is(err, ErrBadInput) {
		t.Errorf("ObserveProcsAt(a uts namespace) = %v, want ErrBadInput", err)
	}
	if _, err := ObserveProcsAt("/proc/no-such/ns/pid"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("ObserveProcsAt(missing) = %v, want ENOENT", err)
	}

	if _, err := ObserveProcs(NSID{}); !errors.Is(err, ErrBadInput) {
		t.Errorf("ObserveProcs(zero) = %v, want ErrBadInput", err)
	}
	// A namespace nobody is in (a user namespace id is no PID namespace).
	ids, err := ReadIDs(0)
	if err != nil {
		t.Fatal(err)
	}
	if none, err := ObserveProcs(ids["user"]); err != nil || len(none) != 0 {
		t.Errorf("ObserveProcs(a user ns) = %+v, %v", none, err)
	}
}

func absInt(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// TestObserveSelfInUnsharedNamespaces moves one throwaway thread into new
// UTS, network, IPC and mount namespaces and checks that ObserveSelf on it
// sees them while ObserveHost, from another thread, still sees the host.
func TestObserveSelfInUnsharedNamespaces(t *testing.T) {
	requireRoot(t)
	observeHostFingerprint(t)

	const name = "nslab-observe"
	tmpfsDir := t.TempDir()
	mqDir := t.TempDir()
	hostBefore := ObserveHost(AllViews())
	if hostBefore.Hostname == name {
		t.Fatalf("the host is already called %q", name)
	}

	var self, host Snapshot
	var problem error
	skip := ""
	onThrowawayThread(func() {
		err := unix.Unshare(unix.CLONE_FS | unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWNET | unix.CLONE_NEWIPC)
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL) {
			skip = "this machine refuses unshare: " + err.Error()
			return
		}
		if err != nil {
			problem = err
			return
		}
		// Never touch a namespace the host still uses.
		for _, kind := range []string{"uts", "mnt", "net", "ipc"} {
			mine, err1 := readNSID("/proc/thread-self/ns/" + kind)
			hosts, err2 := readNSID("/proc/self/ns/" + kind)
			if err := errors.Join(err1, err2); err != nil || mine == hosts {
				problem = errors.Join(errors.New("the thread still shares the host's "+kind+" namespace"), err)
				return
			}
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			problem = err
			return
		}
		if err := unix.Sethostname([]byte(name)); err != nil {
			problem = err
			return
		}
		if err := unix.Mount("nslab-obs", tmpfsDir, "tmpfs", 0, "size=64k"); err != nil {
			problem = err
			return
		}
		if err := unix.Mount("mqueue", mqDir, "mqueue", 0, ""); err != nil {
			problem = err
			return
		}
		// Creating a file in an mqueue mount creates a POSIX queue in
		// that mount's IPC namespace: this thread's new one.
		f, err := os.OpenFile(filepath.Join(mqDir, "nslabq"), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			problem = err
			return
		}
		f.Close()
		// A System V segment, which dies with this thread's IPC namespace.
		if _, err := unix.SysvShmGet(0x4e534c42, 4096, unix.IPC_CREAT|0o600); err != nil {
			problem = err
			return
		}
		self = ObserveSelf(AllViews())
		host = ObserveHost(AllViews()) // runs on another thread
	})
	if skip != "" {
		t.Skip(skip)
	}
	if problem != nil {
		t.Fatal(problem)
	}
	if len(self.Errs) != 0 || len(host.Errs) != 0 {
		t.Fatalf("errors: self %v host %v", self.Errs, host.Errs)
	}

	if self.Hostname != name || host.Hostname != hostBefore.Hostname {
		t.Errorf("hostname: thread %q, host %q (before %q)", self.Hostname, host.Hostname, hostBefore.Hostname)
	}
	if len(self.Links) != 1 || self.Links[0].Name != "lo" || self.Links[0].State != "DOWN" || len(self.Routes) != 0 {
		t.Errorf("a new network namespace has lo alone, down, no routes: %+v %+v", self.Links, self.Routes)
	}
	if self.IPC == nil || len(self.IPC.MsgQueues)+len(self.IPC.Semaphores) != 0 ||
		len(self.IPC.ShmSegs) != 1 || self.IPC.ShmSegs[0].Key != "0x4e534c42" || self.IPC.ShmSegs[0].Size != 4096 || self.IPC.ShmSegs[0].Perms != "600" ||
		!reflect.DeepEqual(self.IPC.MQueues, []string{"/nslabq"}) || self.IPC.MQueueNote != "" {
		t.Errorf("IPC of the thread: %+v", self.IPC)
	}
	if host.IPC == nil || slices.Contains(host.IPC.MQueues, "/nslabq") ||
		slices.ContainsFunc(host.IPC.ShmSegs, func(o IPCObject) bool { return o.Key == "0x4e534c42" }) {
		t.Errorf("IPC of the host: %+v", host.IPC)
	}
	hasMount := func(s Snapshot) bool {
		return slices.ContainsFunc(s.Mounts, func(m Mount) bool { return m.Mountpoint == tmpfsDir && m.Source == "nslab-obs" })
	}
	if !hasMount(self) || hasMount(host) {
		t.Errorf("tmpfs at %s: in the thread's table %v, in the host's %v", tmpfsDir, hasMount(self), hasMount(host))
	}
	if p := self.Mounts[0].Propagation; p != "private" {
		t.Errorf("the new namespace's root is %q, want private", p)
	}

	all := DiffAll(host, self)
	if len(all) != len(AllViews()) {
		t.Errorf("DiffAll views: %d", len(all))
	}
	kinds := map[string]DeltaKind{}
	for _, d := range all[ViewIDs] {
		kinds[d.Key] = d.Kind
	}
	for k, want := range map[string]DeltaKind{"uts": Changed, "net": Changed, "ipc": Changed, "mnt": Changed, "pid": Same, "user": Same, "cgroup": Same} {
		if kinds[k] != want {
			t.Errorf("ids %s: %s, want %s", k, kinds[k], want)
		}
	}
	if d := all[ViewUTS]; len(d) != 2 || d[0] != (Delta{Key: "hostname", Host: host.Hostname, Sandbox: name, Kind: Changed}) {
		t.Errorf("uts diff: %+v", d)
	}
	if d := all[ViewMount]; !slices.Contains(d, Delta{Key: tmpfsDir, Sandbox: "tmpfs nslab-obs private", Kind: OnlySandbox}) {
		t.Errorf("mount diff lacks the tmpfs: %+v", d)
	}
	if d := all[ViewIPC]; !slices.Contains(d, Delta{Key: "mq /nslabq", Sandbox: "queue", Kind: OnlySandbox}) {
		t.Errorf("ipc diff: %+v", d)
	}
	if _, _, _, ch := Summarize(all[ViewTime]); ch != 0 {
		t.Errorf("clocks differ without a time namespace: %+v", all[ViewTime])
	}
}

func TestObserveSelfUnknownView(t *testing.T) {
	var s Snapshot
	onThrowawayThread(func() { s = ObserveSelf([]View{ViewUTS, "bogus", ViewCgrp}) })
	if s.Hostname == "" || s.Cgroup == "" || s.Errs["bogus"] == "" || len(s.Errs) != 1 {
		t.Errorf("snapshot %+v", s)
	}
	if s.Side != "sandbox" || s.Has(ViewNet) || !s.Has("bogus") {
		t.Errorf("side %q views %v", s.Side, s.Views)
	}
	if s.Procs != nil || s.Mounts != nil || s.Links != nil {
		t.Errorf("views that were not asked were filled: %+v", s)
	}
}

func TestObserveAllProcsSorted(t *testing.T) {
	procs, err := ObserveAllProcs()
	if err != nil {
		t.Fatal(err)
	}
	if !sort.SliceIsSorted(procs, func(i, j int) bool { return procs[i].PID < procs[j].PID }) {
		t.Error("not sorted by PID")
	}
	if len(procs) < 2 || !slices.ContainsFunc(procs, func(p Proc) bool { return p.HostPID == os.Getpid() }) {
		t.Errorf("%d processes, this one missing", len(procs))
	}
}
