package sandbox

import (
	"fmt"
	"strings"
)

// Flag arguments are rendered here and nowhere else: by nslab's trace
// events (record_linux.go), by shelltrace for the learner's own calls, and
// for people (FlagString). One table per flag word, in strace's order
// (ascending bits, but CLONE_NEWTIME last), and one bits-to-names function.

// bitName names one flag bit.
type bitName struct {
	bit  uintptr
	name string
}

// cloneBits are clone(2)'s flags but CLONE_NEWTIME, which shares its bit
// with the exit signal in clone(2) and which strace names last.
var cloneBits = []bitName{
	{0x00000100, "CLONE_VM"}, {0x00000200, "CLONE_FS"}, {0x00000400, "CLONE_FILES"},
	{0x00000800, "CLONE_SIGHAND"}, {0x00001000, "CLONE_PIDFD"}, {0x00002000, "CLONE_PTRACE"},
	{0x00004000, "CLONE_VFORK"}, {0x00008000, "CLONE_PARENT"}, {0x00010000, "CLONE_THREAD"},
	{0x00020000, "CLONE_NEWNS"}, {0x00040000, "CLONE_SYSVSEM"}, {0x00080000, "CLONE_SETTLS"},
	{0x00100000, "CLONE_PARENT_SETTID"}, {0x00200000, "CLONE_CHILD_CLEARTID"},
	{0x00400000, "CLONE_DETACHED"}, {0x00800000, "CLONE_UNTRACED"}, {0x01000000, "CLONE_CHILD_SETTID"},
	{0x02000000, "CLONE_NEWCGROUP"}, {0x04000000, "CLONE_NEWUTS"}, {0x08000000, "CLONE_NEWIPC"},
	{0x10000000, "CLONE_NEWUSER"}, {0x20000000, "CLONE_NEWPID"}, {0x40000000, "CLONE_NEWNET"},
	{0x80000000, "CLONE_IO"},
	// clone3(2) only.
	{0x100000000, "CLONE_CLEAR_SIGHAND"}, {0x200000000, "CLONE_INTO_CGROUP"},
}

// bitsString names the bits of v found in table, in table order, after
// prefix; bits the table lacks in hex; nothing at all as "0".
func bitsString(v uintptr, table []bitName, prefix []string) string {
	parts := prefix
	for _, b := range table {
		if v&b.bit != 0 {
			parts = append(parts, b.name)
			v &^= b.bit
		}
	}
	if v != 0 {
		parts = append(parts, fmt.Sprintf("%#x", v))
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, "|")
}

// nsIoctlNames are the ioctl(2) requests on namespace file descriptors
// (ioctl_ns(2)) that nslab makes, named as strace names them.
var nsIoctlNames = map[uint]string{
	0xb701: "NS_GET_USERNS",
	0xb702: "NS_GET_PARENT",
	0xb703: "NS_GET_NSTYPE",
	0xb704: "NS_GET_OWNER_UID",
}

// ioctlRequestArg renders an ioctl request as strace does: by name when
// known, else in hex.
func ioctlRequestArg(req uint) string {
	if n, ok := nsIoctlNames[req]; ok {
		return n
	}
	return fmt.Sprintf("%#x", req)
}

// TraceIoctlRequest renders an ioctl(2) request the way nslab's own trace
// events do, for tracers of other processes (shelltrace).
func TraceIoctlRequest(req uint) string { return ioctlRequestArg(req) }
