package doctor

import (
	"strings"
	"testing"

	"github.com/nslab/nslab/lessons/doctor/doctortest"
	"github.com/nslab/nslab/sandbox"
)

func findCheck(t *testing.T, checks []Check, id string) Check {
	t.Helper()
	for _, c := range checks {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no check %q in %v", id, checks)
	return Check{}
}

func TestChecksInvariants(t *testing.T) {
	for name, m := range map[string]sandbox.Machine{
		"root": doctortest.Root(), "rootless allowed": doctortest.RootlessAllowed(),
		"rootless denied": doctortest.RootlessDenied(), "ubuntu apparmor": doctortest.UbuntuAppArmor(),
		"docker without caps": doctortest.DockerNoCaps(), "old kernel": doctortest.OldKernel(),
		"empty": {},
	} {
		t.Run(name, func(t *testing.T) {
			seen := map[string]bool{}
			for _, c := range Checks(m) {
				if seen[c.ID] {
					t.Errorf("duplicate check id %q", c.ID)
				}
				seen[c.ID] = true
				if c.Title == "" || c.Detail == "" {
					t.Errorf("check %q lacks a title or detail: %+v", c.ID, c)
				}
				switch c.Severity {
				case SeverityError, SeverityWarn, SeverityInfo:
				default:
					t.Errorf("check %q: bad severity %q", c.ID, c.Severity)
				}
				if !c.OK && c.Fix == "" {
					t.Errorf("failed check %q has no fix: %+v", c.ID, c)
				}
				if c.OK && c.Fix != "" {
					t.Errorf("passing check %q has a fix: %+v", c.ID, c)
				}
			}
			for _, k := range sandbox.Kinds() {
				if !seen["ns."+k.Name] {
					t.Errorf("no check for kind %s", k.Name)
				}
			}
		})
	}
}

func TestChecksRoot(t *testing.T) {
	checks := Checks(doctortest.Root())
	if bad := FailedChecks(checks, SeverityInfo); len(bad) != 0 {
		t.Fatalf("a healthy root machine fails checks: %+v", bad)
	}
	if c := findCheck(t, checks, "propagation"); !strings.Contains(c.Detail, "shared") || !strings.Contains(c.Detail, "private") {
		t.Errorf("propagation check should say / is shared and nslab makes its mounts private: %q", c.Detail)
	}
	if c := findCheck(t, checks, "ns.net"); c.Detail != "clone(CLONE_NEWNET) = 0; clone(CLONE_NEWUSER|CLONE_NEWNET) = 0" {
		t.Errorf("ns.net detail = %q", c.Detail)
	}
	ok, rootless, why := CanCreate(doctortest.Root(), sandbox.CloneNewNet|sandbox.CloneNewNS|sandbox.CloneNewPID)
	if !ok || rootless || why != "" {
		t.Errorf("root CanCreate(net|mnt|pid) = %v %v %q, want true false \"\"", ok, rootless, why)
	}
}

func TestChecksRootlessAllowed(t *testing.T) {
	m := doctortest.RootlessAllowed()
	checks := Checks(m)
	if c := findCheck(t, checks, "user"); c.OK || c.Severity != SeverityWarn || !strings.Contains(c.Fix, "sudo nslab") {
		t.Errorf("user check for uid 1000 = %+v", c)
	}
	if c := findCheck(t, checks, "caps"); c.OK || c.Severity != SeverityWarn {
		t.Errorf("caps check for uid 1000 should warn: %+v", c)
	}
	if c := findCheck(t, checks, "ns.uts"); !c.OK || !strings.Contains(c.Detail, "rootless") {
		t.Errorf("ns.uts should pass rootless: %+v", c)
	}
	if bad := FailedChecks(checks, SeverityError); len(bad) != 0 {
		t.Errorf("rootless-capable machine has errors: %+v", bad)
	}
	ok, rootless, why := CanCreate(m, sandbox.CloneNewUTS|sandbox.CloneNewNet)
	if !ok || !rootless || why != "" {
		t.Errorf("CanCreate(uts|net) = %v %v %q, want true true \"\"", ok, rootless, why)
	}
}

func TestChecksRootlessDenied(t *testing.T) {
	m := doctortest.RootlessDenied()
	checks := Checks(m)
	c := findCheck(t, checks, "userns.unprivileged")
	if c.OK || c.Severity != SeverityError || !strings.Contains(c.Fix, "sudo sysctl -w kernel.unprivileged_userns_clone=1") {
		t.Errorf("userns.unprivileged = %+v", c)
	}
	if c := findCheck(t, checks, "ns.mnt"); c.OK || c.Severity != SeverityError || !strings.Contains(c.Fix, "kernel.unprivileged_userns_clone=1") {
		t.Errorf("ns.mnt = %+v", c)
	}
	ok, rootless, why := CanCreate(m, sandbox.CloneNewUTS)
	if ok || rootless {
		t.Errorf("CanCreate(uts) = %v %v, want false false", ok, rootless)
	}
	for _, want := range []string{"uts", "sudo nslab", "sudo sysctl -w kernel.unprivileged_userns_clone=1"} {
		if !strings.Contains(why, want) {
			t.Errorf("why = %q, lacks %q", why, want)
		}
	}
	if strings.Count(why, ".") < 1 || strings.Contains(why, "\n") {
		t.Errorf("why should be one sentence: %q", why)
	}
	// No namespace at all needs nothing.
	if ok, _, _ := CanCreate(m, 0); !ok {
		t.Error("CanCreate(0) = false")
	}
}

func TestChecksUbuntuAppArmor(t *testing.T) {
	m := doctortest.UbuntuAppArmor()
	checks := Checks(m)
	if c := findCheck(t, checks, "userns.apparmor"); c.OK || !strings.Contains(c.Fix, "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0") {
		t.Errorf("userns.apparmor = %+v", c)
	}
	if c := findCheck(t, checks, "userns.unprivileged"); !c.OK {
		t.Errorf("an absent unprivileged_userns_clone is fine: %+v", c)
	}
	ok, _, why := CanCreate(m, sandbox.CloneNewNet)
	if ok || !strings.Contains(why, "kernel.apparmor_restrict_unprivileged_userns=0") {
		t.Errorf("CanCreate(net) = %v %q", ok, why)
	}
	// The user namespace alone is allowed, rootless.
	if ok, rootless, why := CanCreate(m, sandbox.CloneNewUser); !ok || !rootless {
		t.Errorf("CanCreate(user) = %v %v %q, want true true", ok, rootless, why)
	}
}

func TestChecksDockerWithoutPrivileges(t *testing.T) {
	m := doctortest.DockerNoCaps()
	if !m.Container.Inside || m.Container.Engine != "docker" {
		t.Fatalf("container = %+v", m.Container)
	}
	checks := Checks(m)
	flags := []string{"docker run", "--privileged", "--cap-add SYS_ADMIN", "--security-opt seccomp=unconfined", "--security-opt apparmor=unconfined"}
	for _, id := range []string{"caps", "container", "ns.uts"} {
		c := findCheck(t, checks, id)
		if c.OK || c.Severity != SeverityError {
			t.Errorf("%s should fail as an error: %+v", id, c)
		}
		for _, f := range flags {
			if !strings.Contains(c.Fix, f) {
				t.Errorf("%s fix lacks %q: %q", id, f, c.Fix)
			}
		}
	}
	if c := findCheck(t, checks, "caps"); !strings.Contains(c.Detail, "CAP_SYS_ADMIN") || strings.Contains(c.Detail, "CAP_SYS_CHROOT") {
		t.Errorf("caps detail should name CAP_SYS_ADMIN and not Docker's default CAP_SYS_CHROOT: %q", c.Detail)
	}
	if c := findCheck(t, checks, "seccomp"); c.OK || !strings.Contains(c.Fix, "seccomp=unconfined") {
		t.Errorf("seccomp = %+v", c)
	}
	if c := findCheck(t, checks, "apparmor"); c.OK || !strings.Contains(c.Fix, "apparmor=unconfined") {
		t.Errorf("apparmor = %+v", c)
	}
	ok, _, why := CanCreate(m, sandbox.CloneNewUTS)
	if ok || !strings.Contains(why, "--privileged") || !strings.Contains(why, "docker container") {
		t.Errorf("CanCreate(uts) = %v %q", ok, why)
	}
	// The same under podman names podman.
	m.Container = sandbox.ClassifyContainer(sandbox.ContainerHints{ContainerEnv: true, ContainerEnvVar: "podman"})
	if c := findCheck(t, Checks(m), "container"); c.OK || !strings.Contains(c.Fix, "podman run --rm -it --privileged") {
		t.Errorf("podman container check = %+v", c)
	}
	// A privileged container passes.
	p := doctortest.Root()
	p.Container = m.Container
	p.Seccomp = sandbox.SeccompDisabled
	if c := findCheck(t, Checks(p), "container"); !c.OK || !strings.Contains(c.Detail, "podman") {
		t.Errorf("privileged container check = %+v", c)
	}
}

func TestChecksOldKernel(t *testing.T) {
	m := doctortest.OldKernel()
	checks := Checks(m)
	for _, id := range []string{"kernel.timens", "kernel.pidfd", "ns.time"} {
		if c := findCheck(t, checks, id); c.OK || c.Severity != SeverityWarn {
			t.Errorf("%s on 5.4 should warn: %+v", id, c)
		}
	}
	if c := findCheck(t, checks, "ns.time"); !strings.Contains(c.Fix, "5.6") {
		t.Errorf("ns.time fix = %q", c.Fix)
	}
	if bad := FailedChecks(checks, SeverityError); len(bad) != 0 {
		t.Errorf("an old kernel is no error: %+v", bad)
	}
	if ok, _, why := CanCreate(m, sandbox.CloneNewTime|sandbox.CloneNewUTS); ok || !strings.Contains(why, "Linux 5.6") {
		t.Errorf("CanCreate(time|uts) = %v %q", ok, why)
	}
	if ok, _, _ := CanCreate(m, sandbox.CloneNewUTS); !ok {
		t.Error("CanCreate(uts) on 5.4 should work")
	}
	if c := findCheck(t, checks, "cgroup"); !strings.Contains(c.Detail, "hybrid") {
		t.Errorf("cgroup = %+v", c)
	}
}

func TestChecksZeroLimit(t *testing.T) {
	m := doctortest.ZeroLimit(doctortest.Root(), "net")
	c := findCheck(t, Checks(m), "ns.limits")
	if c.OK || c.Severity != SeverityError || c.Fix != "`sudo sysctl -w user.max_net_namespaces=15000`" {
		t.Errorf("ns.limits = %+v", c)
	}
	if ok, _, why := CanCreate(m, sandbox.CloneNewNet); ok || !strings.Contains(why, "user.max_net_namespaces") {
		t.Errorf("CanCreate(net) = %v %q", ok, why)
	}
	m.Sysctls[sandbox.SysctlMaxUserNS] = 0
	if c := findCheck(t, Checks(m), "userns.max"); c.OK || !strings.Contains(c.Fix, "sudo sysctl -w user.max_user_namespaces=") {
		t.Errorf("userns.max = %+v", c)
	}
}

func TestChecksRootWithoutCaps(t *testing.T) {
	m := doctortest.Root()
	m.CapEff = 0
	m.CapBnd = 0
	m.Probes = doctortest.Probes(doctortest.AttemptEPERM(), doctortest.AttemptEPERM())
	c := findCheck(t, Checks(m), "caps")
	if c.OK || c.Severity != SeverityError || !strings.Contains(c.Detail, "bounding set") || !strings.Contains(c.Fix, "sudo -i") {
		t.Errorf("caps = %+v", c)
	}
}

func TestChecksBaselineFails(t *testing.T) {
	m := doctortest.Root()
	m.Baseline = sandbox.ProbeAttempt{Tried: true, Errno: "EACCES"}
	m.Probes = doctortest.Probes(m.Baseline, m.Baseline)
	if c := findCheck(t, Checks(m), "exe"); c.OK || c.Severity != SeverityError || !strings.Contains(c.Fix, "go build") {
		t.Errorf("exe = %+v", c)
	}
	if ok, _, why := CanCreate(m, sandbox.CloneNewIPC); ok || !strings.Contains(why, "/proc/self/exe") {
		t.Errorf("CanCreate(ipc) = %v %q", ok, why)
	}
	// Unprobed kinds are not promised.
	if ok, _, why := CanCreate((sandbox.Machine{}), sandbox.CloneNewIPC); ok || !strings.Contains(why, "nslab doctor") {
		t.Errorf("CanCreate on an empty machine = %v %q", ok, why)
	}
}

func TestFailedChecksOrder(t *testing.T) {
	in := []Check{
		{ID: "a", Severity: SeverityWarn},
		{ID: "b", OK: true, Severity: SeverityInfo},
		{ID: "c", Severity: SeverityError},
		{ID: "d", Severity: SeverityInfo},
	}
	var ids []string
	for _, c := range FailedChecks(in, SeverityWarn) {
		ids = append(ids, c.ID)
	}
	if strings.Join(ids, ",") != "c,a" {
		t.Errorf("FailedChecks = %v, want c,a", ids)
	}
}

// One cause, one line of advice: a machine-wide check and the kind it
// blocks give the very same fix, and CanCreate's sentence carries it.
func TestAdviceWrittenOnce(t *testing.T) {
	for _, tc := range []struct {
		name      string
		m         sandbox.Machine
		check, ns string
		flag      uintptr
	}{
		{"unprivileged userns off", doctortest.RootlessDenied(), "userns.unprivileged", "ns.mnt", sandbox.CloneNewNS},
		{"AppArmor restriction", doctortest.UbuntuAppArmor(), "userns.apparmor", "ns.net", sandbox.CloneNewNet},
		{"unprivileged docker", doctortest.DockerNoCaps(), "container", "ns.uts", sandbox.CloneNewUTS},
		{"old kernel", doctortest.OldKernel(), "kernel.timens", "ns.time", sandbox.CloneNewTime},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checks := Checks(tc.m)
			a, b := findCheck(t, checks, tc.check), findCheck(t, checks, tc.ns)
			if a.Fix == "" || a.Fix != b.Fix {
				t.Errorf("%s fix %q, %s fix %q: want one and the same", tc.check, a.Fix, tc.ns, b.Fix)
			}
			if _, _, why := CanCreate(tc.m, tc.flag); !strings.Contains(why, a.Fix) {
				t.Errorf("CanCreate says %q, without the fix %q", why, a.Fix)
			}
		})
	}
}

// The kernel minimums come from the kinds table: the time check names
// the time kind's MinKernel, whatever it is.
func TestKernelMinimumFromKinds(t *testing.T) {
	k, err := sandbox.KindByName("time")
	if err != nil {
		t.Fatal(err)
	}
	c := findCheck(t, Checks(doctortest.OldKernel()), "kernel.timens")
	if !strings.Contains(c.Title, "("+k.MinKernel+")") || !strings.Contains(c.Fix, "Linux "+k.MinKernel) {
		t.Errorf("kernel.timens = %+v, want the kinds table's %s", c, k.MinKernel)
	}
}
