package doctor

import (
	"slices"

	"github.com/nslab/nslab/sandbox"
)

// facts wraps the machine with the questions the checks ask of it.
type facts struct{ sandbox.Machine }

func (f facts) isRoot() bool { return f.EUID == 0 }

// has reports whether the effective set holds the named capability.
func (f facts) has(capName string) bool {
	n, ok := sandbox.CapByName(capName)
	return ok && f.HasCap(n)
}

// bounded reports whether the bounding set holds the named capability:
// without it, not even sudo brings it back.
func (f facts) bounded(capName string) bool {
	n, ok := sandbox.CapByName(capName)
	return ok && f.CapBnd&(1<<uint(n)) != 0
}

func (f facts) sysctlIs(name string, want int64) bool {
	v, ok := f.Sysctl(name)
	return ok && v == want
}

// kernelBelow reports whether the kernel is known and older than the
// release min ("5.6"). An unparsable minimum never holds a kernel back.
func (f facts) kernelBelow(min string) bool {
	v, err := sandbox.ParseKernelRelease(min)
	return err == nil && !f.Kernel.IsZero() && !f.Kernel.AtLeast(v.Major, v.Minor)
}

// capsThatMatter lists the capabilities nslab's lessons use and why.
func capsThatMatter() []struct{ name, why string } {
	return []struct{ name, why string }{
		{"CAP_SYS_ADMIN", "create namespaces, mount, set the hostname"},
		{"CAP_NET_ADMIN", "configure links, addresses and routes"},
		{"CAP_SYS_PTRACE", "look into other processes' /proc/PID/ns"},
		{"CAP_SYS_CHROOT", "setns(2) into a mount namespace"},
		{"CAP_SETUID", "write a user namespace's uid_map"},
		{"CAP_SETGID", "write a user namespace's gid_map"},
	}
}

func (f facts) missingCaps() []string {
	var out []string
	for _, c := range capsThatMatter() {
		if !f.has(c.name) {
			out = append(out, c.name)
		}
	}
	return out
}

// anyBlocked reports whether a clone of some kind failed both ways.
func (f facts) anyBlocked() bool {
	return slices.ContainsFunc(f.Probes, func(p sandbox.KindProbe) bool {
		return p.Direct.Tried && !p.Direct.OK && !(p.Rootless.Tried && p.Rootless.OK)
	})
}

// anyDirectFailed reports whether some kind's direct clone was refused.
func (f facts) anyDirectFailed() bool {
	return slices.ContainsFunc(f.Probes, func(p sandbox.KindProbe) bool { return p.Direct.Tried && !p.Direct.OK })
}

// confinedContainer reports whether this is a container that keeps nslab
// from creating namespaces as root.
func (f facts) confinedContainer() bool {
	return f.Container.Inside && (!f.has("CAP_SYS_ADMIN") || f.anyDirectFailed())
}

// rootlessSeverity is how much a switch that only hurts the rootless path
// matters: a warning for root, an error for anyone else.
func (f facts) rootlessSeverity() string {
	if f.isRoot() {
		return SeverityWarn
	}
	return SeverityError
}
