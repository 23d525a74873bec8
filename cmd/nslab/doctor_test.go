package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/catalog"
	"github.com/nslab/nslab/sandbox"
)

// Fixture machines, built from what real machines of each sort show.

var (
	tryOK    = sandbox.ProbeAttempt{Tried: true, OK: true}
	tryEPERM = sandbox.ProbeAttempt{Tried: true, Errno: "EPERM", Err: "fork/exec /proc/self/exe: operation not permitted"}
)

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

func sysctls(max int64) map[string]int64 {
	s := map[string]int64{}
	for _, k := range sandbox.Kinds() {
		s[sandbox.SysctlMaxFor(k.Name)] = max
	}
	return s
}

func rootVM() sandbox.Machine {
	return sandbox.Machine{
		CapsKnown: true, CapEff: sandbox.AllCaps(), CapBnd: sandbox.AllCaps(),
		Seccomp: sandbox.SeccompDisabled, KernelRelease: "6.8.0-45-generic", Kernel: sandbox.KernelVersion{Major: 6, Minor: 8},
		Sysctls: sysctls(63417), RootPropagation: sandbox.PropagationShared, Cgroup: sandbox.CgroupV2,
		Exe: "/usr/local/bin/nslab", Baseline: tryOK, Probes: probes(tryOK, tryOK),
	}
}

func userVM() sandbox.Machine {
	m := rootVM()
	m.EUID, m.EGID, m.CapEff = 1000, 1000, 0
	m.Probes = probes(tryEPERM, tryOK)
	return m
}

func userNoUserns() sandbox.Machine {
	m := userVM()
	m.Sysctls[sandbox.SysctlUnprivUserns] = 0
	m.Probes = probes(tryEPERM, tryEPERM)
	return m
}

// dockerNoPrivileges is `docker run --rm IMAGE doctor`.
func dockerNoPrivileges() sandbox.Machine {
	m := rootVM()
	m.CapEff, m.CapBnd = 0xa80425fb, 0xa80425fb
	m.Seccomp = sandbox.SeccompFilter
	m.AppArmor = "docker-default (enforce)"
	m.Container = sandbox.ClassifyContainer(sandbox.ContainerHints{DockerEnv: true, RootFSType: "overlay", HostnameMount: true})
	m.Probes = probes(tryEPERM, tryEPERM)
	return m
}

func noTimeNS() sandbox.Machine {
	m := rootVM()
	m.Sysctls[sandbox.SysctlMaxFor("time")] = 0
	for i := range m.Probes {
		if m.Probes[i].Kind == "time" {
			e := sandbox.ProbeAttempt{Tried: true, Errno: "ENOSPC"}
			m.Probes[i].Direct, m.Probes[i].Rootless = e, e
		}
	}
	return m
}

func testCatalog(t *testing.T) []lessons.Lesson {
	t.Helper()
	ls, err := catalog.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 12 {
		t.Fatalf("%d lessons", len(ls))
	}
	return ls
}

func accessOf(r doctorReport) map[string]lessonAccess {
	out := map[string]lessonAccess{}
	for _, la := range r.Lessons {
		out[la.ID] = la
	}
	return out
}

func TestDiagnoseFixtures(t *testing.T) {
	ls := testCatalog(t)
	rootless := map[string]bool{}
	for _, l := range ls {
		rootless[l.ID] = l.Rootless
	}
	if rootless["net"] || !rootless["uts"] {
		t.Fatalf("the fixtures assume net needs root and uts does not: %v", rootless)
	}

	t.Run("root", func(t *testing.T) {
		r := diagnose(rootVM(), ls)
		if !r.OK || r.ExitCode != exitOK || len(lessonLocks(rootVM(), ls)) != 0 {
			t.Fatalf("%+v", r.Summary)
		}
		for id, la := range accessOf(r) {
			if la.Access != accessRoot {
				t.Errorf("%s: %s", id, la.Access)
			}
		}
	})
	t.Run("user with user namespaces", func(t *testing.T) {
		m := userVM()
		r := diagnose(m, ls)
		if r.ExitCode != exitOK {
			t.Errorf("every lesson runs in some way, yet exit %d: %s", r.ExitCode, r.Summary)
		}
		acc := accessOf(r)
		for id, rl := range rootless {
			want := accessRootless
			if !rl {
				want = accessNeedsRoot
			}
			if acc[id].Access != want {
				t.Errorf("%s: %s, want %s (%s)", id, acc[id].Access, want, acc[id].Why)
			}
		}
		locks := lessonLocks(m, ls)
		var needRoot []string
		for _, l := range ls {
			if !l.Rootless {
				needRoot = append(needRoot, l.ID)
				if !strings.Contains(locks[l.ID], "sudo nslab run "+l.ID) {
					t.Errorf("lock of %s: %q", l.ID, locks[l.ID])
				}
			}
		}
		if len(locks) != len(needRoot) {
			t.Errorf("locks %v, want only %v", locks, needRoot)
		}
		if !strings.Contains(r.Summary, "With sudo: "+strings.Join(needRoot, ", ")+".") {
			t.Errorf("summary %q", r.Summary)
		}
	})
	t.Run("user without user namespaces", func(t *testing.T) {
		m := userNoUserns()
		r := diagnose(m, ls)
		for id, la := range accessOf(r) {
			if la.Access != accessNeedsRoot || !strings.Contains(la.Why, "sudo") {
				t.Errorf("%s: %s (%s)", id, la.Access, la.Why)
			}
		}
		if r.ExitCode != exitMachine {
			t.Errorf("nothing runs for this user: exit %d", r.ExitCode)
		}
		if len(lessonLocks(m, ls)) != 12 {
			t.Errorf("locks %v", lessonLocks(m, ls))
		}
	})
	t.Run("unprivileged docker", func(t *testing.T) {
		m := dockerNoPrivileges()
		r := diagnose(m, ls)
		if r.ExitCode != exitMachine || r.OK {
			t.Fatalf("exit %d", r.ExitCode)
		}
		for id, la := range accessOf(r) {
			if la.Access != accessBlocked {
				t.Errorf("%s: %s", id, la.Access)
			}
		}
		var out bytes.Buffer
		printDoctor(&out, r)
		text := out.String()
		for _, want := range []string{"inside docker", "CAP_SYS_ADMIN", "--privileged", "--cap-add SYS_ADMIN",
			"--security-opt seccomp=unconfined", "--security-opt apparmor=unconfined", "✗", "Blocked on this machine"} {
			if !strings.Contains(text, want) {
				t.Errorf("doctor in an unprivileged container lacks %q:\n%s", want, text)
			}
		}
	})
	t.Run("time namespaces refused", func(t *testing.T) {
		m := noTimeNS()
		r := diagnose(m, ls)
		acc := accessOf(r)
		if acc["time"].Access != accessBlocked || !strings.Contains(acc["time"].Why, "user.max_time_namespaces") {
			t.Errorf("time: %+v", acc["time"])
		}
		if acc["uts"].Access != accessRoot || r.ExitCode != exitMachine {
			t.Errorf("uts %s, exit %d", acc["uts"].Access, r.ExitCode)
		}
		if locks := lessonLocks(m, ls); len(locks) != 1 || locks["time"] == "" {
			t.Errorf("locks %v", locks)
		}
	})
}

// Every line of the text report is a check or a lesson, and every failed
// check carries its fix right under it.
func TestPrintDoctorFixUnderEveryFailure(t *testing.T) {
	ls := testCatalog(t)
	for name, m := range map[string]sandbox.Machine{"docker": dockerNoPrivileges(), "user": userNoUserns(), "time": noTimeNS()} {
		r := diagnose(m, ls)
		var out bytes.Buffer
		printDoctor(&out, r)
		lines := strings.Split(out.String(), "\n")
		failed := 0
		for i, l := range lines {
			if strings.HasPrefix(l, "✗ ") && !strings.Contains(l, " blocked") {
				failed++
				if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "    fix: ") {
					t.Errorf("%s: no fix under %q", name, l)
				}
			}
		}
		if failed == 0 && name != "user" {
			t.Errorf("%s: no ✗ line:\n%s", name, out.String())
		}
	}
}

func TestLessonFlagsIncludeMetaKinds(t *testing.T) {
	for _, l := range testCatalog(t) {
		f := lessonFlags(l)
		for _, k := range l.Kinds {
			kind, err := sandbox.KindByName(k)
			if err != nil {
				t.Fatalf("%s: %v", l.ID, err)
			}
			if f&kind.Flag == 0 {
				t.Errorf("%s: %s missing from %s", l.ID, k, sandbox.FlagString(f))
			}
		}
		if f&l.Logic.Spec.Flags != l.Logic.Spec.Flags {
			t.Errorf("%s: spec flags missing", l.ID)
		}
	}
}
