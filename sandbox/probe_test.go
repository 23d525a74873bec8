package sandbox

import (
	"strings"
	"testing"
)

// Fixture machines for the doctor's decisions. Each is built from the
// facts a real machine of that sort shows.

func fixtureProbes(direct, rootless ProbeAttempt) []KindProbe {
	var out []KindProbe
	for _, k := range Kinds() {
		p := KindProbe{Kind: k.Name, Flag: k.Flag, Direct: direct, Rootless: rootless}
		if k.Flag == CloneNewUser {
			p.Direct = rootless
		}
		out = append(out, p)
	}
	return out
}

var (
	attemptOK    = ProbeAttempt{Tried: true, OK: true}
	attemptEPERM = ProbeAttempt{Tried: true, Errno: "EPERM", Err: "fork/exec /proc/self/exe: operation not permitted"}
)

func fixtureSysctls(max int64) map[string]int64 {
	s := map[string]int64{}
	for _, k := range Kinds() {
		s[SysctlMaxFor(k.Name)] = max
	}
	return s
}

// fixtureRoot is a root shell on a systemd VM with a recent kernel.
func fixtureRoot() Machine {
	return Machine{
		EUID: 0, EGID: 0,
		CapsKnown: true, CapEff: AllCaps(), CapBnd: AllCaps(),
		Seccomp:       SeccompDisabled,
		KernelRelease: "6.8.0-45-generic", Kernel: KernelVersion{6, 8, 0},
		Sysctls:         fixtureSysctls(63417),
		RootPropagation: PropagationShared,
		Cgroup:          CgroupV2,
		Exe:             "/usr/local/bin/nslab",
		Baseline:        attemptOK,
		Probes:          fixtureProbes(attemptOK, attemptOK),
	}
}

// fixtureRootlessAllowed is uid 1000 on Debian 12: user namespaces allowed.
func fixtureRootlessAllowed() Machine {
	m := fixtureRoot()
	m.EUID, m.EGID = 1000, 1000
	m.CapEff = 0
	m.Sysctls[SysctlUnprivUserns] = 1
	m.Probes = fixtureProbes(attemptEPERM, attemptOK)
	return m
}

// fixtureRootlessDenied is uid 1000 with kernel.unprivileged_userns_clone=0.
func fixtureRootlessDenied() Machine {
	m := fixtureRootlessAllowed()
	m.Sysctls[SysctlUnprivUserns] = 0
	m.Probes = fixtureProbes(attemptEPERM, attemptEPERM)
	return m
}

// fixtureUbuntuAppArmor is uid 1000 on Ubuntu 24.04.
func fixtureUbuntuAppArmor() Machine {
	m := fixtureRootlessAllowed()
	delete(m.Sysctls, SysctlUnprivUserns)
	m.Sysctls[SysctlAppArmorRestrict] = 1
	m.AppArmor = "unconfined"
	m.Probes = fixtureProbes(attemptEPERM, attemptEPERM)
	for i := range m.Probes {
		if m.Probes[i].Flag == CloneNewUser {
			// The restriction lets the user namespace be made, without
			// capabilities in it; the combined clones fail.
			m.Probes[i].Direct, m.Probes[i].Rootless = attemptOK, attemptOK
		}
	}
	return m
}

// fixtureDockerNoCaps is `docker run --rm IMAGE doctor`: root with Docker's
// default capabilities, seccomp profile and AppArmor profile.
func fixtureDockerNoCaps() Machine {
	m := fixtureRoot()
	m.CapEff, m.CapBnd = 0xa80425fb, 0xa80425fb
	m.Seccomp = SeccompFilter
	m.AppArmor = "docker-default (enforce)"
	m.RootPropagation = PropagationPrivate
	m.Container = ClassifyContainer(ContainerHints{DockerEnv: true, RootFSType: "overlay", HostnameMount: true})
	m.Probes = fixtureProbes(attemptEPERM, attemptEPERM)
	return m
}

// fixtureOldKernel is root on a 5.4 kernel: no time namespaces, no setns
// through a pidfd.
func fixtureOldKernel() Machine {
	m := fixtureRoot()
	m.KernelRelease, m.Kernel = "5.4.0-150-generic", KernelVersion{5, 4, 0}
	delete(m.Sysctls, SysctlMaxFor("time"))
	m.Cgroup = CgroupHybrid
	for i := range m.Probes {
		if m.Probes[i].Flag == CloneNewTime {
			e := ProbeAttempt{Tried: true, Errno: "EINVAL"}
			m.Probes[i].Direct, m.Probes[i].Rootless = e, e
		}
	}
	return m
}

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
	for name, m := range map[string]Machine{
		"root": fixtureRoot(), "rootless allowed": fixtureRootlessAllowed(),
		"rootless denied": fixtureRootlessDenied(), "ubuntu apparmor": fixtureUbuntuAppArmor(),
		"docker without caps": fixtureDockerNoCaps(), "old kernel": fixtureOldKernel(),
		"empty": {},
	} {
		t.Run(name, func(t *testing.T) {
			seen := map[string]bool{}
			for _, c := range m.Checks() {
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
			for _, k := range Kinds() {
				if !seen["ns."+k.Name] {
					t.Errorf("no check for kind %s", k.Name)
				}
			}
		})
	}
}

func TestChecksRoot(t *testing.T) {
	checks := fixtureRoot().Checks()
	if bad := FailedChecks(checks, SeverityInfo); len(bad) != 0 {
		t.Fatalf("a healthy root machine fails checks: %+v", bad)
	}
	if c := findCheck(t, checks, "propagation"); !strings.Contains(c.Detail, "shared") || !strings.Contains(c.Detail, "private") {
		t.Errorf("propagation check should say / is shared and nslab makes its mounts private: %q", c.Detail)
	}
	if c := findCheck(t, checks, "ns.net"); c.Detail != "clone(CLONE_NEWNET) = 0; clone(CLONE_NEWUSER|CLONE_NEWNET) = 0" {
		t.Errorf("ns.net detail = %q", c.Detail)
	}
	ok, rootless, why := fixtureRoot().CanCreate(CloneNewNet | CloneNewNS | CloneNewPID)
	if !ok || rootless || why != "" {
		t.Errorf("root CanCreate(net|mnt|pid) = %v %v %q, want true false \"\"", ok, rootless, why)
	}
}

func TestChecksRootlessAllowed(t *testing.T) {
	m := fixtureRootlessAllowed()
	checks := m.Checks()
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
	ok, rootless, why := m.CanCreate(CloneNewUTS | CloneNewNet)
	if !ok || !rootless || why != "" {
		t.Errorf("CanCreate(uts|net) = %v %v %q, want true true \"\"", ok, rootless, why)
	}
}

func TestChecksRootlessDenied(t *testing.T) {
	m := fixtureRootlessDenied()
	checks := m.Checks()
	c := findCheck(t, checks, "userns.unprivileged")
	if c.OK || c.Severity != SeverityError || !strings.Contains(c.Fix, "sudo sysctl -w kernel.unprivileged_userns_clone=1") {
		t.Errorf("userns.unprivileged = %+v", c)
	}
	if c := findCheck(t, checks, "ns.mnt"); c.OK || c.Severity != SeverityError || !strings.Contains(c.Fix, "kernel.unprivileged_userns_clone=1") {
		t.Errorf("ns.mnt = %+v", c)
	}
	ok, rootless, why := m.CanCreate(CloneNewUTS)
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
	if ok, _, _ := m.CanCreate(0); !ok {
		t.Error("CanCreate(0) = false")
	}
}

func TestChecksUbuntuAppArmor(t *testing.T) {
	m := fixtureUbuntuAppArmor()
	checks := m.Checks()
	if c := findCheck(t, checks, "userns.apparmor"); c.OK || !strings.Contains(c.Fix, "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0") {
		t.Errorf("userns.apparmor = %+v", c)
	}
	if c := findCheck(t, checks, "userns.unprivileged"); !c.OK {
		t.Errorf("an absent unprivileged_userns_clone is fine: %+v", c)
	}
	ok, _, why := m.CanCreate(CloneNewNet)
	if ok || !strings.Contains(why, "kernel.apparmor_restrict_unprivileged_userns=0") {
		t.Errorf("CanCreate(net) = %v %q", ok, why)
	}
	// The user namespace alone is allowed, rootless.
	if ok, rootless, why := m.CanCreate(CloneNewUser); !ok || !rootless {
		t.Errorf("CanCreate(user) = %v %v %q, want true true", ok, rootless, why)
	}
}

func TestChecksDockerWithoutPrivileges(t *testing.T) {
	m := fixtureDockerNoCaps()
	if !m.Container.Inside || m.Container.Engine != "docker" {
		t.Fatalf("container = %+v", m.Container)
	}
	checks := m.Checks()
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
	ok, _, why := m.CanCreate(CloneNewUTS)
	if ok || !strings.Contains(why, "--privileged") || !strings.Contains(why, "docker container") {
		t.Errorf("CanCreate(uts) = %v %q", ok, why)
	}
	// The same under podman names podman.
	m.Container = ClassifyContainer(ContainerHints{ContainerEnv: true, ContainerEnvVar: "podman"})
	if c := findCheck(t, m.Checks(), "container"); c.OK || !strings.Contains(c.Fix, "podman run --rm -it --privileged") {
		t.Errorf("podman container check = %+v", c)
	}
	// A privileged container passes.
	p := fixtureRoot()
	p.Container = m.Container
	p.Seccomp = SeccompDisabled
	if c := findCheck(t, p.Checks(), "container"); !c.OK || !strings.Contains(c.Detail, "podman") {
		t.Errorf("privileged container check = %+v", c)
	}
}

func TestChecksOldKernel(t *testing.T) {
	m := fixtureOldKernel()
	checks := m.Checks()
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
	if ok, _, why := m.CanCreate(CloneNewTime | CloneNewUTS); ok || !strings.Contains(why, "Linux 5.6") {
		t.Errorf("CanCreate(time|uts) = %v %q", ok, why)
	}
	if ok, _, _ := m.CanCreate(CloneNewUTS); !ok {
		t.Error("CanCreate(uts) on 5.4 should work")
	}
	if c := findCheck(t, checks, "cgroup"); !strings.Contains(c.Detail, "hybrid") {
		t.Errorf("cgroup = %+v", c)
	}
}

func TestChecksZeroLimit(t *testing.T) {
	m := fixtureRoot()
	m.Sysctls[SysctlMaxFor("net")] = 0
	for i := range m.Probes {
		if m.Probes[i].Kind == "net" {
			e := ProbeAttempt{Tried: true, Errno: "ENOSPC"}
			m.Probes[i].Direct, m.Probes[i].Rootless = e, e
		}
	}
	c := findCheck(t, m.Checks(), "ns.limits")
	if c.OK || c.Severity != SeverityError || c.Fix != "`sudo sysctl -w user.max_net_namespaces=15000`" {
		t.Errorf("ns.limits = %+v", c)
	}
	if ok, _, why := m.CanCreate(CloneNewNet); ok || !strings.Contains(why, "user.max_net_namespaces") {
		t.Errorf("CanCreate(net) = %v %q", ok, why)
	}
	m.Sysctls[SysctlMaxUserNS] = 0
	if c := findCheck(t, m.Checks(), "userns.max"); c.OK || !strings.Contains(c.Fix, "sudo sysctl -w user.max_user_namespaces=") {
		t.Errorf("userns.max = %+v", c)
	}
}

func TestChecksRootWithoutCaps(t *testing.T) {
	m := fixtureRoot()
	m.CapEff = 0
	m.CapBnd = 0
	m.Probes = fixtureProbes(attemptEPERM, attemptEPERM)
	c := findCheck(t, m.Checks(), "caps")
	if c.OK || c.Severity != SeverityError || !strings.Contains(c.Detail, "bounding set") || !strings.Contains(c.Fix, "sudo -i") {
		t.Errorf("caps = %+v", c)
	}
}

func TestChecksBaselineFails(t *testing.T) {
	m := fixtureRoot()
	m.Baseline = ProbeAttempt{Tried: true, Errno: "EACCES"}
	m.Probes = fixtureProbes(m.Baseline, m.Baseline)
	if c := findCheck(t, m.Checks(), "exe"); c.OK || c.Severity != SeverityError || !strings.Contains(c.Fix, "go build") {
		t.Errorf("exe = %+v", c)
	}
	if ok, _, why := m.CanCreate(CloneNewIPC); ok || !strings.Contains(why, "/proc/self/exe") {
		t.Errorf("CanCreate(ipc) = %v %q", ok, why)
	}
	// Unprobed kinds are not promised.
	if ok, _, why := (Machine{}).CanCreate(CloneNewIPC); ok || !strings.Contains(why, "nslab doctor") {
		t.Errorf("CanCreate on an empty machine = %v %q", ok, why)
	}
}

func TestClassifyContainer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		h      ContainerHints
		inside bool
		engine string
	}{
		{"bare VM with a stale /.dockerenv", ContainerHints{DockerEnv: true, RootFSType: "ext4", Init1Cgroup: "0::/\n"}, false, ""},
		{"plain host", ContainerHints{RootFSType: "ext4"}, false, ""},
		{"docker overlay", ContainerHints{DockerEnv: true, RootFSType: "overlay", HostnameMount: true, Init1Cgroup: "0::/\n"}, true, "docker"},
		{"docker cgroup v1", ContainerHints{Init1Cgroup: "12:pids:/docker/4f1c\n"}, true, "docker"},
		{"podman", ContainerHints{ContainerEnv: true, ContainerEnvVar: "podman", RootFSType: "overlay"}, true, "podman"},
		{"podman vfs", ContainerHints{ContainerEnv: true, RootFSType: "ext4"}, true, "podman"},
		{"kubernetes", ContainerHints{Kubernetes: true, Init1Cgroup: "0::/kubepods/besteffort/pod1\n"}, true, "kubernetes"},
		{"nspawn", ContainerHints{ContainerEnvVar: "systemd-nspawn"}, true, "systemd-nspawn"},
		{"lxc", ContainerHints{ContainerEnvVar: "lxc"}, true, "lxc"},
		{"unknown engine", ContainerHints{RootFSType: "overlay", HostnameMount: true}, true, "container"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ClassifyContainer(tc.h)
			if c.Inside != tc.inside || c.Engine != tc.engine {
				t.Errorf("ClassifyContainer(%+v) = %+v, want inside=%v engine=%q", tc.h, c, tc.inside, tc.engine)
			}
			if c.Inside && len(c.Evidence) == 0 {
				t.Error("inside without evidence")
			}
		})
	}
}

func TestParseKernelRelease(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want KernelVersion
		err  bool
	}{
		{"6.18.44-fc-v782", KernelVersion{6, 18, 44}, false},
		{"5.10.0-28-amd64", KernelVersion{5, 10, 0}, false},
		{"6.8.0-45-generic", KernelVersion{6, 8, 0}, false},
		{"5.6", KernelVersion{5, 6, 0}, false},
		{"4.19.0+", KernelVersion{4, 19, 0}, false},
		{"6.1.0.1", KernelVersion{6, 1, 0}, false},
		{"", KernelVersion{}, true},
		{"linux", KernelVersion{}, true},
		{"6", KernelVersion{}, true},
	} {
		got, err := ParseKernelRelease(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseKernelRelease(%q) = %v, %v; want %v, err=%v", tc.in, got, err, tc.want, tc.err)
		}
	}
	v := KernelVersion{5, 8, 0}
	for _, tc := range []struct {
		maj, min int
		want     bool
	}{{5, 6, true}, {5, 8, true}, {5, 9, false}, {4, 20, true}, {6, 0, false}} {
		if got := v.AtLeast(tc.maj, tc.min); got != tc.want {
			t.Errorf("%v.AtLeast(%d,%d) = %v", v, tc.maj, tc.min, got)
		}
	}
	if (KernelVersion{}).AtLeast(0, 1) {
		t.Error("unknown version is at least 0.1")
	}
}

func TestPropagationOf(t *testing.T) {
	for in, want := range map[string]string{
		"":                   PropagationPrivate,
		"shared:1":           PropagationShared,
		"master:3":           PropagationSlave,
		"shared:5 master:3":  PropagationShared,
		"unbindable":         PropagationUnbindable,
		"propagate_from:2 x": PropagationPrivate,
	} {
		if got := PropagationOf(in); got != want {
			t.Errorf("PropagationOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseProcStatus(t *testing.T) {
	const docker = "Name:\tcat\nUid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\n" +
		"CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\n" +
		"Seccomp:\t2\nSeccomp_filters:\t1\n"
	st, err := ParseProcStatus(docker)
	if err != nil {
		t.Fatal(err)
	}
	want := ProcStatus{CapEff: 0xa80425fb, CapPrm: 0xa80425fb, CapBnd: 0xa80425fb, Seccomp: SeccompFilter}
	if st != want {
		t.Errorf("got %+v, want %+v", st, want)
	}
	if st.CapEff&(1<<probeCapSysAdmin) != 0 || st.CapEff&(1<<probeCapSysChroot) == 0 {
		t.Error("Docker's default set has CAP_SYS_CHROOT and lacks CAP_SYS_ADMIN")
	}
	if _, err := ParseProcStatus("Name:\tx\n"); err == nil {
		t.Error("status without CapEff parsed")
	}
	if _, err := ParseProcStatus("CapEff:\tzz\n"); err == nil {
		t.Error("bad hex parsed")
	}
	st, err = ParseProcStatus("CapEff:\t0\nNoNewPrivs:\t1\n")
	if err != nil || !st.NoNewPrivs || st.Seccomp != SeccompUnknown {
		t.Errorf("old-kernel status = %+v, %v", st, err)
	}
}

func TestClassifyCgroup(t *testing.T) {
	for _, tc := range []struct {
		root, unified int64
		want          string
	}{
		{probeCgroup2Magic, 0, CgroupV2},
		{probeTmpfsMagic, probeCgroup2Magic, CgroupHybrid},
		{probeTmpfsMagic, 0, CgroupV1},
		{probeCgroup1Magic, 0, CgroupV1},
		{0, 0, CgroupNone},
		{0x9fa0, 0, CgroupUnknown},
	} {
		if got := ClassifyCgroup(tc.root, tc.unified); got != tc.want {
			t.Errorf("ClassifyCgroup(%#x, %#x) = %q, want %q", tc.root, tc.unified, got, tc.want)
		}
	}
}

func TestSysctlNames(t *testing.T) {
	if got := SysctlPath(SysctlAppArmorRestrict); got != "/proc/sys/kernel/apparmor_restrict_unprivileged_userns" {
		t.Errorf("SysctlPath = %q", got)
	}
	names := ProbeSysctls()
	if len(names) != 2+len(Kinds()) {
		t.Errorf("ProbeSysctls = %v", names)
	}
	if SysctlMaxFor("user") != SysctlMaxUserNS {
		t.Errorf("SysctlMaxFor(user) = %q", SysctlMaxFor("user"))
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
