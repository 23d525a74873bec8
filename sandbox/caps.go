package sandbox

import (
	"fmt"
	"math/bits"
	"strings"
)

// capNames is the capability table of <linux/capability.h>, indexed by
// capability number. It is spelled out (and checked against
// golang.org/x/sys/unix in a Linux test) so that rendering stays
// platform-free.
var capNames = [...]string{
	"CAP_CHOWN",              // 0
	"CAP_DAC_OVERRIDE",       // 1
	"CAP_DAC_READ_SEARCH",    // 2
	"CAP_FOWNER",             // 3
	"CAP_FSETID",             // 4
	"CAP_KILL",               // 5
	"CAP_SETGID",             // 6
	"CAP_SETUID",             // 7
	"CAP_SETPCAP",            // 8
	"CAP_LINUX_IMMUTABLE",    // 9
	"CAP_NET_BIND_SERVICE",   // 10
	"CAP_NET_BROADCAST",      // 11
	"CAP_NET_ADMIN",          // 12
	"CAP_NET_RAW",            // 13
	"CAP_IPC_LOCK",           // 14
	"CAP_IPC_OWNER",          // 15
	"CAP_SYS_MODULE",         // 16
	"CAP_SYS_RAWIO",          // 17
	"CAP_SYS_CHROOT",         // 18
	"CAP_SYS_PTRACE",         // 19
	"CAP_SYS_PACCT",          // 20
	"CAP_SYS_ADMIN",          // 21
	"CAP_SYS_BOOT",           // 22
	"CAP_SYS_NICE",           // 23
	"CAP_SYS_RESOURCE",       // 24
	"CAP_SYS_TIME",           // 25
	"CAP_SYS_TTY_CONFIG",     // 26
	"CAP_MKNOD",              // 27
	"CAP_LEASE",              // 28
	"CAP_AUDIT_WRITE",        // 29
	"CAP_AUDIT_CONTROL",      // 30
	"CAP_SETFCAP",            // 31
	"CAP_MAC_OVERRIDE",       // 32
	"CAP_MAC_ADMIN",          // 33
	"CAP_SYSLOG",             // 34
	"CAP_WAKE_ALARM",         // 35
	"CAP_BLOCK_SUSPEND",      // 36
	"CAP_AUDIT_READ",         // 37
	"CAP_PERFMON",            // 38
	"CAP_BPF",                // 39
	"CAP_CHECKPOINT_RESTORE", // 40
}

// CapLast is the highest capability number nslab knows by name.
const CapLast = len(capNames) - 1

// CapName names one capability number: "CAP_SYS_ADMIN", or "CAP_<n>" for a
// number newer than the table.
func CapName(n int) string {
	if n >= 0 && n < len(capNames) {
		return capNames[n]
	}
	return fmt.Sprintf("CAP_%d", n)
}

// CapByName finds a capability number by name, with or without the CAP_
// prefix, in any case. ok is false for an unknown name.
func CapByName(name string) (n int, ok bool) {
	u := strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(u, "CAP_") {
		u = "CAP_" + u
	}
	for i, c := range capNames {
		if c == u {
			return i, true
		}
	}
	return 0, false
}

// CapNames lists the capabilities set in mask (a CapEff-style bit set) in
// number order.
func CapNames(mask uint64) []string {
	var out []string
	for m := mask; m != 0; m &= m - 1 {
		out = append(out, CapName(bits.TrailingZeros64(m)))
	}
	return out
}

// AllCaps is the mask of every capability in the table.
func AllCaps() uint64 { return 1<<uint(len(capNames)) - 1 }

// CapSummary renders a capability set for one table cell: "none",
// "all 41", a short list of names, or "38 of 41 (0x000001fffeffffff)".
func CapSummary(mask uint64) string {
	n := bits.OnesCount64(mask)
	switch {
	case mask == 0:
		return "none"
	case mask&AllCaps() == AllCaps():
		if mask == AllCaps() {
			return fmt.Sprintf("all %d", len(capNames))
		}
		return fmt.Sprintf("all %d (%#016x)", len(capNames), mask)
	case n <= 3:
		return strings.Join(CapNames(mask), ",")
	}
	return fmt.Sprintf("%d of %d (%#016x)", n, len(capNames), mask)
}
