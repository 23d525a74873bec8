package sandbox

import "testing"

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

// The doctor's facts come from the one /proc/PID/status parser.
func TestParseStatusDoctorFields(t *testing.T) {
	const docker = "Name:\tcat\nUid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\n" +
		"CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\n" +
		"Seccomp:\t2\nSeccomp_filters:\t1\n"
	st, err := parseStatus([]byte(docker))
	if err != nil {
		t.Fatal(err)
	}
	if st.CapEff != 0xa80425fb || st.CapBnd != 0xa80425fb || !st.haveCapEff || st.NoNewPrivs || st.Seccomp != SeccompFilter {
		t.Errorf("got %+v", st)
	}
	sysAdmin, _ := CapByName("CAP_SYS_ADMIN")
	chroot, _ := CapByName("CAP_SYS_CHROOT")
	if st.CapEff&(1<<sysAdmin) != 0 || st.CapEff&(1<<chroot) == 0 {
		t.Error("Docker's default set has CAP_SYS_CHROOT and lacks CAP_SYS_ADMIN")
	}
	if st, err := parseStatus([]byte("Name:\tx\n")); err != nil || st.haveCapEff {
		t.Errorf("status without CapEff = %+v, %v: want no CapEff", st, err)
	}
	for _, bad := range []string{"Name:\tx\nCapEff:\tzz\n", "Name:\tx\nCapBnd:\tzz\n", "Name:\tx\nSeccomp:\tx\n"} {
		if _, err := parseStatus([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	st, err = parseStatus([]byte("Name:\tx\nCapEff:\t0\nNoNewPrivs:\t1\n"))
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
