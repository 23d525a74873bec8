package shelltrace

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// runFilter interprets the few classic BPF instructions buildFilter uses,
// on a struct seccomp_data, and returns the filter's verdict.
func runFilter(t *testing.T, p []unix.SockFilter, arch uint32, nr uint32, args [6]uint64) uint32 {
	t.Helper()
	data := make([]byte, 64)
	binary.NativeEndian.PutUint32(data[offNR:], nr)
	binary.NativeEndian.PutUint32(data[offArch:], arch)
	for i, a := range args {
		binary.NativeEndian.PutUint64(data[offArgs+8*i:], a)
	}
	var acc uint32
	for pc := 0; pc < len(p); pc++ {
		in := p[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			acc = binary.NativeEndian.Uint32(data[in.K:])
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K:
			if acc == in.K {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			if acc&in.K != 0 {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case unix.BPF_RET | unix.BPF_K:
			return in.K
		default:
			t.Fatalf("instruction %d: unexpected code %#x", pc, in.Code)
		}
	}
	t.Fatal("the filter ran off its end")
	return 0
}

// TestFilterVerdicts: the filter notifies exactly for the namespace calls,
// clone only with a CLONE_NEW* bit, openat only for writing, and lets
// everything else (and other architectures' calls) through.
func TestFilterVerdicts(t *testing.T) {
	if auditArch == 0 {
		t.Skip("no filter on this architecture")
	}
	p, err := buildFilter()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		arch uint32
		nr   uint32
		args [6]uint64
		want uint32
	}{
		{"sethostname", auditArch, unix.SYS_SETHOSTNAME, [6]uint64{}, retNotify},
		{"setdomainname", auditArch, unix.SYS_SETDOMAINNAME, [6]uint64{}, retNotify},
		{"unshare", auditArch, unix.SYS_UNSHARE, [6]uint64{unix.CLONE_NEWUTS}, retNotify},
		{"setns", auditArch, unix.SYS_SETNS, [6]uint64{3, 0}, retNotify},
		{"mount", auditArch, unix.SYS_MOUNT, [6]uint64{}, retNotify},
		{"umount2", auditArch, unix.SYS_UMOUNT2, [6]uint64{}, retNotify},
		{"pivot_root", auditArch, unix.SYS_PIVOT_ROOT, [6]uint64{}, retNotify},
		{"clone3", auditArch, unix.SYS_CLONE3, [6]uint64{}, retNotify},
		{"clone NEWUTS", auditArch, unix.SYS_CLONE, [6]uint64{unix.CLONE_NEWUTS | uint64(unix.SIGCHLD)}, retNotify},
		{"clone NEWUSER", auditArch, unix.SYS_CLONE, [6]uint64{unix.CLONE_NEWUSER}, retNotify},
		{"fork-like clone", auditArch, unix.SYS_CLONE, [6]uint64{unix.CLONE_CHILD_SETTID | unix.CLONE_CHILD_CLEARTID | uint64(unix.SIGCHLD)}, retAllow},
		{"thread clone", auditArch, unix.SYS_CLONE, [6]uint64{unix.CLONE_VM | unix.CLONE_THREAD | unix.CLONE_SIGHAND}, retAllow},
		{"openat read", auditArch, unix.SYS_OPENAT, [6]uint64{0, 0, unix.O_RDONLY | unix.O_CLOEXEC}, retAllow},
		{"openat write", auditArch, unix.SYS_OPENAT, [6]uint64{0, 0, unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC}, retNotify},
		{"openat rdwr", auditArch, unix.SYS_OPENAT, [6]uint64{0, 0, unix.O_RDWR}, retNotify},
		{"write", auditArch, unix.SYS_WRITE, [6]uint64{1, 0, 5}, retAllow},
		{"execve", auditArch, unix.SYS_EXECVE, [6]uint64{}, retAllow},
		{"another architecture", auditArch ^ 1, unix.SYS_SETHOSTNAME, [6]uint64{}, retAllow},
	}
	for _, c := range cases {
		if got := runFilter(t, p, c.arch, c.nr, c.args); got != c.want {
			t.Errorf("%s: verdict %#x, want %#x", c.name, got, c.want)
		}
	}
}
