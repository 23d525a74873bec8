package doctor

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nslab/nslab/sandbox"
)

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

// checkFunc turns the facts into one or more lines of the doctor.
type checkFunc func(f facts) []Check

// one adapts a check that makes a single line.
func one(c func(facts) Check) checkFunc { return func(f facts) []Check { return []Check{c(f)} } }

// checkList is every check, in the order the doctor prints them.
func checkList() []checkFunc {
	return []checkFunc{
		one(checkUser), one(checkCaps), one(checkExe),
		checkKinds,
		one(checkUnprivUserns), one(checkMaxUserNS), one(checkAppArmorSysctl), one(checkLimits),
		one(checkContainer), one(checkSeccomp), one(checkAppArmorProfile),
		one(checkPropagation), one(checkTimeNS), one(checkPidfd), one(checkCgroup),
	}
}

// Checks turns the machine's facts into the doctor's checks, in the order
// it prints them.
func Checks(m sandbox.Machine) []Check {
	f := facts{m}
	var out []Check
	for _, c := range checkList() {
		out = append(out, c(f)...)
	}
	return out
}

// FailedChecks returns the checks that are not OK with at least the given
// severity (error > warn > info), error first.
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

func checkUser(f facts) Check {
	c := Check{ID: "user", Title: "effective user", Severity: SeverityInfo}
	if f.isRoot() {
		c.OK = true
		c.Detail = "root (uid 0)"
		return c
	}
	c.Severity = SeverityWarn
	c.Detail = fmt.Sprintf("uid %d, not root: lessons that need privilege go through a user namespace where the kernel allows it", f.EUID)
	c.Fix = fixSudoEvery
	return c
}

func checkCaps(f facts) Check {
	c := Check{ID: "caps", Title: "capabilities that matter", Severity: SeverityInfo}
	if !f.CapsKnown {
		c.Severity = SeverityWarn
		c.Detail = "could not read CapEff from /proc/self/status"
		c.Fix = fixProc
		return c
	}
	missing := f.missingCaps()
	if len(missing) == 0 {
		c.OK = true
		var names []string
		for _, cm := range capsThatMatter() {
			names = append(names, cm.name)
		}
		c.Detail = "has " + strings.Join(names, " ")
		return c
	}
	c.Detail = "missing " + strings.Join(missing, " ")
	switch {
	case !f.isRoot():
		c.Severity = SeverityWarn
		c.Fix = fixSudoForCaps
	case f.Container.Inside:
		c.Severity = SeverityError
		c.Detail += fmt.Sprintf(": root in a %s container started without privileges", f.Container.Engine)
		c.Fix = ContainerFix(f.Machine)
	default:
		c.Severity = SeverityError
		c.Detail += ": root, but capabilities were dropped"
		if !f.bounded("CAP_SYS_ADMIN") {
			c.Detail += " (not even in the bounding set, so sudo cannot bring them back)"
		}
		c.Fix = fixKeepCaps
	}
	return c
}

func checkExe(f facts) Check {
	c := Check{ID: "exe", Title: "nslab can re-execute itself", Severity: SeverityError}
	switch {
	case f.Baseline.OK:
		c.OK = true
		c.Severity = SeverityInfo
		c.Detail = f.Exe + " starts through /proc/self/exe"
	case !f.Baseline.Tried:
		c.Detail = "not tested: " + f.Baseline.Err
		c.Fix = fixRerun
	default:
		c.Detail = fmt.Sprintf("/proc/self/exe (%s) failed: %s", f.Exe, f.Baseline.Result())
		if f.ExeErr != "" {
			c.Detail += "; " + f.ExeErr
		}
		c.Fix = fixReexec
	}
	return c
}

// checkKinds makes one line per namespace kind, from its probe.
func checkKinds(f facts) []Check {
	var out []Check
	for _, k := range sandbox.Kinds() {
		c := Check{ID: "ns." + k.Name, Title: fmt.Sprintf("new %s namespace (%s)", k.Name, k.FlagName), Severity: SeverityInfo}
		p, ok := f.Probe(k.Name)
		withUser := k.FlagName
		if k.Flag != sandbox.CloneNewUser {
			withUser = "CLONE_NEWUSER|" + k.FlagName
		}
		switch {
		case !ok || !p.Direct.Tried:
			c.Severity = SeverityWarn
			c.Detail = "not tested"
			if ok && p.Direct.Err != "" {
				c.Detail += ": " + p.Direct.Err
			}
			c.Fix = fixRerun
		case p.Direct.OK:
			c.OK = true
			c.Detail = fmt.Sprintf("clone(%s) = 0", k.FlagName)
			if k.Flag != sandbox.CloneNewUser && p.Rootless.Tried {
				c.Detail += fmt.Sprintf("; clone(%s) = %s", withUser, p.Rootless.Result())
			}
		case p.Rootless.OK:
			c.OK = true
			c.Detail = fmt.Sprintf("clone(%s) = %s, but clone(%s) = 0: rootless through a user namespace", k.FlagName, p.Direct.Result(), withUser)
		default:
			c.Severity = SeverityError
			if k.Flag == sandbox.CloneNewTime {
				c.Severity = SeverityWarn // only the time lesson needs it
			}
			reason, fix := f.blocker(p)
			c.Detail = fmt.Sprintf("clone(%s) = %s", k.FlagName, p.Direct.Result())
			if k.Flag != sandbox.CloneNewUser {
				c.Detail += fmt.Sprintf("; clone(%s) = %s", withUser, p.Rootless.Result())
			}
			c.Detail += ": " + reason
			c.Fix = fix
		}
		out = append(out, c)
	}
	return out
}

// rootlessSwitch is a sysctl that, at one value, closes the rootless
// path: the kernel then gives no one but root a working user namespace.
type rootlessSwitch struct {
	name string
	off  int64  // the value that closes the path
	on   string // the value the fix sets
	what string // what off means, for a learner
}

// rootlessSwitches is every such sysctl, in the order blame is looked for.
func rootlessSwitches() []rootlessSwitch {
	return []rootlessSwitch{
		{sandbox.SysctlUnprivUserns, 0, "1", "unprivileged user namespaces are switched off"},
		{sandbox.SysctlMaxUserNS, 0, suggestedNSMaximum, "user namespaces are switched off"},
		{sandbox.SysctlAppArmorRestrict, 1, "0", "AppArmor restricts unprivileged user namespaces"},
	}
}

func (s rootlessSwitch) fix() string { return fmt.Sprintf(fixSudoOrSysctl, s.name, s.on) }

// switchCheck checks one rootless switch; absent says what a kernel
// without the sysctl means, offDetail what its closed value does.
func switchCheck(f facts, id, title string, s rootlessSwitch, absent, offDetail string) Check {
	c := Check{ID: id, Title: title + " (" + s.name + ")", Severity: SeverityInfo}
	v, ok := f.Sysctl(s.name)
	switch {
	case !ok:
		c.OK = true
		c.Detail = "not present on this kernel: " + absent
	case v != s.off:
		c.OK = true
		c.Detail = fmt.Sprintf("%s = %d", s.name, v)
	default:
		c.Severity = f.rootlessSeverity()
		c.Detail = fmt.Sprintf("%s = %d: %s", s.name, v, offDetail)
		c.Fix = s.fix()
	}
	return c
}

func checkUnprivUserns(f facts) Check {
	return switchCheck(f, "userns.unprivileged", "unprivileged user namespaces", rootlessSwitches()[0],
		"the limits in user.max_*_namespaces decide",
		"only root may create user namespaces, so nothing works rootless")
}

func checkAppArmorSysctl(f facts) Check {
	return switchCheck(f, "userns.apparmor", "AppArmor user namespace restriction", rootlessSwitches()[2],
		"no such restriction",
		"unprivileged user namespaces get no capabilities (Ubuntu 23.10 and later)")
}

func checkMaxUserNS(f facts) Check {
	const name = sandbox.SysctlMaxUserNS
	c := Check{ID: "userns.max", Title: "user namespace limit (" + name + ")", Severity: SeverityInfo}
	v, ok := f.Sysctl(name)
	switch {
	case !ok:
		c.Severity = SeverityWarn
		c.Detail = "could not read " + sandbox.SysctlPath(name)
		c.Fix = fmt.Sprintf(fixProcSys, sandbox.SysctlPath(name))
	case v > 0:
		c.OK = true
		c.Detail = fmt.Sprintf("%s = %d", name, v)
	default:
		c.Severity = SeverityError
		c.Detail = name + " = 0: no one, not even root, may create a user namespace"
		c.Fix = raiseLimit(name)
	}
	return c
}

func checkLimits(f facts) Check {
	c := Check{ID: "ns.limits", Title: "per-kind namespace limits (user.max_<kind>_namespaces)", Severity: SeverityInfo}
	var zero, seen []string
	lowest, lowestName := int64(-1), ""
	for _, k := range sandbox.Kinds() {
		if k.Flag == sandbox.CloneNewUser {
			continue // its own check
		}
		name := sandbox.SysctlMaxFor(k.Name)
		v, ok := f.Sysctl(name)
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
			cmds = append(cmds, raiseLimit(z))
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
