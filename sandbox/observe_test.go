package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
)

func observeFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "observe", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseStatusFixtures(t *testing.T) {
	tests := []struct {
		file string
		want procStatus
	}{
		{"status-nested", procStatus{
			Name: "sleep", State: "S", PPid: 4200, NSpid: []int{4242, 17, 1},
			UID: 1000, EUID: 0, GID: 1000, EGID: 1000, CapEff: 1 << 21, haveCapEff: true,
			CapBnd: 0x1ffffffffff, Seccomp: SeccompUnknown, // the fixture has no Seccomp line
		}},
	}
	for _, tt := range tests {
		got, err := parseStatus(observeFixture(t, tt.file))
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.file, got, tt.want)
		}
	}

	// Real files captured on a host: only their shape is known.
	for _, f := range []string{"status-host", "status-kthread"} {
		got, err := parseStatus(observeFixture(t, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if got.Name == "" || got.State == "" || len(got.NSpid) != 1 || !got.haveCapEff {
			t.Errorf("%s: incomplete parse %+v", f, got)
		}
		if got.Kthread != (f == "status-kthread") {
			t.Errorf("%s: Kthread %v", f, got.Kthread)
		}
	}
}

func TestParseStatusErrors(t *testing.T) {
	for _, in := range []string{
		"",                                       // no Name
		"Name:\tx\nPPid:\tabc\n",                 // bad number
		"Name:\tx\nNSpid:\t1 two\n",              // bad NSpid
		"Name:\tx\nUid:\t0\n",                    // short Uid
		"Name:\tx\nCapEff:\tzzzz\n",              // bad hex
		"Name:\tx\nPPid:\t-\n",                   // lone sign
		"Name:\tx\nPPid:\t1234567890123456789\n", // too long
	} {
		if _, err := parseStatus([]byte(in)); !errors.Is(err, ErrParse) {
			t.Errorf("parseStatus(%q) = %v, want ErrParse", in, err)
		}
	}
	// A status with a Name and nothing else is fine (old kernels lack
	// NSpid); the caller falls back.
	st, err := parseStatus([]byte("Name:\tinit\n"))
	if err != nil || st.Name != "init" || st.NSpid != nil {
		t.Errorf("minimal status: %+v %v", st, err)
	}
}

func TestShortCmdline(t *testing.T) {
	long := strings.Repeat("a", 200)
	tests := []struct{ in, want string }{
		{"", ""},
		{"\x00", ""},
		{"sleep\x0030\x00", "sleep 30"},
		{"sh\x00-c\x00echo\thi\nthere\x00", "sh -c echo hi there"},
		{"bad\xffbyte\x00", "bad?byte"},
		{long, strings.Repeat("a", cmdlineMax) + "…"},
		{"nslab — ü\x00", "nslab — ü"},
	}
	for _, tt := range tests {
		if got := shortCmdline([]byte(tt.in)); got != tt.want {
			t.Errorf("shortCmdline(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseIDMap(t *testing.T) {
	tests := []struct {
		file string
		want []IDMap
		text string
	}{
		{"uid_map-host", []IDMap{{0, 0, 4294967295}}, "0 0 4294967295"},
		{"uid_map-userns", []IDMap{{0, 0, 1}}, "0 0 1"},
	}
	for _, tt := range tests {
		got, err := parseIDMap(observeFixture(t, tt.file))
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v want %+v", tt.file, got, tt.want)
		}
		if s := FormatIDMap(got); s != tt.text {
			t.Errorf("%s: FormatIDMap = %q want %q", tt.file, s, tt.text)
		}
	}
	two, err := parseIDMap([]byte("         0       1000          1\n         1     100000      65536\n"))
	if err != nil || len(two) != 2 || two[1] != (IDMap{1, 100000, 65536}) {
		t.Errorf("two-line map: %+v %v", two, err)
	}
	if FormatIDMap(two) != "0 1000 1; 1 100000 65536" {
		t.Errorf("FormatIDMap two = %q", FormatIDMap(two))
	}
	empty, err := parseIDMap(nil)
	if err != nil || empty != nil || FormatIDMap(empty) != "(empty)" {
		t.Errorf("empty map: %+v %v", empty, err)
	}
	for _, bad := range []string{"0 0\n", "0 x 1\n", "1 2 3 4\n"} {
		if _, err := parseIDMap([]byte(bad)); !errors.Is(err, ErrParse) {
			t.Errorf("parseIDMap(%q) = %v, want ErrParse", bad, err)
		}
	}
}

func TestParseCgroup(t *testing.T) {
	tests := []struct {
		file, want string
		lines      int
		memory     string // the v1 memory line's path, "" when none
	}{
		{"cgroup-hybrid", "/", 10, "/process_api/2440999cf289e2d9d7440ce4c91515fc"}, // the v2 "0::/" line is last on hybrid hosts
		{"cgroup-v2", "/user.slice/user-1000.slice/session-3.scope", 1, ""},
		{"cgroup-v1", "/docker/abc", 2, "/docker/abc"},
	}
	for _, tt := range tests {
		got, lines, err := parseCgroup(observeFixture(t, tt.file))
		if err != nil || got != tt.want || len(lines) != tt.lines {
			t.Errorf("%s: got %q, %d lines, %v; want %q, %d lines", tt.file, got, len(lines), err, tt.want, tt.lines)
		}
		memory := ""
		for _, l := range lines {
			if l.Key() == "v1 memory" {
				memory = l.Path
			}
		}
		if memory != tt.memory {
			t.Errorf("%s: v1 memory line %q, want %q", tt.file, memory, tt.memory)
		}
	}
	// A path may itself contain ':'.
	if got, _, _ := parseCgroup([]byte("0::/a:b\n")); got != "/a:b" {
		t.Errorf("colon path: %q", got)
	}
	for _, bad := range []string{"", "\n", "garbage\n", "x:memory:/\n"} {
		if _, _, err := parseCgroup([]byte(bad)); !errors.Is(err, ErrParse) {
			t.Errorf("parseCgroup(%q) = %v, want ErrParse", bad, err)
		}
	}
}

func TestParseSysvipcFixtures(t *testing.T) {
	// Captured with ipcmk in a throwaway IPC namespace: keys print as
	// signed decimals, ipcs shows them as 32-bit hex.
	tests := []struct {
		file string
		kind sysvKind
		want []IPCObject
	}{
		{"sysvipc-msg", sysvMsg, []IPCObject{
			{Key: "0xa7abcb1d", ID: 0, Owner: 0, Perms: "644"},
			{Key: "0x00001234", ID: 1, Owner: 0, Perms: "600"},
		}},
		{"sysvipc-shm", sysvShm, []IPCObject{
			{Key: "0xc26da664", ID: 0, Owner: 0, Perms: "644", Size: 4096},
			{Key: "0x4b03a0ee", ID: 1, Owner: 0, Perms: "600", Size: 65536},
			{Key: "0x00000000", ID: 2, Owner: 0, Perms: "640", Size: 8192},
		}},
		{"sysvipc-sem", sysvSem, []IPCObject{
			{Key: "0x28c284dc", ID: 0, Owner: 0, Perms: "644", Size: 3},
		}},
	}
	for _, tt := range tests {
		got, err := parseSysvipc(observeFixture(t, tt.file), tt.kind)
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.file, got, tt.want)
		}
	}
	// An empty namespace: the header only.
	got, err := parseSysvipc([]byte("       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n"), sysvMsg)
	if err != nil || got != nil {
		t.Errorf("header only: %+v %v", got, err)
	}
	for _, bad := range []string{
		"",
		"key perms uid\n",                // no id column
		"key msqid perms uid\n1 2 3\n",   // short line
		"key msqid perms uid\nx 2 3 4\n", // bad key
	} {
		if _, err := parseSysvipc([]byte(bad), sysvMsg); !errors.Is(err, ErrParse) {
			t.Errorf("parseSysvipc(%q) = %v, want ErrParse", bad, err)
		}
	}
}

func TestPropagation(t *testing.T) {
	tests := []struct{ optional, want string }{
		{"", "private"},
		{"shared:5", "shared:5"},
		{"master:1", "master:1"},
		{"shared:7 master:2", "shared:7 master:2"},
		{"master:3 propagate_from:4", "master:3 propagate_from:4"},
		{"unbindable", "unbindable"},
		{"future:9", "private"}, // a tag this code does not know says nothing about propagation
	}
	for _, tt := range tests {
		if got := propagation(tt.optional); got != tt.want {
			t.Errorf("propagation(%q) = %q, want %q", tt.optional, got, tt.want)
		}
	}
	m := mountFromInfo(&mountinfo.Info{ID: 31, Parent: 30, Mountpoint: "/tmp", FSType: "tmpfs", Source: "nslab", Options: "rw", Optional: "shared:9"})
	want := Mount{ID: 31, Parent: 30, Mountpoint: "/tmp", FSType: "tmpfs", Source: "nslab", Options: "rw", Propagation: "shared:9"}
	if m != want {
		t.Errorf("mountFromInfo = %+v, want %+v", m, want)
	}
}

func TestFinishProcs(t *testing.T) {
	// A PID namespace whose init (host 500) was started by the engine
	// (host 400, outside), with a child 501 and a grandchild 502 in a
	// nested namespace.
	raw := []rawProc{
		{Proc: Proc{HostPID: 502, PID: 3, NSpid: []int{502, 3, 1}, Comm: "sleep"}, hostPPID: 501},
		{Proc: Proc{HostPID: 500, PID: 1, NSpid: []int{500, 1}, Comm: "agent"}, hostPPID: 400},
		{Proc: Proc{HostPID: 501, PID: 2, NSpid: []int{501, 2}, Comm: "sh"}, hostPPID: 500},
	}
	got := finishProcs(raw)
	want := []Proc{
		{HostPID: 500, PID: 1, PPID: 0, NSpid: []int{500, 1}, Comm: "agent"},
		{HostPID: 501, PID: 2, PPID: 1, NSpid: []int{501, 2}, Comm: "sh"},
		{HostPID: 502, PID: 3, PPID: 2, NSpid: []int{502, 3, 1}, Comm: "sleep"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("finishProcs:\n got %+v\nwant %+v", got, want)
	}
	if finishProcs(nil) == nil || len(finishProcs(nil)) != 0 {
		t.Errorf("finishProcs(nil) should be an empty, non-nil list")
	}
}

func TestNSpidAt(t *testing.T) {
	ns := []int{4242, 17, 1}
	tests := []struct {
		up   int
		want int
		ok   bool
	}{{0, 1, true}, {1, 17, true}, {2, 4242, true}, {3, 0, false}, {-1, 0, false}}
	for _, tt := range tests {
		got, ok := nspidAt(ns, tt.up)
		if got != tt.want || ok != tt.ok {
			t.Errorf("nspidAt(%v, %d) = %d, %v; want %d, %v", ns, tt.up, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFormatOffsets(t *testing.T) {
	in := "monotonic           0         0\nboottime      86400         0\n"
	if got := formatOffsets([]byte(in)); got != "monotonic 0 0; boottime 86400 0" {
		t.Errorf("formatOffsets = %q", got)
	}
	if got := formatOffsets(nil); got != "" {
		t.Errorf("formatOffsets(nil) = %q", got)
	}
}

func TestCaps(t *testing.T) {
	if CapName(21) != "CAP_SYS_ADMIN" || CapName(99) != "CAP_99" {
		t.Errorf("CapName: %q %q", CapName(21), CapName(99))
	}
	if n, ok := CapByName("sys_admin"); !ok || n != 21 {
		t.Errorf("CapByName(sys_admin) = %d %v", n, ok)
	}
	if n, ok := CapByName("CAP_NET_ADMIN"); !ok || n != 12 {
		t.Errorf("CapByName(CAP_NET_ADMIN) = %d %v", n, ok)
	}
	if _, ok := CapByName("CAP_FLY"); ok {
		t.Error("CapByName found CAP_FLY")
	}
	if got := CapNames(1<<0 | 1<<21 | 1<<63); !reflect.DeepEqual(got, []string{"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_63"}) {
		t.Errorf("CapNames = %v", got)
	}
	if CapNames(0) != nil {
		t.Error("CapNames(0) not empty")
	}
	tests := []struct {
		mask uint64
		want string
	}{
		{0, "none"},
		{AllCaps(), "all 41"},
		{1<<21 | 1<<12, "CAP_NET_ADMIN,CAP_SYS_ADMIN"},
		{0x000001fffeffffff, "40 of 41 (0x000001fffeffffff)"},
		{AllCaps() | 1<<50, "all 41 (0x000401ffffffffff)"},
	}
	for _, tt := range tests {
		if got := CapSummary(tt.mask); got != tt.want {
			t.Errorf("CapSummary(%#x) = %q, want %q", tt.mask, got, tt.want)
		}
	}
	for i := 0; i <= CapLast; i++ {
		if n, ok := CapByName(CapName(i)); !ok || n != i {
			t.Errorf("cap %d does not round-trip through its name %q", i, CapName(i))
		}
	}
}
