package sandbox

import (
	"fmt"
	"strconv"
	"strings"
)

// This file holds the machine facts ProbeMachine (probe_linux.go) gathers
// and the pure parsers and classifiers behind them. What the facts mean
// for a learner (the doctor's checks, their advice, which lessons can run)
// is decided above the engine, in lessons/doctor: the engine itself uses
// none of it.

// ProbeAttempt is the outcome of starting one throwaway child.
type ProbeAttempt struct {
	Tried bool   `json:"tried"`
	OK    bool   `json:"ok"`
	Errno string `json:"errno,omitempty"` // "EPERM" when the kernel refused
	Err   string `json:"error,omitempty"` // the whole error when it failed
}

// Result renders the attempt like the return of a syscall in a trace: "0",
// "EPERM", or the error.
func (a ProbeAttempt) Result() string {
	switch {
	case !a.Tried:
		return "not tried"
	case a.OK:
		return "0"
	case a.Errno != "":
		return a.Errno
	}
	return a.Err
}

// KindProbe is what happened when a throwaway child was cloned into a new
// namespace of one kind.
type KindProbe struct {
	Kind string  `json:"kind"`
	Flag uintptr `json:"flag"`
	// Direct is clone(kind's flag) alone: what root with CAP_SYS_ADMIN can
	// do. For the user kind it carries the uid/gid map as well.
	Direct ProbeAttempt `json:"direct"`
	// Rootless is clone(CLONE_NEWUSER|kind's flag) with root inside mapped
	// to the caller's uid: the path that needs no privilege where the
	// kernel allows unprivileged user namespaces.
	Rootless ProbeAttempt `json:"rootless"`
}

// KernelVersion is the numeric part of uname -r.
type KernelVersion struct {
	Major int `json:"major"`
	Minor int `json:"minor"`
	Patch int `json:"patch"`
}

// AtLeast reports whether the version is major.minor or newer. The zero
// (unknown) version is never at least anything.
func (v KernelVersion) AtLeast(major, minor int) bool {
	if v.Major != major {
		return v.Major > major
	}
	return v.Minor >= minor
}

// IsZero reports whether the version is unknown.
func (v KernelVersion) IsZero() bool { return v == (KernelVersion{}) }

func (v KernelVersion) String() string {
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// ParseKernelRelease reads the version out of a uname release string such
// as "6.8.0-45-generic" or "5.10.0-28-amd64".
func ParseKernelRelease(release string) (KernelVersion, error) {
	var v KernelVersion
	num := release
	if i := strings.IndexFunc(num, func(r rune) bool { return r != '.' && (r < '0' || r > '9') }); i >= 0 {
		num = num[:i]
	}
	parts := strings.Split(strings.TrimRight(num, "."), ".")
	if len(parts) < 2 {
		return v, fmt.Errorf("kernel release %q: %w", release, ErrBadInput)
	}
	dst := []*int{&v.Major, &v.Minor, &v.Patch}
	for i, p := range parts {
		if i == len(dst) {
			break
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			return KernelVersion{}, fmt.Errorf("kernel release %q: %w", release, err)
		}
		*dst[i] = n
	}
	return v, nil
}

// ContainerInfo says whether nslab runs inside a container, and why it
// thinks so.
type ContainerInfo struct {
	Inside   bool     `json:"inside"`
	Engine   string   `json:"engine,omitempty"` // "docker", "podman", "lxc", "kubernetes", "systemd-nspawn", "container"
	Evidence []string `json:"evidence,omitempty"`
}

// ContainerHints are the raw signs of a container that ProbeMachine reads.
type ContainerHints struct {
	DockerEnv       bool   // /.dockerenv exists
	ContainerEnv    bool   // /run/.containerenv exists (podman, buildah)
	ContainerEnvVar string // $container, set by podman, systemd-nspawn, lxc
	Kubernetes      bool   // $KUBERNETES_SERVICE_HOST is set
	Init1Cgroup     string // contents of /proc/1/cgroup
	RootFSType      string // file system type of the mount at /
	HostnameMount   bool   // /etc/hostname is a mount point: engines bind-mount it
}

// ClassifyContainer weighs the hints. A strong sign (/run/.containerenv,
// $container, $KUBERNETES_SERVICE_HOST, an engine's name in /proc/1/cgroup)
// is enough alone; weak ones (/.dockerenv, an overlay root, a bind-mounted
// /etc/hostname) need company, because images of VMs built with Docker
// keep a stale /.dockerenv.
func ClassifyContainer(h ContainerHints) ContainerInfo {
	var c ContainerInfo
	strong, weak := 0, 0
	engine := ""
	setEngine := func(e string) {
		if engine == "" {
			engine = e
		}
	}
	if h.ContainerEnv {
		strong++
		setEngine("podman")
		c.Evidence = append(c.Evidence, "/run/.containerenv exists")
	}
	if v := strings.TrimSpace(h.ContainerEnvVar); v != "" {
		strong++
		switch v {
		case "oci", "1", "true":
		default:
			setEngine(v)
		}
		c.Evidence = append(c.Evidence, "$container="+v)
	}
	if h.Kubernetes {
		strong++
		setEngine("kubernetes")
		c.Evidence = append(c.Evidence, "$KUBERNETES_SERVICE_HOST is set")
	}
	for _, hint := range []struct{ word, engine string }{
		{"kubepods", "kubernetes"},
		{"libpod", "podman"},
		{"docker", "docker"},
		{"lxc", "lxc"},
		{"machine.slice/systemd-nspawn", "systemd-nspawn"},
		{"containerd", "containerd"},
	} {
		if strings.Contains(h.Init1Cgroup, hint.word) {
			strong++
			setEngine(hint.engine)
			c.Evidence = append(c.Evidence, "/proc/1/cgroup mentions "+hint.word)
			break
		}
	}
	if h.DockerEnv {
		weak++
		c.Evidence = append(c.Evidence, "/.dockerenv exists")
	}
	if h.RootFSType == "overlay" || h.RootFSType == "fuse-overlayfs" || h.RootFSType == "aufs" {
		weak++
		c.Evidence = append(c.Evidence, "/ is an "+h.RootFSType+" mount")
	}
	if h.HostnameMount {
		weak++
		c.Evidence = append(c.Evidence, "/etc/hostname is bind-mounted")
	}
	c.Inside = strong > 0 || weak >= 2
	if !c.Inside {
		return c
	}
	if engine == "" && h.DockerEnv {
		engine = "docker"
	}
	if engine == "" {
		engine = "container"
	}
	c.Engine = engine
	return c
}

// Seccomp modes as /proc/PID/status shows them.
const (
	SeccompUnknown  = -1
	SeccompDisabled = 0
	SeccompStrict   = 1
	SeccompFilter   = 2
)

// Cgroup layouts of /sys/fs/cgroup.
const (
	CgroupV1      = "v1"
	CgroupV2      = "v2"
	CgroupHybrid  = "hybrid"
	CgroupNone    = "none"
	CgroupUnknown = "unknown"
)

// File system magic numbers from <linux/magic.h>, spelled out so that the
// classification stays platform-free (checked against x/sys/unix in a test).
const (
	probeCgroup2Magic = 0x63677270
	probeCgroup1Magic = 0x0027e0eb
	probeTmpfsMagic   = 0x01021994
)

// ClassifyCgroup decides the cgroup layout from the statfs magic of
// /sys/fs/cgroup and of /sys/fs/cgroup/unified (0 when that is absent).
func ClassifyCgroup(rootMagic, unifiedMagic int64) string {
	switch rootMagic {
	case probeCgroup2Magic:
		return CgroupV2
	case probeCgroup1Magic:
		return CgroupV1
	case probeTmpfsMagic:
		if unifiedMagic == probeCgroup2Magic {
			return CgroupHybrid
		}
		return CgroupV1
	case 0:
		return CgroupNone
	}
	return CgroupUnknown
}

// Mount propagation types of a mount, as PropagationOf classifies them.
const (
	PropagationShared     = "shared"
	PropagationSlave      = "slave"
	PropagationPrivate    = "private"
	PropagationUnbindable = "unbindable"
)

// Sysctl names the doctor reads.
const (
	SysctlUnprivUserns      = "kernel.unprivileged_userns_clone"
	SysctlMaxUserNS         = "user.max_user_namespaces"
	SysctlAppArmorRestrict  = "kernel.apparmor_restrict_unprivileged_userns"
	sysctlMaxPrefix         = "user.max_"
	sysctlMaxSuffix         = "_namespaces"
	probeSuggestedNSMaximum = "15000"
)

// SysctlMaxFor names the per-kind limit, "user.max_net_namespaces".
func SysctlMaxFor(kind string) string { return sysctlMaxPrefix + kind + sysctlMaxSuffix }

// ProbeSysctls lists every sysctl ProbeMachine reads.
func ProbeSysctls() []string {
	out := []string{SysctlUnprivUserns, SysctlAppArmorRestrict}
	for _, k := range Kinds() {
		out = append(out, SysctlMaxFor(k.Name))
	}
	return out
}

// SysctlPath is the /proc/sys file of a sysctl name.
func SysctlPath(name string) string {
	return "/proc/sys/" + strings.ReplaceAll(name, ".", "/")
}

// Machine is what ProbeMachine found out about this machine and process.
type Machine struct {
	EUID int `json:"euid"`
	EGID int `json:"egid"`

	CapsKnown  bool   `json:"caps_known"`
	CapEff     uint64 `json:"cap_eff"`
	CapBnd     uint64 `json:"cap_bnd"`
	NoNewPrivs bool   `json:"no_new_privs"`
	Seccomp    int    `json:"seccomp"`            // SeccompUnknown, SeccompDisabled ...
	AppArmor   string `json:"apparmor,omitempty"` // this process's AppArmor label, "" without AppArmor

	KernelRelease string        `json:"kernel_release"`
	Kernel        KernelVersion `json:"kernel"`

	// Sysctls maps the names in ProbeSysctls to their values; a name that
	// is absent was not present on this kernel.
	Sysctls map[string]int64 `json:"sysctls"`

	Container       ContainerInfo `json:"container"`
	RootPropagation string        `json:"root_propagation,omitempty"` // PropagationShared ...; "" unknown
	Cgroup          string        `json:"cgroup"`                     // CgroupV2 ...

	Exe      string       `json:"exe"`                 // the nslab binary
	ExeErr   string       `json:"exe_error,omitempty"` // why it could not be read
	Baseline ProbeAttempt `json:"baseline"`            // re-exec with no new namespace

	Probes []KindProbe `json:"probes"` // one per Kinds(), in table order

	// Problems lists facts that could not be read; the checks treat them
	// as unknown.
	Problems []string `json:"problems,omitempty"`
}

// HasCap reports whether the effective set holds capability n (CAP_* number).
func (m Machine) HasCap(n int) bool { return m.CapsKnown && m.CapEff&(1<<uint(n)) != 0 }

// Probe returns the probe of one kind by name.
func (m Machine) Probe(kind string) (KindProbe, bool) {
	for _, p := range m.Probes {
		if p.Kind == kind {
			return p, true
		}
	}
	return KindProbe{}, false
}

// Sysctl returns the value of a sysctl ProbeMachine read; ok is false when
// the kernel has no such sysctl (or it could not be read).
func (m Machine) Sysctl(name string) (v int64, ok bool) {
	v, ok = m.Sysctls[name]
	return v, ok
}
