// Package doctortest holds fixture machines for tests of the doctor's
// decisions: each is a sandbox.Machine built from the facts a real machine
// of that sort shows. It is for tests only (lessons/doctor's and
// cmd/nslab's); production code must not import it.
package doctortest

import (
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/catalog"
	"github.com/nslab/nslab/sandbox"
)

// Probes is one probe per kind: direct for the direct clone, rootless
// through a new user namespace (and for the user kind itself).
func Probes(direct, rootless sandbox.ProbeAttempt) []sandbox.KindProbe {
	var out []sandbox.KindProbe
	for _, k := range sandbox.Kinds() {
		p := sandbox.KindProbe{Kind: k.Name, Flag: k.Flag, Direct: direct, Rootless: rootless}
		if k.Flag == sandbox.CloneNewUser {
			p.Direct = rootless
		}
		out = append(out, p)
	}
	return out
}

// AttemptOK is a throwaway clone that worked.
func AttemptOK() sandbox.ProbeAttempt { return sandbox.ProbeAttempt{Tried: true, OK: true} }

// AttemptEPERM is a throwaway clone the kernel refused with EPERM.
func AttemptEPERM() sandbox.ProbeAttempt {
	return sandbox.ProbeAttempt{Tried: true, Errno: "EPERM", Err: "fork/exec /proc/self/exe: operation not permitted"}
}

// Sysctls sets every user.max_<kind>_namespaces to max.
func Sysctls(max int64) map[string]int64 {
	s := map[string]int64{}
	for _, k := range sandbox.Kinds() {
		s[sandbox.SysctlMaxFor(k.Name)] = max
	}
	return s
}

// Root is a root shell on a systemd VM with a recent kernel.
func Root() sandbox.Machine {
	return sandbox.Machine{
		EUID: 0, EGID: 0,
		CapsKnown: true, CapEff: sandbox.AllCaps(), CapBnd: sandbox.AllCaps(),
		Seccomp:       sandbox.SeccompDisabled,
		KernelRelease: "6.8.0-45-generic", Kernel: sandbox.KernelVersion{Major: 6, Minor: 8},
		Sysctls:         Sysctls(63417),
		RootPropagation: sandbox.PropagationShared,
		Cgroup:          sandbox.CgroupV2,
		Exe:             "/usr/local/bin/nslab",
		Baseline:        AttemptOK(),
		Probes:          Probes(AttemptOK(), AttemptOK()),
	}
}

// RootlessAllowed is uid 1000 on Debian 12: user namespaces allowed.
func RootlessAllowed() sandbox.Machine {
	m := Root()
	m.EUID, m.EGID = 1000, 1000
	m.CapEff = 0
	m.Sysctls[sandbox.SysctlUnprivUserns] = 1
	m.Probes = Probes(AttemptEPERM(), AttemptOK())
	return m
}

// RootlessDenied is uid 1000 with kernel.unprivileged_userns_clone=0.
func RootlessDenied() sandbox.Machine {
	m := RootlessAllowed()
	m.Sysctls[sandbox.SysctlUnprivUserns] = 0
	m.Probes = Probes(AttemptEPERM(), AttemptEPERM())
	return m
}

// UbuntuAppArmor is uid 1000 on Ubuntu 24.04.
func UbuntuAppArmor() sandbox.Machine {
	m := RootlessAllowed()
	delete(m.Sysctls, sandbox.SysctlUnprivUserns)
	m.Sysctls[sandbox.SysctlAppArmorRestrict] = 1
	m.AppArmor = "unconfined"
	m.Probes = Probes(AttemptEPERM(), AttemptEPERM())
	for i := range m.Probes {
		if m.Probes[i].Flag == sandbox.CloneNewUser {
			// The restriction lets the user namespace be made, without
			// capabilities in it; the combined clones fail.
			m.Probes[i].Direct, m.Probes[i].Rootless = AttemptOK(), AttemptOK()
		}
	}
	return m
}

// DockerNoCaps is `docker run --rm IMAGE doctor`: root with Docker's
// default capabilities, seccomp profile and AppArmor profile.
func DockerNoCaps() sandbox.Machine {
	m := Root()
	m.CapEff, m.CapBnd = 0xa80425fb, 0xa80425fb
	m.Seccomp = sandbox.SeccompFilter
	m.AppArmor = "docker-default (enforce)"
	m.RootPropagation = sandbox.PropagationPrivate
	m.Container = sandbox.ClassifyContainer(sandbox.ContainerHints{DockerEnv: true, RootFSType: "overlay", HostnameMount: true})
	m.Probes = Probes(AttemptEPERM(), AttemptEPERM())
	return m
}

// OldKernel is root on a 5.4 kernel: no time namespaces, no setns
// through a pidfd.
func OldKernel() sandbox.Machine {
	m := Root()
	m.KernelRelease, m.Kernel = "5.4.0-150-generic", sandbox.KernelVersion{Major: 5, Minor: 4}
	delete(m.Sysctls, sandbox.SysctlMaxFor("time"))
	m.Cgroup = sandbox.CgroupHybrid
	for i := range m.Probes {
		if m.Probes[i].Flag == sandbox.CloneNewTime {
			e := sandbox.ProbeAttempt{Tried: true, Errno: "EINVAL"}
			m.Probes[i].Direct, m.Probes[i].Rootless = e, e
		}
	}
	return m
}

// ZeroLimit is m with the limit of new namespaces of kind set to 0, and
// both of the kind's throwaway clones refused with ENOSPC as the kernel
// then does.
func ZeroLimit(m sandbox.Machine, kind string) sandbox.Machine {
	m.Sysctls[sandbox.SysctlMaxFor(kind)] = 0
	for i := range m.Probes {
		if m.Probes[i].Kind == kind {
			e := sandbox.ProbeAttempt{Tried: true, Errno: "ENOSPC"}
			m.Probes[i].Direct, m.Probes[i].Rootless = e, e
		}
	}
	return m
}

// Catalog is the lesson catalogue the fixtures' expectations are held to.
func Catalog(t testing.TB) []lessons.Lesson {
	t.Helper()
	ls, err := catalog.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) == 0 {
		t.Fatal("the catalogue is empty")
	}
	return ls
}
