package serve

// Privileged tests of the confinement as learners meet it: over SSH, in
// the full-screen shell of their own uts sandbox, typing commands. Every
// check has its positive twin (what alice sees of her own things), so
// that each can fail; a server with unconfined engines fails the
// isolation checks (TestUnconfinedFailsTheChecks).

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/sys/mountinfo"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/sandbox/idrange"
	"github.com/nslab/nslab/sandbox/sandboxtest"
	"github.com/nslab/nslab/ui/serve/servetest"
)

// fullShell takes a learner from the performed uts lesson to its
// full-screen shell inside the sandbox.
func fullShell(t *testing.T, tm *servetest.Terminal) {
	t.Helper()
	tm.Keys("n", "n")
	tm.WaitScreen("the experiment part", `\[EXPERIMENT\]`)
	tm.Keys("S")
	tm.WaitScreen("the shell's prompt inside", `\[nslab:uts\]`)
}

// leave exits the full shell and quits with ctrl+c.
func leave(t *testing.T, tm *servetest.Terminal) {
	t.Helper()
	tm.Keys("exit", "Enter")
	tm.WaitScreen("the lesson again", `back from the shell`)
	tm.Keys("\x03")
	tm.WaitEnd()
}

// learnerIn logs name in, performs uts and opens the full shell.
func learnerIn(t *testing.T, s *testServer, name string) (*gossh.Client, *servetest.Terminal) {
	t.Helper()
	c := s.dial(t, name)
	tm := servetest.Open(t, c)
	tm.PerformUTS()
	fullShell(t, tm)
	return c, tm
}

// recordedRange is name's id range as the server recorded it.
func recordedRange(t *testing.T, state, name string) idrange.Range {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(state, idrange.FileName))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct{ Ranges map[string]idrange.Range }
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	r, ok := rec.Ranges[name]
	if !ok {
		t.Fatalf("no range recorded for %s: %s", name, b)
	}
	return r
}

// checkUIDMap judges a learner's /proc/self/uid_map line ("0 BASE
// COUNT", spaces squeezed): root inside must be r's base outside, an
// unprivileged id (above the host's system ranges), and nothing else
// mapped.
func checkUIDMap(line string, r idrange.Range) error {
	f := strings.Fields(line)
	if len(f) != 3 {
		return fmt.Errorf("uid_map %q: want one line of three numbers", line)
	}
	in, _ := strconv.ParseUint(f[0], 10, 32)
	out, _ := strconv.ParseUint(f[1], 10, 32)
	n, _ := strconv.ParseUint(f[2], 10, 32)
	switch {
	case in != 0 || out != uint64(r.Base) || n != uint64(r.Count):
		return fmt.Errorf("uid_map %q: want 0 %d %d (the learner's recorded range)", line, r.Base, r.Count)
	case out < 2*idrange.Size:
		return fmt.Errorf("uid_map %q: root inside is a host system id outside", line)
	}
	return nil
}

func TestCheckUIDMapFails(t *testing.T) {
	r := idrange.Range{Base: 1 << 20, Count: idrange.Size}
	if err := checkUIDMap(fmt.Sprintf("0 %d %d", r.Base, r.Count), r); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"0 0 4294967295", "0 65534 1", fmt.Sprintf("0 %d %d", r.Base+idrange.Size, r.Count), "", "0 1048576"} {
		if checkUIDMap(bad, r) == nil {
			t.Errorf("uid_map %q passed", bad)
		}
	}
	if checkUIDMap("0 1000 65536", idrange.Range{Base: 1000, Count: idrange.Size}) == nil {
		t.Error("a range over the host's system ids passed")
	}
}

// isolation is what one learner's shell sees of alice's things.
type isolation struct {
	sleeps, mounts, shm, procs int
	hostname                   string
}

// look reads, in tm's shell, how many of alice's things it sees.
func look(t *testing.T, tm *servetest.Terminal, tag string) isolation {
	t.Helper()
	num := func(key, cmd string) int {
		s := tm.Say(tag+key, cmd)
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			t.Fatalf("%s: %q is not a number", cmd, s)
		}
		return n
	}
	return isolation{
		// [2] keeps grep's own command line from matching.
		sleeps:   num("sleep", `cat /proc/[0-9]*/cmdline | tr '\0' ' ' | grep -o 'sleep 424[2]' | wc -l`),
		mounts:   num("mnt", `grep -c alicefs /proc/self/mountinfo`),
		shm:      num("shm", `tail -n +2 /proc/sysvipc/shm | wc -l`),
		procs:    num("procs", `ls -d /proc/[0-9]* | wc -l`),
		hostname: tm.Say(tag+"hn", "hostname"),
	}
}

// judge says what of alice's things other sees (it should see none).
func judge(other isolation) []string {
	var bad []string
	if other.hostname == "alice-box" {
		bad = append(bad, "alice's hostname")
	}
	if other.sleeps != 0 {
		bad = append(bad, "alice's processes")
	}
	if other.mounts != 0 {
		bad = append(bad, "alice's mount")
	}
	if other.shm != 0 {
		bad = append(bad, "alice's IPC")
	}
	return bad
}

// aliceThings makes, in alice's shell, the things bob must not see: a
// hostname, a process, a mount and a System V shared memory segment.
func aliceThings(t *testing.T, a *servetest.Terminal) {
	t.Helper()
	a.Keys("hostname alice-box", "Enter", "sleep 4242 &", "Enter")
	if got := a.Say("mk", "mkdir -p /tmp/m && mount -t tmpfs alicefs /tmp/m && ipcmk -M 4096 && echo made"); !strings.HasSuffix(got, "made") {
		t.Fatalf("alice could not make her own mount and IPC: %q", got)
	}
}

// hostRootDev is the host's root filesystem's device number and type.
func hostRootDev(t *testing.T) (uint64, string) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/", &st); err != nil {
		t.Fatal(err)
	}
	ms, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter("/"))
	if err != nil || len(ms) == 0 {
		t.Fatalf("the host's root mount: %v", err)
	}
	return st.Dev, ms[0].FSType
}

// TestLearnersConfined: alice and bob each perform uts over SSH and work
// in their sandbox's shell. Bob sees none of alice's hostname, processes,
// mounts or IPC, nor does the host; alice's uid_map maps root to her own
// recorded unprivileged range; she can neither mount the host's disk
// (its device node put in her sandbox by the host) nor change the host's
// hostname, nor load a module.
func TestLearnersConfined(t *testing.T) {
	needRoot(t)
	before := sandboxtest.TakeHostPrint(t)
	hostName, _ := os.Hostname()
	s := startServer(t, Config{})
	_, a := learnerIn(t, s, "alice")
	_, b := learnerIn(t, s, "bob")
	b.Keys("hostname bob-box", "Enter")

	aliceThings(t, a)
	own := look(t, a, "a")
	if bad := judge(own); len(bad) != 4 {
		t.Fatalf("alice's own shell must see her hostname, process, mount and IPC (the checks' twin), saw %v: %+v", bad, own)
	}
	seen := look(t, b, "b")
	t.Logf("bob's shell: %d processes, hostname %q; of alice's: %d processes, %d mounts, %d shm", seen.procs, seen.hostname, seen.sleeps, seen.mounts, seen.shm)
	for _, what := range judge(seen) {
		t.Errorf("bob sees %s", what)
	}
	if seen.hostname != "bob-box" {
		t.Errorf("bob's hostname is %q, he set bob-box", seen.hostname)
	}
	if h, _ := os.Hostname(); h != hostName {
		t.Errorf("the host's hostname is %q, was %q", h, hostName)
	}
	if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), "alicefs") {
		t.Error("alice's mount is in the host's mount table")
	}

	// Her ids: root inside is her own range outside, not bob's.
	ra, rb := recordedRange(t, s.state, "alice"), recordedRange(t, s.state, "bob")
	if ra.Overlaps(rb) {
		t.Errorf("alice %s and bob %s share ids", ra, rb)
	}
	um := a.Say("map", `tr -s ' ' < /proc/self/uid_map`)
	if err := checkUIDMap(um, ra); err != nil {
		t.Error(err)
	}
	if err := checkUIDMap(b.Say("map", `tr -s ' ' < /proc/self/uid_map`), rb); err != nil {
		t.Errorf("bob: %v", err)
	}

	// The host's disk: no block device is in her /dev, and she cannot
	// make its node (mknod needs CAP_MKNOD in the host's user
	// namespace), nor mount it. (sandbox's TestConfinedIsolation also
	// hands her the node and shows mount(2) refused.)
	dev, fstype := hostRootDev(t)
	if got := a.Say("blk", "find / /dev -xdev -type b 2>/dev/null | wc -l"); got != "0" {
		t.Errorf("alice sees %s block devices", got)
	}
	got := a.Say("dev", fmt.Sprintf("mknod /tmp/hostdisk b %d %d; echo mknod=$?; mkdir -p /tmp/d; mount -t %s /tmp/hostdisk /tmp/d; echo mount=$?", unix.Major(dev), unix.Minor(dev), fstype))
	t.Logf("alice making and mounting the host's disk (%d:%d, %s): %s", unix.Major(dev), unix.Minor(dev), fstype, got)
	if !strings.Contains(got, "mknod=1") || strings.Contains(got, "mount=0") {
		t.Errorf("alice making and mounting the host's disk: %q, want both refused", got)
	}
	// The host's hostname: her sethostname reaches her own UTS namespace
	// only.
	if got := a.Say("sethost", "hostname pwned && cat /proc/sys/kernel/hostname"); got != "pwned" {
		t.Errorf("alice's hostname after setting it: %q", got)
	}
	if h, _ := os.Hostname(); h != hostName {
		t.Errorf("alice changed the host's hostname to %q", h)
	}
	// Modules: init_module needs CAP_SYS_MODULE in the host's user
	// namespace.
	if _, err := os.Stat("/proc/modules"); err != nil {
		t.Log("this kernel has no loadable modules (no /proc/modules): loading one fails for root too, so that check cannot fail here")
	} else {
		mods, _ := os.ReadFile("/proc/modules")
		got := a.Say("mod", "modprobe dummy; echo status=$?")
		t.Logf("alice loading a module: %s", got)
		if now, _ := os.ReadFile("/proc/modules"); string(now) != string(mods) {
			t.Error("the host's modules changed after alice's modprobe")
		}
		if strings.HasSuffix(got, "status=0") {
			t.Errorf("alice's modprobe succeeded: %q", got)
		}
	}

	for _, tm := range []*servetest.Terminal{a, b} {
		leave(t, tm)
	}
	sandboxtest.UnchangedSince(t, before)
}

// TestUnconfinedFailsTheChecks: the same look from a learner of a server
// whose engines are not confined (the uts sandbox alone) sees alice's
// processes, mounts and IPC, and maps to the host's ids: the checks of
// TestLearnersConfined fail on that wrong state.
func TestUnconfinedFailsTheChecks(t *testing.T) {
	needRoot(t)
	before := sandboxtest.TakeHostPrint(t)
	s := startServer(t, Config{NewEngine: func(string) (*sandbox.Engine, error) { return sandbox.NewEngine() }})
	_, a := learnerIn(t, s, "alice")
	_, b := learnerIn(t, s, "bob")
	// Alice's things, but her mount in a mount namespace of her own (the
	// unconfined uts sandbox shares the host's: a mount there would be
	// the host's).
	a.Keys("hostname alice-box", "Enter", "sleep 4242 &", "Enter")
	if got := a.Say("mk", "(unshare -m sh -c 'mount -t tmpfs alicefs /mnt && sleep 4243' >/dev/null 2>&1 &) ; ipcmk -M 4096 && echo made"); !strings.HasSuffix(got, "made") {
		t.Fatalf("alice's things: %q", got)
	}
	seen := look(t, b, "b")
	bad := judge(seen)
	if !slices.Contains(bad, "alice's processes") || !slices.Contains(bad, "alice's IPC") {
		t.Errorf("the isolation check passed an unconfined bob, who saw only %v (%+v)", bad, seen)
	}
	if err := checkUIDMap(b.Say("map", `tr -s ' ' < /proc/self/uid_map`), recordedOr(t, s.state, "bob")); err == nil {
		t.Error("the uid_map check passed an unconfined bob")
	}
	// Alice's segment is the host's: remove it before comparing.
	a.Keys("ipcrm --all=shm; pkill -f 'sleep 424[23]'", "Enter")
	time.Sleep(200 * time.Millisecond)
	for _, tm := range []*servetest.Terminal{a, b} {
		leave(t, tm)
	}
	sandboxtest.UnchangedSince(t, before)
}

// recordedOr is name's recorded range, or an unprivileged one when the
// server records none (an unconfined engine allocates no range).
func recordedOr(t *testing.T, state, name string) idrange.Range {
	if _, err := os.Stat(filepath.Join(state, idrange.FileName)); err != nil {
		return idrange.Range{Base: 1 << 20, Count: idrange.Size}
	}
	return recordedRange(t, state, name)
}

// percentile is the p-th percentile (0-100) of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, len(s)*p/100)]
}

// echoes measures n keystrokes' echo in tm's shell, then erases them.
func echoes(t *testing.T, tm *servetest.Terminal, n int) []time.Duration {
	t.Helper()
	var ds []time.Duration
	for i := range n {
		ds = append(ds, tm.Echo(byte('a'+i%26), time.Second))
		time.Sleep(10 * time.Millisecond)
		if i%40 == 39 {
			tm.Keys("\x15") // ctrl+u: the line erased
		}
	}
	tm.Keys("\x15")
	return ds
}

// TestForkBombLeavesOthersAnswered: a fork bomb in alice's shell fills
// her pids limit and no more; bob's keystrokes are echoed within 100 ms
// at the 99th percentile while it runs. Killing alice's client then
// leaves none of her sandboxes, and no cgroup of hers, after 2 s.
func TestForkBombLeavesOthersAnswered(t *testing.T) {
	needRoot(t)
	before := sandboxtest.TakeHostPrint(t)
	s := startServer(t, Config{})
	ca, a := learnerIn(t, s, "alice")
	_, b := learnerIn(t, s, "bob")
	cgs := servetest.LearnerCgroups("alice")
	if len(cgs) == 0 {
		t.Fatal("no cgroup of alice's found: the check for one left could not fail")
	}
	// The pids controller's directory: v2's one cgroup, or v1's pids
	// hierarchy.
	pidsDir := ""
	for _, d := range cgs {
		if _, err := os.Stat(filepath.Join(d, "pids.max")); err == nil {
			pidsDir = d
		}
	}
	if pidsDir == "" {
		t.Fatalf("no pids controller in alice's cgroups %v", cgs)
	}
	calm := echoes(t, b, 100)

	a.Keys("f() { f | f & }; f", "Enter")
	// The bomb fills her pids limit.
	var pidsMax, cur int
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		bm, _ := os.ReadFile(filepath.Join(pidsDir, "pids.max"))
		bc, _ := os.ReadFile(filepath.Join(pidsDir, "pids.current"))
		pidsMax, _ = strconv.Atoi(strings.TrimSpace(string(bm)))
		cur, _ = strconv.Atoi(strings.TrimSpace(string(bc)))
		if pidsMax > 0 && cur >= pidsMax*9/10 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("alice's bomb reached %d of %d pids in 20 s; her screen:\n%s", cur, pidsMax, a.Screen())
		}
	}
	bombed := echoes(t, b, 200)
	bc, _ := os.ReadFile(filepath.Join(pidsDir, "pids.current"))
	t.Logf("bob's keystroke→echo over SSH: p50 %v p99 %v max %v before; p50 %v p99 %v max %v while alice's bomb holds %s of %d pids",
		percentile(calm, 50), percentile(calm, 99), percentile(calm, 100),
		percentile(bombed, 50), percentile(bombed, 99), percentile(bombed, 100), strings.TrimSpace(string(bc)), pidsMax)
	if p := percentile(bombed, 99); p > 100*time.Millisecond {
		t.Errorf("bob's keystrokes took %v (p99) while alice's bomb ran, want ≤ 100 ms", p)
	}

	killed := time.Now()
	ca.Close()
	for {
		left := servetest.LearnerCgroups("alice")
		if n := len(uidProcs(recordedRange(t, s.state, "alice"))); len(left) == 0 && n == 0 {
			break
		} else if time.Since(killed) > 2*time.Second {
			t.Fatalf("2 s after alice's client was killed: cgroups %v and %d processes of her ids remain", left, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("alice's sandboxes and cgroup gone %v after her client was killed, the bomb running", time.Since(killed).Round(time.Millisecond))
	// Bob is still served.
	if d := percentile(echoes(t, b, 20), 50); d > 100*time.Millisecond {
		t.Errorf("bob's echo after alice left: %v", d)
	}
	leave(t, b)
	sandboxtest.UnchangedSince(t, before)
}

// uidProcs are the host's processes whose real uid is in r.
func uidProcs(r idrange.Range) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Stat("/proc/"+e.Name(), &st) == nil && uint64(st.Uid) >= uint64(r.Base) && uint64(st.Uid) < r.End() {
			out = append(out, pid)
		}
	}
	return out
}
