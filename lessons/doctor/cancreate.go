package doctor

import (
	"fmt"

	"github.com/nslab/nslab/sandbox"
)

// CanCreate says whether this machine can give a sandbox the namespaces in
// flags (CLONE_NEW* bits), and whether it does so rootless: without root,
// through a user namespace (for a caller other than root every success is
// rootless; CLONE_NEWUSER alone needs no privilege). When it cannot, why is
// one sentence for a learner with the fix to type. It judges each kind by
// the probe's throwaway child; an unprobed kind counts as impossible.
func CanCreate(m sandbox.Machine, flags uintptr) (ok bool, rootless bool, why string) {
	f := facts{m}
	kinds := sandbox.KindsIn(flags)
	if len(kinds) == 0 {
		return true, false, ""
	}
	probes := make([]sandbox.KindProbe, 0, len(kinds))
	for _, k := range kinds {
		p, found := f.Probe(k.Name)
		if !found || !p.Direct.Tried {
			return false, false, fmt.Sprintf("nslab could not test new %s namespaces on this machine: %s.", k.Name, fixSeeDoctor)
		}
		probes = append(probes, p)
	}
	direct, viaUser := true, true
	for _, p := range probes {
		direct = direct && p.Direct.OK
		viaUser = viaUser && p.Rootless.OK
	}
	if direct {
		return true, !f.isRoot(), ""
	}
	if viaUser {
		return true, true, ""
	}
	// Blame the first kind that works neither way, else the first one that
	// breaks the rootless path.
	culprit := probes[0]
	found := false
	for _, p := range probes {
		if !p.Direct.OK && !p.Rootless.OK {
			culprit, found = p, true
			break
		}
	}
	if !found {
		for _, p := range probes {
			if !p.Rootless.OK {
				culprit = p
				break
			}
		}
	}
	reason, fix := f.blocker(culprit)
	return false, false, fmt.Sprintf("nslab cannot create a new %s namespace here: %s; %s.", culprit.Kind, reason, fix)
}

// blocker explains why no clone of kind p worked: the reason, and the fix
// to type. It looks for the cause in order of how specific it is.
func (f facts) blocker(p sandbox.KindProbe) (reason, fix string) {
	k, _ := sandbox.KindByName(p.Kind)
	errno := p.Direct.Errno
	if errno == "" {
		errno = p.Direct.Result()
	}
	limit := sandbox.SysctlMaxFor(p.Kind)
	switch {
	case f.Baseline.Tried && !f.Baseline.OK:
		return fmt.Sprintf("nslab cannot start a copy of itself through /proc/self/exe (%s)", f.Baseline.Result()), fixReexec
	case f.sysctlIs(limit, 0):
		return fmt.Sprintf("the limit %s is 0, so the kernel refuses every new %s namespace (ENOSPC), even for root", limit, p.Kind),
			raiseLimit(limit)
	case f.kernelBelow(k.MinKernel):
		return fmt.Sprintf("%s namespaces need Linux %s or newer and this kernel is %s", k.Name, k.MinKernel, f.KernelRelease),
			fmt.Sprintf(fixKernel, k.MinKernel)
	case f.Container.Inside && (f.confinedContainer() || !f.isRoot()):
		return fmt.Sprintf("this %s container does not allow creating namespaces (clone gave %s)", f.Container.Engine, errno),
			ContainerFix(f.Machine)
	case !f.isRoot():
		return f.rootlessBlocker(p)
	case f.CapsKnown && !f.has("CAP_SYS_ADMIN"):
		reason = "nslab runs as root but without CAP_SYS_ADMIN"
		if !f.bounded("CAP_SYS_ADMIN") {
			reason += ", and not even the bounding set holds it, so sudo cannot bring it back"
		}
		return reason, fixKeepCaps
	case f.Seccomp == sandbox.SeccompFilter:
		return fmt.Sprintf("a seccomp filter on this process refuses it (clone gave %s)", errno), fixSeccomp
	case f.AppArmor != "" && f.AppArmor != "unconfined" && errno == "EACCES":
		return fmt.Sprintf("the AppArmor profile %q refuses it", f.AppArmor), fixAppArmor
	}
	fix = sandbox.ErrnoAdvice(errno)
	if fix == "" {
		fix = fixSeeCrosses
	}
	return fmt.Sprintf("the kernel refused it with %s", errno), fix
}

// rootlessBlocker is blocker for a caller other than root: which switch
// closed the rootless path.
func (f facts) rootlessBlocker(p sandbox.KindProbe) (reason, fix string) {
	for _, s := range rootlessSwitches() {
		if f.sysctlIs(s.name, s.off) {
			return fmt.Sprintf("it needs root, and %s (%s=%d)", s.what, s.name, s.off), s.fix()
		}
	}
	return fmt.Sprintf("it needs CAP_SYS_ADMIN, which uid %d lacks, and the rootless path through a user namespace failed too (%s)", f.EUID, p.Rootless.Result()),
		fixSudo
}
