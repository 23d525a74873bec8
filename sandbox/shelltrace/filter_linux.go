package shelltrace

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/sandbox"
)

// Return values of a seccomp filter (<linux/seccomp.h>).
const (
	retAllow  = 0x7fff0000 // SECCOMP_RET_ALLOW
	retNotify = unix.SECCOMP_RET_USER_NOTIF
)

// Offsets in struct seccomp_data. Both supported architectures are little
// endian, so an argument's low 32 bits are at its own offset.
const (
	offNR   = 0
	offArch = 4
	offArgs = 16
)

// cloneNewMask is every CLONE_NEW* flag clone(2) accepts: CLONE_NEWTIME
// shares its bit with the exit signal there (only clone3 takes it).
func cloneNewMask() uint32 { return uint32(sandbox.AllFlags() &^ sandbox.CloneNewTime) }

// masked is a syscall traced only when an argument has one of mask's bits.
type masked struct {
	nr   uint32
	arg  int
	mask uint32
}

// filterSpec lists what the filter traps on this architecture.
func filterSpec() (always []uint32, some []masked) {
	always = []uint32{unix.SYS_CLONE3, unix.SYS_UNSHARE, unix.SYS_SETNS, unix.SYS_MOUNT,
		unix.SYS_UMOUNT2, unix.SYS_PIVOT_ROOT, unix.SYS_SETHOSTNAME, unix.SYS_SETDOMAINNAME,
		// openat2's flags are inside a struct the filter cannot read.
		unix.SYS_OPENAT2}
	write := uint32(unix.O_WRONLY | unix.O_RDWR)
	some = []masked{
		{unix.SYS_CLONE, 0, cloneNewMask()},
		{unix.SYS_OPENAT, 2, write},
	}
	some = append(some, archMasked(write)...)
	return always, some
}

// buildFilter compiles the classic BPF program: any other architecture's
// calls (a 32-bit binary) pass, the listed calls trace, the rest pass.
func buildFilter() ([]unix.SockFilter, error) {
	if auditArch == 0 {
		return nil, fmt.Errorf("%w: no syscall filter for this CPU architecture", ErrUnavailable)
	}
	const (
		ldW  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jset = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
		ret  = unix.BPF_RET | unix.BPF_K
	)
	// Jumps to the two final returns are patched once their place is known.
	const toAllow, toTrace = 0x100, 0x200
	var p []unix.SockFilter
	type jump struct{ jt, jf int }
	var jumps []jump
	add := func(code uint16, k uint32, jt, jf int) {
		p = append(p, unix.SockFilter{Code: code, K: k})
		jumps = append(jumps, jump{jt, jf})
	}
	always, some := filterSpec()
	add(ldW, offArch, 0, 0)
	add(jeq, auditArch, 0, toAllow)
	add(ldW, offNR, 0, 0)
	for _, nr := range always {
		add(jeq, nr, toTrace, 0)
	}
	for _, m := range some {
		add(jeq, m.nr, 0, 2)
		add(ldW, uint32(offArgs+8*m.arg), 0, 0)
		add(jset, m.mask, toTrace, toAllow)
	}
	add(ret, retAllow, 0, 0)
	add(ret, retNotify, 0, 0)
	allow, trace := len(p)-2, len(p)-1
	for i := range p {
		for _, f := range []struct {
			v   int
			dst *uint8
		}{{jumps[i].jt, &p[i].Jt}, {jumps[i].jf, &p[i].Jf}} {
			switch f.v {
			case toAllow:
				*f.dst = uint8(allow - i - 1)
			case toTrace:
				*f.dst = uint8(trace - i - 1)
			default:
				*f.dst = uint8(f.v)
			}
		}
	}
	if len(p) > 255 {
		return nil, fmt.Errorf("filter too long: %d instructions", len(p))
	}
	return p, nil
}

// filterBytes is the handshake's "y" message: the length as a native
// uint16, then struct sock_filter instructions as the C side reads them.
func filterBytes(p []unix.SockFilter) []byte {
	b := []byte{'y'}
	b = binary.NativeEndian.AppendUint16(b, uint16(len(p)))
	for _, f := range p {
		b = binary.NativeEndian.AppendUint16(b, f.Code)
		b = append(b, f.Jt, f.Jf)
		b = binary.NativeEndian.AppendUint32(b, f.K)
	}
	return b
}
