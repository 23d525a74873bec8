package main

import (
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// The doctor's decisions are tested in lessons/doctor on many fixture
// machines; here only what cmd adds: the exit code, and the machines the
// CLI's own messages are tested on.

func testCatalog(t *testing.T) []lessons.Lesson {
	t.Helper()
	ls, err := lessons.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 12 {
		t.Fatalf("%d lessons", len(ls))
	}
	return ls
}

func probes(direct, rootless sandbox.ProbeAttempt) []sandbox.KindProbe {
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

var (
	tryOK    = sandbox.ProbeAttempt{Tried: true, OK: true}
	tryEPERM = sandbox.ProbeAttempt{Tried: true, Errno: "EPERM", Err: "fork/exec /proc/self/exe: operation not permitted"}
)

// rootVM is a root shell on a VM with a recent kernel.
func rootVM() sandbox.Machine {
	return sandbox.Machine{
		CapsKnown: true, CapEff: sandbox.AllCaps(), CapBnd: sandbox.AllCaps(),
		Seccomp: sandbox.SeccompDisabled, KernelRelease: "6.8.0-45-generic", Kernel: sandbox.KernelVersion{Major: 6, Minor: 8},
		Sysctls: map[string]int64{}, RootPropagation: sandbox.PropagationShared, Cgroup: sandbox.CgroupV2,
		Exe: "/usr/local/bin/nslab", Baseline: tryOK, Probes: probes(tryOK, tryOK),
	}
}

// userVM is uid 1000 on the same VM, with user namespaces allowed.
func userVM() sandbox.Machine {
	m := rootVM()
	m.EUID, m.EGID, m.CapEff = 1000, 1000, 0
	m.Probes = probes(tryEPERM, tryOK)
	return m
}

func TestDiagnoseExitCode(t *testing.T) {
	ls := testCatalog(t)
	if r := diagnose(rootVM(), ls); !r.OK || r.ExitCode != exitOK {
		t.Errorf("root VM: ok %v exit %d: %s", r.OK, r.ExitCode, r.Summary)
	}
	// Every lesson runs in some way (rootless or with sudo): exit 0.
	if r := diagnose(userVM(), ls); r.ExitCode != exitOK {
		t.Errorf("uid 1000 with user namespaces: exit %d: %s", r.ExitCode, r.Summary)
	}
	blocked := rootVM()
	blocked.Probes = probes(tryEPERM, tryEPERM)
	if r := diagnose(blocked, ls); r.OK || r.ExitCode != exitMachine {
		t.Errorf("root refused every clone: ok %v exit %d: %s", r.OK, r.ExitCode, r.Summary)
	}
}
