//go:build linux

package shelltrace

import "golang.org/x/sys/unix"

const auditArch = unix.AUDIT_ARCH_X86_64

// archMasked adds open(2), which x86-64 still has beside openat.
func archMasked(write uint32) []masked {
	return []masked{{unix.SYS_OPEN, 1, write}}
}

// archDecode handles open(2): a write open of a map file.
func archDecode(tid int, nr uint64, a [6]uint64) *call {
	if nr != unix.SYS_OPEN {
		return nil
	}
	p, ok := readString(tid, a[0], 4096)
	if !ok {
		return &call{what: whatSkip}
	}
	return openMap(p)
}

// archRescan: dup2(2), which only some architectures have.
func archRescan(nr uint64) bool { return nr == unix.SYS_DUP2 }
