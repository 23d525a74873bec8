package sandbox

import (
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
	"time"
)

func TestDiffViews(t *testing.T) {
	id := func(ino uint64) NSID { return NSID{Dev: 4, Ino: ino} }
	tests := []struct {
		name     string
		view     View
		host, sb Snapshot
		want     []Delta
	}{
		{
			name: "ids",
			view: ViewIDs,
			host: Snapshot{IDs: IDs{"uts": id(10), "net": id(20), "time": id(30)}},
			sb:   Snapshot{IDs: IDs{"uts": id(11), "net": id(20), "pid_for_children": id(40)}},
			want: []Delta{
				{Key: "uts", Host: "[10]", Sandbox: "[11]", Kind: Changed},
				{Key: "net", Host: "[20]", Sandbox: "[20]", Kind: Same},
				{Key: "pid_for_children", Sandbox: "[40]", Kind: OnlySandbox},
				{Key: "time", Host: "[30]", Kind: OnlyHost},
			},
		},
		{
			name: "uts",
			view: ViewUTS,
			host: Snapshot{Hostname: "vm", Domainname: "(none)"},
			sb:   Snapshot{Hostname: "sandbox", Domainname: "(none)"},
			want: []Delta{
				{Key: "hostname", Host: "vm", Sandbox: "sandbox", Kind: Changed},
				{Key: "domainname", Host: "(none)", Sandbox: "(none)", Kind: Same},
			},
		},
		{
			name: "mount: same, changed, stacked only-sandbox, only-host",
			view: ViewMount,
			host: Snapshot{Mounts: []Mount{
				{Mountpoint: "/", FSType: "ext4", Source: "/dev/vda", Propagation: "shared:1"},
				{Mountpoint: "/proc", FSType: "proc", Source: "proc", Propagation: "private"},
				{Mountpoint: "/tmp", FSType: "tmpfs", Source: "tmpfs", Propagation: "private"},
				{Mountpoint: "/mnt/usb", FSType: "vfat", Source: "/dev/sdb1", Propagation: "private"},
			}},
			sb: Snapshot{Mounts: []Mount{
				{Mountpoint: "/", FSType: "ext4", Source: "/dev/vda", Propagation: "private"},
				{Mountpoint: "/proc", FSType: "proc", Source: "proc", Propagation: "private"},
				{Mountpoint: "/tmp", FSType: "tmpfs", Source: "tmpfs", Propagation: "private"},
				{Mountpoint: "/tmp", FSType: "tmpfs", Source: "nslab", Propagation: "private"},
			}},
			want: []Delta{
				{Key: "/", Host: "ext4 /dev/vda shared:1", Sandbox: "ext4 /dev/vda private", Kind: Changed},
				{Key: "/mnt/usb", Host: "vfat /dev/sdb1 private", Kind: OnlyHost},
				{Key: "/proc", Host: "proc proc private", Sandbox: "proc proc private", Kind: Same},
				{Key: "/tmp", Host: "tmpfs tmpfs private", Sandbox: "tmpfs tmpfs private", Kind: Same},
				{Key: "/tmp (2)", Sandbox: "tmpfs nslab private", Kind: OnlySandbox},
			},
		},
		{
			name: "net: links and routes",
			view: ViewNet,
			host: Snapshot{
				Links: []Link{
					{Name: "lo", Type: "loopback", State: "UNKNOWN", Addrs: []string{"::1/128", "127.0.0.1/8"}},
					{Name: "eth0", Type: "device", State: "UP", Addrs: []string{"192.0.2.2/24"}},
					{Name: "veth-h", Type: "veth", State: "UP"},
				},
				Routes: []Route{
					{Dst: "default", Gateway: "192.0.2.1", Dev: "eth0", Protocol: "boot", Scope: "universe"},
					{Dst: "192.0.2.0/24", Dev: "eth0", Protocol: "kernel", Scope: "link", Src: "192.0.2.2"},
				},
			},
			sb: Snapshot{
				Links: []Link{
					{Name: "lo", Type: "loopback", State: "DOWN"},
					{Name: "veth-s", Type: "veth", State: "UP", Addrs: []string{"10.0.0.2/24"}},
				},
				Routes: []Route{
					{Dst: "10.0.0.0/24", Dev: "veth-s", Protocol: "kernel", Scope: "link", Src: "10.0.0.2"},
					{Dst: "192.0.2.0/24", Dev: "eth0", Protocol: "kernel", Scope: "link", Src: "192.0.2.2"},
				},
			},
			want: []Delta{
				{Key: "eth0", Host: "device UP 192.0.2.2/24", Kind: OnlyHost},
				{Key: "lo", Host: "loopback UNKNOWN 127.0.0.1/8,::1/128", Sandbox: "loopback DOWN", Kind: Changed},
				{Key: "veth-h", Host: "veth UP", Kind: OnlyHost},
				{Key: "veth-s", Sandbox: "veth UP 10.0.0.2/24", Kind: OnlySandbox},
				{Key: "route 10.0.0.0/24 veth-s", Sandbox: "proto kernel scope link src 10.0.0.2", Kind: OnlySandbox},
				{Key: "route 192.0.2.0/24 eth0", Host: "proto kernel scope link src 192.0.2.2", Sandbox: "proto kernel scope link src 192.0.2.2", Kind: Same},
				{Key: "route default eth0", Host: "via 192.0.2.1 proto boot scope universe", Kind: OnlyHost},
			},
		},
		{
			name: "ipc",
			view: ViewIPC,
			host: Snapshot{IPC: &IPC{
				MsgQueues: []IPCObject{{Key: "0x00001234", ID: 0, Perms: "600"}},
				ShmSegs:   []IPCObject{{Key: "0x00000000", ID: 3, Perms: "600", Size: 4096}},
				MQueues:   []string{"/host-q"},
			}},
			sb: Snapshot{IPC: &IPC{
				MsgQueues:  []IPCObject{{Key: "0x00001234", ID: 0, Perms: "644"}},
				Semaphores: []IPCObject{{Key: "0x0000abcd", ID: 0, Perms: "600", Size: 3, Owner: 1000}},
				MQueueNote: "no mqueue",
			}},
			want: []Delta{
				{Key: "msg 0x00001234", Host: "id 0 perms 600 uid 0", Sandbox: "id 0 perms 644 uid 0", Kind: Changed},
				{Key: "shm 0x00000000 id 3", Host: "id 3 perms 600 uid 0 size 4096", Kind: OnlyHost},
				{Key: "sem 0x0000abcd", Sandbox: "id 0 perms 600 uid 1000 size 3", Kind: OnlySandbox},
				{Key: "mq", Sandbox: "no mqueue", Kind: OnlySandbox},
				{Key: "mq /host-q", Host: "queue", Kind: OnlyHost},
			},
		},
		{
			name: "ipc: one same object",
			view: ViewIPC,
			host: Snapshot{IPC: &IPC{ShmSegs: []IPCObject{{Key: "0x00000001", ID: 7, Perms: "600", Size: 10}}}},
			sb:   Snapshot{IPC: &IPC{ShmSegs: []IPCObject{{Key: "0x00000001", ID: 7, Perms: "600", Size: 10}}}},
			want: []Delta{{Key: "shm 0x00000001", Host: "id 7 perms 600 uid 0 size 10", Sandbox: "id 7 perms 600 uid 0 size 10", Kind: Same}},
		},
		{
			name: "user",
			view: ViewUser,
			host: Snapshot{User: &User{EUID: 1000, EGID: 1000, UIDMap: []IDMap{{0, 0, 4294967295}}, GIDMap: []IDMap{{0, 0, 4294967295}}, Setgroups: "allow"}},
			sb:   Snapshot{User: &User{EUID: 0, EGID: 1000, UIDMap: []IDMap{{0, 1000, 1}}, Setgroups: "deny", CapEff: AllCaps()}},
			want: []Delta{
				{Key: "uid_map", Host: "0 0 4294967295", Sandbox: "0 1000 1", Kind: Changed},
				{Key: "gid_map", Host: "0 0 4294967295", Sandbox: "(empty)", Kind: Changed},
				{Key: "setgroups", Host: "allow", Sandbox: "deny", Kind: Changed},
				{Key: "euid", Host: "1000", Sandbox: "0", Kind: Changed},
				{Key: "egid", Host: "1000", Sandbox: "1000", Kind: Same},
				{Key: "capabilities", Host: "none", Sandbox: "all 41", Kind: Changed},
			},
		},
		{
			name: "user: only host",
			view: ViewUser,
			host: Snapshot{User: &User{Setgroups: "allow"}},
			sb:   Snapshot{},
			want: []Delta{
				{Key: "uid_map", Host: "(empty)", Kind: OnlyHost},
				{Key: "gid_map", Host: "(empty)", Kind: OnlyHost},
				{Key: "setgroups", Host: "allow", Kind: OnlyHost},
				{Key: "euid", Host: "0", Kind: OnlyHost},
				{Key: "egid", Host: "0", Kind: OnlyHost},
				{Key: "capabilities", Host: "none", Kind: OnlyHost},
			},
		},
		{
			name: "user: only sandbox",
			view: ViewUser,
			host: Snapshot{},
			sb:   Snapshot{User: &User{EUID: 0, UIDMap: []IDMap{{0, 1000, 1}}, Setgroups: "deny", CapEff: 1 << 21}},
			want: []Delta{
				{Key: "uid_map", Sandbox: "0 1000 1", Kind: OnlySandbox},
				{Key: "gid_map", Sandbox: "(empty)", Kind: OnlySandbox},
				{Key: "setgroups", Sandbox: "deny", Kind: OnlySandbox},
				{Key: "euid", Sandbox: "0", Kind: OnlySandbox},
				{Key: "egid", Sandbox: "0", Kind: OnlySandbox},
				{Key: "capabilities", Sandbox: "CAP_SYS_ADMIN", Kind: OnlySandbox},
			},
		},
		{
			name: "time: only host, offsets alike",
			view: ViewTime,
			host: Snapshot{Clocks: &Clocks{Monotonic: 90 * time.Minute, Boottime: 2 * time.Hour, Offsets: "monotonic 0 0; boottime 0 0"}},
			sb:   Snapshot{},
			want: []Delta{
				{Key: "monotonic", Host: "1h30m0s", Kind: OnlyHost},
				{Key: "boottime", Host: "2h0m0s", Kind: OnlyHost},
				{Key: "offsets", Host: "monotonic 0 0; boottime 0 0", Kind: OnlyHost},
			},
		},
		{
			name: "time: a clock more than a second off",
			view: ViewTime,
			host: Snapshot{Clocks: &Clocks{Monotonic: 10 * time.Second, Boottime: 10 * time.Second}},
			sb:   Snapshot{Clocks: &Clocks{Monotonic: 11*time.Second + time.Millisecond, Boottime: 11 * time.Second}},
			want: []Delta{
				{Key: "monotonic", Host: "10s", Sandbox: "11s", Kind: Changed},
				{Key: "boottime", Host: "10s", Sandbox: "11s", Kind: Same},
				{Key: "offsets", Kind: Same},
			},
		},
		{
			name: "cgroup changed",
			view: ViewCgrp,
			host: Snapshot{Cgroup: "/user.slice"},
			sb:   Snapshot{Cgroup: "/"},
			want: []Delta{{Key: "cgroup", Host: "/user.slice", Sandbox: "/", Kind: Changed}},
		},
		{
			// Finding 10: on a hybrid host the v2 line is "/" on both
			// sides while a v1 hierarchy differs; the view must say so.
			name: "cgroup hybrid: v1 memory differs, v2 the same",
			view: ViewCgrp,
			host: Snapshot{Cgroup: "/", CgroupLines: []CgroupLine{{4, "memory", "/process_api/1c6a"}, {1, "cpu", "/"}, {0, "", "/"}}},
			sb:   Snapshot{Cgroup: "/", CgroupLines: []CgroupLine{{4, "memory", "/"}, {1, "cpu", "/"}, {0, "", "/"}}},
			want: []Delta{
				{Key: "v2", Host: "/", Sandbox: "/", Kind: Same},
				{Key: "v1 cpu", Host: "/", Sandbox: "/", Kind: Same},
				{Key: "v1 memory", Host: "/process_api/1c6a", Sandbox: "/", Kind: Changed},
			},
		},
		{
			name: "cgroup same",
			view: ViewCgrp,
			host: Snapshot{Cgroup: "/"},
			sb:   Snapshot{Cgroup: "/"},
			want: []Delta{{Key: "cgroup", Host: "/", Sandbox: "/", Kind: Same}},
		},
		{
			name: "time: within a second is the same, offsets differ",
			view: ViewTime,
			host: Snapshot{Clocks: &Clocks{Monotonic: 100*time.Second + 400*time.Millisecond, Boottime: 200 * time.Second, Offsets: "monotonic 0 0; boottime 0 0"}},
			sb:   Snapshot{Clocks: &Clocks{Monotonic: 100*time.Second + 600*time.Millisecond, Boottime: 86600 * time.Second, Offsets: "monotonic 0 0; boottime 86400 0"}},
			want: []Delta{
				{Key: "monotonic", Host: "1m40s", Sandbox: "1m41s", Kind: Same},
				{Key: "boottime", Host: "3m20s", Sandbox: "24h3m20s", Kind: Changed},
				{Key: "offsets", Host: "monotonic 0 0; boottime 0 0", Sandbox: "monotonic 0 0; boottime 86400 0", Kind: Changed},
			},
		},
		{
			name: "time: only sandbox",
			view: ViewTime,
			host: Snapshot{},
			sb:   Snapshot{Clocks: &Clocks{Monotonic: time.Second}},
			want: []Delta{
				{Key: "monotonic", Sandbox: "1s", Kind: OnlySandbox},
				{Key: "boottime", Sandbox: "0s", Kind: OnlySandbox},
				{Key: "offsets", Kind: OnlySandbox},
			},
		},
		{
			name: "a failed view is one error row",
			view: ViewNet,
			host: Snapshot{Links: []Link{{Name: "lo"}}},
			sb:   Snapshot{Errs: ViewErrs{ViewNet: "list links: operation not permitted"}},
			want: []Delta{{Key: "error", Sandbox: "list links: operation not permitted", Kind: Changed}},
		},
		{
			name: "unknown view",
			view: View("nope"),
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diff(tt.host, tt.sb, tt.view)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff:\n got %s\nwant %s", jsonText(got), jsonText(tt.want))
			}
			// Pure and deterministic: the same answer twice.
			if again := Diff(tt.host, tt.sb, tt.view); !reflect.DeepEqual(got, again) {
				t.Errorf("Diff is not deterministic")
			}
		})
	}
}

func jsonText(v any) string {
	b, _ := json.MarshalIndent(v, "", " ")
	return string(b)
}

func TestDiffPIDs(t *testing.T) {
	host := Snapshot{Procs: []Proc{
		{HostPID: 1, PID: 1, Comm: "init"},
		{HostPID: 4243, PID: 4243, Comm: "sh"},
		{HostPID: 4242, PID: 4242, Comm: "nslab"},
		{HostPID: 17, PID: 17, Comm: "kthreadd"},
		{HostPID: 300, PID: 300, Comm: "sshd"},
	}}
	sb := Snapshot{Procs: []Proc{
		{HostPID: 4242, PID: 1, Comm: "nslab"},
		{HostPID: 4243, PID: 2, Comm: "sh"},
		{HostPID: 4300, PID: 3, Comm: "sleep"}, // started after the host's list
		{HostPID: 1, PID: 1, Comm: "init"},     // a sandbox sharing the host's PID namespace
	}}
	want := []Delta{
		{Key: "1", Host: "1", Sandbox: "1", Label: "init", Kind: Same},
		{Key: "4242", Host: "4242", Sandbox: "1", Label: "nslab", Kind: Changed},
		{Key: "4243", Host: "4243", Sandbox: "2", Label: "sh", Kind: Changed},
		{Key: "4300", Sandbox: "3", Label: "sleep", Kind: OnlySandbox},
		{Key: "17", Host: "17", Label: "kthreadd", Kind: OnlyHost},
		{Key: "300", Host: "300", Label: "sshd", Kind: OnlyHost},
	}
	got := Diff(host, sb, ViewPIDs)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Diff pids:\n got %s\nwant %s", jsonText(got), jsonText(want))
	}
	same, oh, osb, ch := Summarize(got)
	if same != 1 || oh != 2 || osb != 1 || ch != 2 {
		t.Errorf("Summarize = %d %d %d %d, want 1 2 1 2", same, oh, osb, ch)
	}
}

func TestDiffPIDsManyHostOnly(t *testing.T) {
	// Hundreds of host-only rows stay in the result, after the shared ones,
	// in numeric order.
	var host, sb Snapshot
	for pid := 1000; pid > 0; pid-- {
		host.Procs = append(host.Procs, Proc{HostPID: pid, PID: pid})
	}
	sb.Procs = []Proc{{HostPID: 999, PID: 1}}
	got := Diff(host, sb, ViewPIDs)
	if len(got) != 1000 || got[0].Key != "999" || got[0].Kind != Changed {
		t.Fatalf("got %d rows, first %+v", len(got), got[0])
	}
	prev := 0
	for _, d := range got[1:] {
		n, _ := strconv.Atoi(d.Key)
		if d.Kind != OnlyHost || n <= prev {
			t.Fatalf("row %+v out of order after %d", d, prev)
		}
		prev = n
	}
}

func TestMountKeys(t *testing.T) {
	ms := []Mount{{Mountpoint: "/"}, {Mountpoint: "/tmp"}, {Mountpoint: "/tmp"}, {Mountpoint: "/proc"}, {Mountpoint: "/tmp"}}
	want := []string{"/", "/tmp", "/tmp (2)", "/proc", "/tmp (3)"}
	if got := MountKeys(ms); !reflect.DeepEqual(got, want) {
		t.Errorf("MountKeys = %q, want %q", got, want)
	}
}

func TestDiffAll(t *testing.T) {
	host := Snapshot{Views: []View{ViewUTS, ViewCgrp, ViewNet}, Hostname: "vm", Cgroup: "/"}
	sb := Snapshot{Views: []View{ViewUTS, ViewCgrp, ViewTime}, Hostname: "box", Cgroup: "/"}
	got := DiffAll(host, sb)
	if len(got) != 2 {
		t.Fatalf("DiffAll views = %v, want uts and cgroup", got)
	}
	if _, ok := got[ViewNet]; ok {
		t.Error("net diffed though the sandbox did not observe it")
	}
	s, _, _, c := Summarize(got[ViewUTS])
	if s != 1 || c != 1 {
		t.Errorf("uts: %+v", got[ViewUTS])
	}
	if !reflect.DeepEqual(got[ViewCgrp], []Delta{{Key: "cgroup", Host: "/", Sandbox: "/", Kind: Same}}) {
		t.Errorf("cgroup: %+v", got[ViewCgrp])
	}
}

func TestSummarize(t *testing.T) {
	ds := []Delta{{Kind: Same}, {Kind: Same}, {Kind: OnlyHost}, {Kind: OnlySandbox}, {Kind: OnlySandbox}, {Kind: OnlySandbox}, {Kind: Changed}}
	s, h, sb, c := Summarize(ds)
	if s != 2 || h != 1 || sb != 3 || c != 1 {
		t.Errorf("Summarize = %d %d %d %d", s, h, sb, c)
	}
	if s, h, sb, c := Summarize(nil); s+h+sb+c != 0 {
		t.Error("Summarize(nil) not zero")
	}
}
