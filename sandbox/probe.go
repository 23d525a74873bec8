package sandbox

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// This file turns the facts ProbeMachine gathers into the checks
// `nslab doctor` prints and the answers the lesson locks use. It is pure: the
// facts come in a Machine, so every decision is tested on fixture machines.

// Check severities: how much a failed check matters.
const (
	SeverityError = "error" // lessons cannot run until it is fixed
	SeverityWarn  = "warn"  // some lessons or the rootless path are affected
	SeverityInfo  = "info"  // worth knowing, nothing to fix
)

// Check is one line of `nslab doctor`.
type Check struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	OK       bool   `json:"ok"`
	Detail   string `json:"detail,omitempty"`
	Fix      string `json:"fix,omitempty"` // what to type; set when !OK
	Severity string `json:"severity"`      // SeverityError, SeverityWarn, SeverityInfo
}

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

// Mount propagation of a mount, from the optional fields of mountinfo.
const (
	PropagationShared     = "shared"
	PropagationSlave      = "slave"
	PropagationPrivate    = "private"
	PropagationUnbindable = "unbindable"
)

// PropagationOf reads the propagation type out of a mountinfo optional
// fields string ("shared:1 master:2"). No field means private.
func PropagationOf(optional string) string {
	shared, slave := false, false
	for _, f := range strings.Fields(optional) {
		tag, _, _ := strings.Cut(f, ":")
		switch tag {
		case "shared":
			shared = true
		case "master":
			slave = true
		case "unbindable":
			return PropagationUnbindable
		}
	}
	switch {
	case shared:
		// "shared:1 master:2" is shared and slave at once; for nslab what
		// matters is that mounts would propagate out.
		return PropagationShared
	case slave:
		return PropagationSlave
	}
	return PropagationPrivate
}

// ProcStatus holds the lines of /proc/PID/status the doctor needs.
type ProcStatus struct {
	CapEff, CapPrm, CapBnd uint64
	NoNewPrivs             bool
	Seccomp                int
}

// ParseProcStatus reads /proc/PID/status text. Missing fields keep their
// zero value, except Seccomp, which is SeccompUnknown unless present.
func ParseProcStatus(text string) (ProcStatus, error) {
	st := ProcStatus{Seccomp: SeccompUnknown}
	seen := false
	for _, line := range strings.Split(text, "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		var err error
		switch key {
		case "CapEff":
			st.CapEff, err = strconv.ParseUint(val, 16, 64)
			seen = true
		case "CapPrm":
			st.CapPrm, err = strconv.ParseUint(val, 16, 64)
		case "CapBnd":
			st.CapBnd, err = strconv.ParseUint(val, 16, 64)
		case "NoNewPrivs":
			st.NoNewPrivs = val == "1"
		case "Seccomp":
			st.Seccomp, err = strconv.Atoi(val)
		}
		if err != nil {
			return st, fmt.Errorf("/proc status %s: %w", key, err)
		}
	}
	if !seen {
		return st, fmt.Errorf("/proc status: no CapEff line: %w", ErrBadInput)
	}
	return st, nil
}

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

func (m Machine) sysctl(name string) (int64, bool) {
	v, ok := m.Sysctls[name]
	return v, ok
}

// Capability numbers the doctor cares about (<linux/capability.h>).
const (
	probeCapSetGID    = 6
	probeCapSetUID    = 7
	probeCapNetAdmin  = 12
	probeCapSysChroot = 18
	probeCapSysPtrace = 19
	probeCapSysAdmin  = 21
)

// capsThatMatter lists the capabilities nslab's lessons use and why.
func capsThatMatter() []struct {
	n   int
	why string
} {
	return []struct {
		n   int
		why string
	}{
		{probeCapSysAdmin, "create namespaces, mount, set the hostname"},
		{probeCapNetAdmin, "configure links, addresses and routes"},
		{probeCapSysPtrace, "look into other processes' /proc/PID/ns"},
		{probeCapSysChroot, "setns(2) into a mount namespace"},
		{probeCapSetUID, "write a user namespace's uid_map"},
		{probeCapSetGID, "write a user namespace's gid_map"},
	}
}

func (m Machine) missingCaps() []string {
	var out []string
	for _, c := range capsThatMatter() {
		if !m.HasCap(c.n) {
			out = append(out, CapName(c.n))
		}
	}
	return out
}

func (m Machine) isRoot() bool { return m.EUID == 0 }

// engineCmd is the container engine's command for the fix lines.
func (m Machine) engineCmd() string {
	if m.Container.Engine == "podman" {
		return "podman"
	}
	return "docker"
}

// ContainerFix is the flags a container needs for nslab, spelled out.
func (m Machine) ContainerFix() string {
	e := m.engineCmd()
	return fmt.Sprintf("restart the container with `%s run --rm -it --privileged IMAGE`, or at least "+
		"`--cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add SYS_PTRACE --security-opt seccomp=unconfined --security-opt apparmor=unconfined`", e)
}

// kindsFailing reports whether a clone of some kind failed both ways.
func (m Machine) anyBlocked() bool {
	for _, p := range m.Probes {
		if p.Direct.Tried && !p.Direct.OK && !(p.Rootless.Tried && p.Rootless.OK) {
			return true
		}
	}
	return false
}

// anyDirectFailed reports whether some kind's direct clone was refused.
func (m Machine) anyDirectFailed() bool {
	for _, p := range m.Probes {
		if p.Direct.Tried && !p.Direct.OK {
			return true
		}
	}
	return false
}

// confinedContainer reports whether this is a container that keeps nslab
// from creating namespaces as root.
func (m Machine) confinedContainer() bool {
	return m.Container.Inside && (!m.HasCap(probeCapSysAdmin) || m.anyDirectFailed())
}

// blocker explains why no clone of kind p worked: the reason, and the fix
// to type. It looks for the cause in order of how specific it is.
func (m Machine) blocker(p KindProbe) (reason, fix string) {
	k, _ := KindByName(p.Kind)
	errno := p.Direct.Errno
	if errno == "" {
		errno = p.Direct.Result()
	}
	if m.Baseline.Tried && !m.Baseline.OK {
		return fmt.Sprintf("nslab cannot start a copy of itself through /proc/self/exe (%s)", m.Baseline.Result()),
			"run nslab from an executable file on a normal (not noexec) mount, e.g. `go build -o /usr/local/bin/nslab ./cmd/nslab`"
	}
	if v, ok := m.sysctl(SysctlMaxFor(p.Kind)); ok && v == 0 {
		return fmt.Sprintf("the limit %s is 0, so the kernel refuses every new %s namespace (ENOSPC), even for root", SysctlMaxFor(p.Kind), p.Kind),
			fmt.Sprintf("`sudo sysctl -w %s=%s`", SysctlMaxFor(p.Kind), probeSuggestedNSMaximum)
	}
	if k.Flag == CloneNewTime && !m.Kernel.IsZero() && !m.Kernel.AtLeast(5, 6) {
		return fmt.Sprintf("time namespaces need Linux 5.6 or newer and this kernel is %s", m.KernelRelease),
			"run the time lesson on a machine with Linux 5.6 or newer"
	}
	if m.Container.Inside && (m.confinedContainer() || !m.isRoot()) {
		return fmt.Sprintf("this %s container does not allow creating namespaces (clone gave %s)", m.Container.Engine, errno),
			m.ContainerFix()
	}
	if !m.isRoot() {
		rootless := p.Rootless.Result()
		switch {
		case m.sysctlIs(SysctlUnprivUserns, 0):
			return "it needs root, and unprivileged user namespaces are switched off (kernel.unprivileged_userns_clone=0)",
				"run `sudo nslab`, or allow them: `sudo sysctl -w kernel.unprivileged_userns_clone=1`"
		case m.sysctlIs(SysctlMaxUserNS, 0):
			return "it needs root, and user namespaces are switched off (user.max_user_namespaces=0)",
				"run `sudo nslab`, or allow them: `sudo sysctl -w user.max_user_namespaces=" + probeSuggestedNSMaximum + "`"
		case m.sysctlIs(SysctlAppArmorRestrict, 1):
			return "it needs root, and AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1)",
				"run `sudo nslab`, or lift the restriction: `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`"
		}
		return fmt.Sprintf("it needs CAP_SYS_ADMIN, which uid %d lacks, and the rootless path through a user namespace failed too (%s)", m.EUID, rootless),
			"run `sudo nslab`"
	}
	if !m.HasCap(probeCapSysAdmin) && m.CapsKnown {
		reason = "nslab runs as root but without CAP_SYS_ADMIN"
		if m.CapBnd&(1<<probeCapSysAdmin) == 0 {
			reason += ", and not even the bounding set holds it, so sudo cannot bring it back"
		}
		return reason, "run nslab from a root shell that keeps every capability (`sudo -i`, then `nslab`), or start its container with --privileged"
	}
	if m.Seccomp == SeccompFilter {
		return fmt.Sprintf("a seccomp filter on this process refuses it (clone gave %s)", errno),
			"run nslab outside that filter; in a container add `--security-opt seccomp=unconfined`"
	}
	if m.AppArmor != "" && m.AppArmor != "unconfined" && errno == "EACCES" {
		return fmt.Sprintf("the AppArmor profile %q refuses it", m.AppArmor),
			"run nslab unconfined; in a container add `--security-opt apparmor=unconfined`"
	}
	fix = ErrnoAdvice(errno)
	if fix == "" {
		fix = "run `sudo nslab doctor` and check the lines marked ✗"
	}
	return fmt.Sprintf("the kernel refused it with %s", errno), fix
}

func (m Machine) sysctlIs(name string, want int64) bool {
	v, ok := m.sysctl(name)
	return ok && v == want
}

// CanCreate says whether this machine can give a sandbox the namespaces in
// flags (CLONE_NEW* bits), and whether it does so rootless: without root,
// through a user namespace (for a caller other than root every success is
// rootless; CLONE_NEWUSER alone needs no privilege). When it cannot, why is
// one sentence for a learner with the fix to type. It judges each kind by
// the probe's throwaway child; an unprobed kind counts as impossible.
func (m Machine) CanCreate(flags uintptr) (ok bool, rootless bool, why string) {
	kinds := KindsIn(flags)
	if len(kinds) == 0 {
		return true, false, ""
	}
	probes := make([]KindProbe, 0, len(kinds))
	for _, k := range kinds {
		p, found := m.Probe(k.Name)
		if !found || !p.Direct.Tried {
			return false, false, fmt.Sprintf("nslab could not test new %s namespaces on this machine: run `nslab doctor` to see why.", k.Name)
		}
		probes = append(probes, p)
	}
	direct, viaUser := true, true
	for _, p := range probes {
		direct = direct && p.Direct.OK
		viaUser = viaUser && p.Rootless.OK
	}
	if direct {
		return true, !m.isRoot(), ""
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
	reason, fix := m.blocker(culprit)
	return false, false, fmt.Sprintf("nslab cannot create a new %s namespace here: %s; %s.", culprit.Kind, reason, fix)
}

// Checks turns the facts into the doctor's checks, in the order it prints
// them.
func (m Machine) Checks() []Check {
	var out []Check
	out = append(out, m.checkUser(), m.checkCaps(), m.checkExe())
	out = append(out, m.checkKinds()...)
	out = append(out, m.checkUnprivUserns(), m.checkMaxUserNS(), m.checkAppArmorSysctl(), m.checkLimits())
	out = append(out, m.checkContainer(), m.checkSeccomp(), m.checkAppArmorProfile())
	out = append(out, m.checkPropagation(), m.checkTimeNS(), m.checkPidfd(), m.checkCgroup())
	return out
}

func (m Machine) checkUser() Check {
	c := Check{ID: "user", Title: "effective user", Severity: SeverityInfo}
	if m.isRoot() {
		c.OK = true
		c.Detail = "root (uid 0)"
		return c
	}
	c.Severity = SeverityWarn
	c.Detail = fmt.Sprintf("uid %d, not root: lessons that need privilege go through a user namespace where the kernel allows it", m.EUID)
	c.Fix = "for every lesson run `sudo nslab`"
	return c
}

func (m Machine) checkCaps() Check {
	c := Check{ID: "caps", Title: "capabilities that matter", Severity: SeverityInfo}
	if !m.CapsKnown {
		c.Severity = SeverityWarn
		c.Detail = "could not read CapEff from /proc/self/status"
		c.Fix = "make sure /proc is mounted (`mount -t proc proc /proc`)"
		return c
	}
	missing := m.missingCaps()
	if len(missing) == 0 {
		c.OK = true
		var names []string
		for _, cm := range capsThatMatter() {
			names = append(names, CapName(cm.n))
		}
		c.Detail = "has " + strings.Join(names, " ")
		return c
	}
	c.Detail = "missing " + strings.Join(missing, " ")
	switch {
	case !m.isRoot():
		c.Severity = SeverityWarn
		c.Fix = "run `sudo nslab` (rootless lessons work without them)"
	case m.Container.Inside:
		c.Severity = SeverityError
		c.Detail += fmt.Sprintf(": root in a %s container started without privileges", m.Container.Engine)
		c.Fix = m.ContainerFix()
	default:
		c.Severity = SeverityError
		c.Detail += ": root, but capabilities were dropped"
		if m.CapBnd&(1<<probeCapSysAdmin) == 0 {
			c.Detail += " (not even in the bounding set, so sudo cannot bring them back)"
		}
		c.Fix = "run nslab from a root shell that keeps every capability (`sudo -i`, then `nslab`)"
	}
	return c
}

func (m Machine) checkExe() Check {
	c := Check{ID: "exe", Title: "nslab can re-execute itself", Severity: SeverityError}
	switch {
	case m.Baseline.OK:
		c.OK = true
		c.Severity = SeverityInfo
		c.Detail = m.Exe + " starts through /proc/self/exe"
	case !m.Baseline.Tried:
		c.Detail = "not tested: " + m.Baseline.Err
		c.Fix = "run `nslab doctor` again"
	default:
		c.Detail = fmt.Sprintf("/proc/self/exe (%s) failed: %s", m.Exe, m.Baseline.Result())
		if m.ExeErr != "" {
			c.Detail += "; " + m.ExeErr
		}
		c.Fix = "run nslab from an executable file on a normal (not noexec) mount, e.g. `go build -o /usr/local/bin/nslab ./cmd/nslab`"
	}
	return c
}

func (m Machine) checkKinds() []Check {
	var out []Check
	for _, k := range Kinds() {
		c := Check{ID: "ns." + k.Name, Title: fmt.Sprintf("new %s namespace (%s)", k.Name, k.FlagName), Severity: SeverityInfo}
		p, ok := m.Probe(k.Name)
		withUser := k.FlagName
		if k.Flag != CloneNewUser {
			withUser = "CLONE_NEWUSER|" + k.FlagName
		}
		switch {
		case !ok || !p.Direct.Tried:
			c.Severity = SeverityWarn
			c.Detail = "not tested"
			if ok && p.Direct.Err != "" {
				c.Detail += ": " + p.Direct.Err
			}
			c.Fix = "run `nslab doctor` again"
		case p.Direct.OK:
			c.OK = true
			c.Detail = fmt.Sprintf("clone(%s) = 0", k.FlagName)
			if k.Flag != CloneNewUser && p.Rootless.Tried {
				c.Detail += fmt.Sprintf("; clone(%s) = %s", withUser, p.Rootless.Result())
			}
		case p.Rootless.OK:
			c.OK = true
			c.Detail = fmt.Sprintf("clone(%s) = %s, but clone(%s) = 0: rootless through a user namespace", k.FlagName, p.Direct.Result(), withUser)
		default:
			c.Severity = SeverityError
			if k.Flag == CloneNewTime {
				c.Severity = SeverityWarn // only the time lesson needs it
			}
			reason, fix := m.blocker(p)
			c.Detail = fmt.Sprintf("clone(%s) = %s", k.FlagName, p.Direct.Result())
			if k.Flag != CloneNewUser {
				c.Detail += fmt.Sprintf("; clone(%s) = %s", withUser, p.Rootless.Result())
			}
			c.Detail += ": " + reason
			c.Fix = fix
		}
		out = append(out, c)
	}
	return out
}

// rootlessSeverity is how much a switch that only hurts the rootless path
// matters: a warning for root, an error for anyone else.
func (m Machine) rootlessSeverity() string {
	if m.isRoot() {
		return SeverityWarn
	}
	return SeverityError
}

func (m Machine) checkUnprivUserns() Check {
	c := Check{ID: "userns.unprivileged", Title: "unprivileged user namespaces (" + SysctlUnprivUserns + ")", Severity: SeverityInfo}
	v, ok := m.sysctl(SysctlUnprivUserns)
	switch {
	case !ok:
		c.OK = true
		c.Detail = "not present on this kernel: the limits in user.max_*_namespaces decide"
	case v != 0:
		c.OK = true
		c.Detail = fmt.Sprintf("%s = %d: allowed", SysctlUnprivUserns, v)
	default:
		c.Severity = m.rootlessSeverity()
		c.Detail = SysctlUnprivUserns + " = 0: only root may create user namespaces, so nothing works rootless"
		c.Fix = "`sudo sysctl -w kernel.unprivileged_userns_clone=1` (or run `sudo nslab`)"
	}
	return c
}

func (m Machine) checkMaxUserNS() Check {
	c := Check{ID: "userns.max", Title: "user namespace limit (" + SysctlMaxUserNS + ")", Severity: SeverityInfo}
	v, ok := m.sysctl(SysctlMaxUserNS)
	switch {
	case !ok:
		c.Severity = SeverityWarn
		c.Detail = "could not read " + SysctlPath(SysctlMaxUserNS)
		c.Fix = "check that /proc/sys is mounted: `cat " + SysctlPath(SysctlMaxUserNS) + "`"
	case v > 0:
		c.OK = true
		c.Detail = fmt.Sprintf("%s = %d", SysctlMaxUserNS, v)
	default:
		c.Severity = SeverityError
		c.Detail = SysctlMaxUserNS + " = 0: no one, not even root, may create a user namespace"
		c.Fix = "`sudo sysctl -w " + SysctlMaxUserNS + "=" + probeSuggestedNSMaximum + "`"
	}
	return c
}

func (m Machine) checkAppArmorSysctl() Check {
	c := Check{ID: "userns.apparmor", Title: "AppArmor user namespace restriction (" + SysctlAppArmorRestrict + ")", Severity: SeverityInfo}
	v, ok := m.sysctl(SysctlAppArmorRestrict)
	switch {
	case !ok:
		c.OK = true
		c.Detail = "not present on this kernel: no such restriction"
	case v == 0:
		c.OK = true
		c.Detail = SysctlAppArmorRestrict + " = 0"
	default:
		c.Severity = m.rootlessSeverity()
		c.Detail = fmt.Sprintf("%s = %d: unprivileged user namespaces get no capabilities (Ubuntu 23.10 and later)", SysctlAppArmorRestrict, v)
		c.Fix = "`sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` (or run `sudo nslab`)"
	}
	return c
}

func (m Machine) checkLimits() Check {
	c := Check{ID: "ns.limits", Title: "per-kind namespace limits (user.max_<kind>_namespaces)", Severity: SeverityInfo}
	var zero, seen []string
	lowest, lowestName := int64(-1), ""
	for _, k := range Kinds() {
		if k.Flag == CloneNewUser {
			continue // its own check
		}
		name := SysctlMaxFor(k.Name)
		v, ok := m.sysctl(name)
		if !ok {
			continue
		}
		seen = append(seen, name)
		if v == 0 {
			zero = append(zero, name)
		}
		if lowest < 0 || v < lowest {
			lowest, lowestName = v, name
		}
	}
	switch {
	case len(zero) > 0:
		c.Severity = SeverityError
		c.Detail = strings.Join(zero, ", ") + " = 0: the kernel refuses those kinds to everyone (ENOSPC)"
		var cmds []string
		for _, z := range zero {
			cmds = append(cmds, "`sudo sysctl -w "+z+"="+probeSuggestedNSMaximum+"`")
		}
		c.Fix = strings.Join(cmds, " and ")
	case len(seen) == 0:
		c.OK = true
		c.Detail = "no per-kind limits readable"
	default:
		c.OK = true
		c.Detail = fmt.Sprintf("all above 0 (lowest %s = %d)", lowestName, lowest)
	}
	return c
}

func (m Machine) checkContainer() Check {
	c := Check{ID: "container", Title: "container", Severity: SeverityInfo, OK: true}
	if !m.Container.Inside {
		c.Detail = "not inside a container"
		if len(m.Container.Evidence) > 0 {
			c.Detail += " (" + strings.Join(m.Container.Evidence, ", ") + ", but nothing else suggests one)"
		}
		return c
	}
	c.Detail = fmt.Sprintf("inside %s (%s)", m.Container.Engine, strings.Join(m.Container.Evidence, ", "))
	if m.confinedContainer() && (m.isRoot() || m.anyBlocked()) {
		c.OK = false
		c.Severity = SeverityError
		var why []string
		if !m.HasCap(probeCapSysAdmin) {
			why = append(why, "no CAP_SYS_ADMIN")
		}
		if m.Seccomp == SeccompFilter {
			why = append(why, "a seccomp filter")
		}
		if m.AppArmor != "" && m.AppArmor != "unconfined" {
			why = append(why, "AppArmor profile "+m.AppArmor)
		}
		if len(why) > 0 {
			c.Detail += ": " + strings.Join(why, " and ") + " keep nslab from creating namespaces as root"
		}
		c.Fix = m.ContainerFix()
		return c
	}
	c.Detail += ": it lets nslab create namespaces"
	return c
}

func (m Machine) checkSeccomp() Check {
	c := Check{ID: "seccomp", Title: "seccomp", Severity: SeverityInfo, OK: true}
	switch m.Seccomp {
	case SeccompDisabled:
		c.Detail = "no filter"
	case SeccompStrict:
		c.OK = false
		c.Severity = SeverityError
		c.Detail = "strict mode: only read, write, exit and sigreturn are allowed"
		c.Fix = "run nslab outside the strict seccomp sandbox"
	case SeccompFilter:
		c.Detail = "a filter is active (Seccomp: 2)"
		if m.anyDirectFailed() && (m.HasCap(probeCapSysAdmin) || m.Container.Inside) {
			c.OK = false
			c.Severity = SeverityWarn
			c.Detail += " and namespace creation was refused; container engines' default profiles refuse clone, unshare and setns with namespace flags unless the container has CAP_SYS_ADMIN"
			c.Fix = "in a container add `--security-opt seccomp=unconfined` (or use --privileged)"
		} else {
			c.Detail += ", and it lets namespace creation through"
		}
	default:
		c.Detail = "unknown (no Seccomp line in /proc/self/status)"
	}
	return c
}

func (m Machine) checkAppArmorProfile() Check {
	c := Check{ID: "apparmor", Title: "AppArmor profile", Severity: SeverityInfo, OK: true}
	switch {
	case m.AppArmor == "":
		c.Detail = "AppArmor is not active for this process"
	case m.AppArmor == "unconfined":
		c.Detail = "unconfined"
	case m.anyDirectFailed() && m.Container.Inside:
		c.OK = false
		c.Severity = SeverityWarn
		c.Detail = m.AppArmor + ": a container profile such as docker-default forbids mount(2) and more"
		c.Fix = "add `--security-opt apparmor=unconfined` (or use --privileged)"
	default:
		c.Detail = m.AppArmor
	}
	return c
}

func (m Machine) checkPropagation() Check {
	c := Check{ID: "propagation", Title: "mount propagation of /", Severity: SeverityInfo, OK: true}
	switch m.RootPropagation {
	case PropagationShared:
		c.Detail = "/ is shared (usual with systemd): fine, nslab makes every new mount namespace recursively private (MS_REC|MS_PRIVATE) before it mounts anything, so nothing propagates back"
	case PropagationSlave:
		c.Detail = "/ is a slave: host mounts propagate in, none out; nslab still makes its mount namespaces private"
	case PropagationPrivate, PropagationUnbindable:
		c.Detail = "/ is " + m.RootPropagation + ": nothing propagates; nslab still makes its mount namespaces private"
	default:
		c.Detail = "unknown (could not read /proc/self/mountinfo); nslab makes its mount namespaces private either way"
	}
	return c
}

func (m Machine) kernelCheck(id, title string, major, minor int, what string) Check {
	c := Check{ID: id, Title: title, Severity: SeverityInfo}
	switch {
	case m.Kernel.IsZero():
		c.Severity = SeverityWarn
		c.Detail = fmt.Sprintf("kernel version unknown (%q)", m.KernelRelease)
		c.Fix = "check `uname -r`"
	case m.Kernel.AtLeast(major, minor):
		c.OK = true
		c.Detail = fmt.Sprintf("Linux %s ≥ %d.%d", m.KernelRelease, major, minor)
	default:
		c.Severity = SeverityWarn
		c.Detail = fmt.Sprintf("Linux %s < %d.%d: %s", m.KernelRelease, major, minor, what)
		c.Fix = fmt.Sprintf("use a machine with Linux %d.%d or newer", major, minor)
	}
	return c
}

func (m Machine) checkTimeNS() Check {
	return m.kernelCheck("kernel.timens", "kernel for time namespaces (5.6)", 5, 6, "the time lesson cannot run")
}

func (m Machine) checkPidfd() Check {
	return m.kernelCheck("kernel.pidfd", "kernel for setns(2) with a pidfd (5.8)", 5, 8, "joining through a pidfd is not possible, /proc/PID/ns files still work")
}

func (m Machine) checkCgroup() Check {
	c := Check{ID: "cgroup", Title: "cgroup layout", Severity: SeverityInfo, OK: true}
	switch m.Cgroup {
	case CgroupV2:
		c.Detail = "cgroup v2 (unified)"
	case CgroupHybrid:
		c.Detail = "hybrid: v1 controllers, v2 at /sys/fs/cgroup/unified"
	case CgroupV1:
		c.Detail = "cgroup v1"
	case CgroupNone:
		c.Detail = "/sys/fs/cgroup is not mounted: cgroup namespaces still work, but there is little to see"
	default:
		c.Detail = "unknown"
	}
	return c
}

// FailedChecks returns the checks that are not OK with at least the given
// severity order (error > warn > info), sorted error first.
func FailedChecks(checks []Check, atLeast string) []Check {
	rank := map[string]int{SeverityInfo: 0, SeverityWarn: 1, SeverityError: 2}
	var out []Check
	for _, c := range checks {
		if !c.OK && rank[c.Severity] >= rank[atLeast] {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return rank[out[i].Severity] > rank[out[j].Severity] })
	return out
}
