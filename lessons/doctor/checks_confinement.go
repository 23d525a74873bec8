package doctor

import (
	"fmt"
	"strings"

	"github.com/nslab/nslab/sandbox"
)

// The checks of what confines nslab (container, seccomp, AppArmor) and of
// the machine's make-up (propagation, kernel, cgroups).

func checkContainer(f facts) Check {
	c := Check{ID: "container", Title: "container", Severity: SeverityInfo, OK: true}
	if !f.Container.Inside {
		c.Detail = "not inside a container"
		if len(f.Container.Evidence) > 0 {
			c.Detail += " (" + strings.Join(f.Container.Evidence, ", ") + ", but nothing else suggests one)"
		}
		return c
	}
	c.Detail = fmt.Sprintf("inside %s (%s)", f.Container.Engine, strings.Join(f.Container.Evidence, ", "))
	if f.confinedContainer() && (f.isRoot() || f.anyBlocked()) {
		c.OK = false
		c.Severity = SeverityError
		var why []string
		if !f.has("CAP_SYS_ADMIN") {
			why = append(why, "no CAP_SYS_ADMIN")
		}
		if f.Seccomp == sandbox.SeccompFilter {
			why = append(why, "a seccomp filter")
		}
		if f.AppArmor != "" && f.AppArmor != "unconfined" {
			why = append(why, "AppArmor profile "+f.AppArmor)
		}
		if len(why) > 0 {
			c.Detail += ": " + strings.Join(why, " and ") + " keep nslab from creating namespaces as root"
		}
		c.Fix = ContainerFix(f.Machine)
		return c
	}
	c.Detail += ": it lets nslab create namespaces"
	return c
}

func checkSeccomp(f facts) Check {
	c := Check{ID: "seccomp", Title: "seccomp", Severity: SeverityInfo, OK: true}
	switch f.Seccomp {
	case sandbox.SeccompDisabled:
		c.Detail = "no filter"
	case sandbox.SeccompStrict:
		c.OK = false
		c.Severity = SeverityError
		c.Detail = "strict mode: only read, write, exit and sigreturn are allowed"
		c.Fix = fixSeccompStrict
	case sandbox.SeccompFilter:
		c.Detail = "a filter is active (Seccomp: 2)"
		if f.anyDirectFailed() && (f.has("CAP_SYS_ADMIN") || f.Container.Inside) {
			c.OK = false
			c.Severity = SeverityWarn
			c.Detail += " and namespace creation was refused; container engines' default profiles refuse clone, unshare and setns with namespace flags unless the container has CAP_SYS_ADMIN"
			c.Fix = fixSeccomp
		} else {
			c.Detail += ", and it lets namespace creation through"
		}
	default:
		c.Detail = "unknown (no Seccomp line in /proc/self/status)"
	}
	return c
}

func checkAppArmorProfile(f facts) Check {
	c := Check{ID: "apparmor", Title: "AppArmor profile", Severity: SeverityInfo, OK: true}
	switch {
	case f.AppArmor == "":
		c.Detail = "AppArmor is not active for this process"
	case f.AppArmor == "unconfined":
		c.Detail = "unconfined"
	case f.anyDirectFailed() && f.Container.Inside:
		c.OK = false
		c.Severity = SeverityWarn
		c.Detail = f.AppArmor + ": a container profile such as docker-default forbids mount(2) and more"
		c.Fix = fixAppArmor
	default:
		c.Detail = f.AppArmor
	}
	return c
}

func checkPropagation(f facts) Check {
	c := Check{ID: "propagation", Title: "mount propagation of /", Severity: SeverityInfo, OK: true}
	switch f.RootPropagation {
	case sandbox.PropagationShared:
		c.Detail = "/ is shared (usual with systemd): fine, nslab makes every new mount namespace recursively private (MS_REC|MS_PRIVATE) before it mounts anything, so nothing propagates back"
	case sandbox.PropagationSlave:
		c.Detail = "/ is a slave: host mounts propagate in, none out; nslab still makes its mount namespaces private"
	case sandbox.PropagationPrivate, sandbox.PropagationUnbindable:
		c.Detail = "/ is " + f.RootPropagation + ": nothing propagates; nslab still makes its mount namespaces private"
	default:
		c.Detail = "unknown (could not read /proc/self/mountinfo); nslab makes its mount namespaces private either way"
	}
	return c
}

// kernelCheck checks the kernel against a minimum release ("5.6").
func kernelCheck(f facts, id, what, min, without string) Check {
	c := Check{ID: id, Title: fmt.Sprintf("kernel for %s (%s)", what, min), Severity: SeverityInfo}
	switch {
	case f.Kernel.IsZero():
		c.Severity = SeverityWarn
		c.Detail = fmt.Sprintf("kernel version unknown (%q)", f.KernelRelease)
		c.Fix = fixUname
	case !f.kernelBelow(min):
		c.OK = true
		c.Detail = fmt.Sprintf("Linux %s ≥ %s", f.KernelRelease, min)
	default:
		c.Severity = SeverityWarn
		c.Detail = fmt.Sprintf("Linux %s < %s: %s", f.KernelRelease, min, without)
		c.Fix = fmt.Sprintf(fixKernel, min)
	}
	return c
}

func checkTimeNS(f facts) Check {
	k, _ := sandbox.KindByName("time")
	return kernelCheck(f, "kernel.timens", "time namespaces", k.MinKernel, "the time lesson cannot run")
}

func checkPidfd(f facts) Check {
	return kernelCheck(f, "kernel.pidfd", "setns(2) with a pidfd", sandbox.SetnsPidfdMinKernel,
		"joining through a pidfd is not possible, /proc/PID/ns files still work")
}

func checkCgroup(f facts) Check {
	c := Check{ID: "cgroup", Title: "cgroup layout", Severity: SeverityInfo, OK: true}
	switch f.Cgroup {
	case sandbox.CgroupV2:
		c.Detail = "cgroup v2 (unified)"
	case sandbox.CgroupHybrid:
		c.Detail = "hybrid: v1 controllers, v2 at /sys/fs/cgroup/unified"
	case sandbox.CgroupV1:
		c.Detail = "cgroup v1"
	case sandbox.CgroupNone:
		c.Detail = "/sys/fs/cgroup is not mounted: cgroup namespaces still work, but there is little to see"
	default:
		c.Detail = "unknown"
	}
	return c
}
