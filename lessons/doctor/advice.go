package doctor

import (
	"fmt"

	"github.com/nslab/nslab/sandbox"
)

// What to type, for every failure the doctor knows: its one table of
// advice. A check, a lesson's lock and CanCreate's sentence use the same
// line for the same cause. Verbs (%s) take the value named in the comment.
const (
	fixRerun           = "run `nslab doctor` again"
	fixSeeDoctor       = "run `nslab doctor` to see why"
	fixSeeCrosses      = "run `sudo nslab doctor` and check the lines marked ✗"
	fixSudo            = "run `sudo nslab`"
	fixSudoEvery       = "for every lesson run `sudo nslab`"
	fixSudoForCaps     = "run `sudo nslab` (rootless lessons work without them)"
	fixSudoRun         = "run `sudo nslab run %s`"                                         // lesson id
	fixSudoOrSysctl    = "run `sudo nslab`, or change the setting: `sudo sysctl -w %s=%s`" // sysctl, value
	fixSysctl          = "`sudo sysctl -w %s=%s`"                                          // sysctl, value
	fixReexec          = "run nslab from an executable file on a normal (not noexec) mount, e.g. `go build -o /usr/local/bin/nslab ./cmd/nslab`"
	fixKeepCaps        = "run nslab from a root shell that keeps every capability (`sudo -i`, then `nslab`)"
	fixContainer       = "restart the container with `%s run --rm -it --privileged IMAGE`, or at least `--cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add SYS_PTRACE --security-opt seccomp=unconfined --security-opt apparmor=unconfined`" // engine command
	fixKernel          = "use a machine with Linux %s or newer"                                                                                                                                                                             // minimum release
	fixSeccompStrict   = "run nslab outside the strict seccomp sandbox"
	fixSeccomp         = "run nslab outside that seccomp filter; in a container add `--security-opt seccomp=unconfined` (or use --privileged)"
	fixAppArmor        = "run nslab unconfined; in a container add `--security-opt apparmor=unconfined` (or use --privileged)"
	fixProc            = "make sure /proc is mounted (`mount -t proc proc /proc`)"
	fixProcSys         = "check that /proc/sys is mounted: `cat %s`" // sysctl path
	fixUname           = "check `uname -r`"
	suggestedNSMaximum = "15000" // what fixSysctl raises a limit of 0 to
)

// ContainerFix is the advice for a container that keeps nslab from
// creating namespaces: how to restart it, with the engine's own command.
func ContainerFix(m sandbox.Machine) string {
	engine := "docker"
	if m.Container.Engine == "podman" {
		engine = "podman"
	}
	return fmt.Sprintf(fixContainer, engine)
}

// raiseLimit is the fix for a namespace limit sysctl that is 0.
func raiseLimit(name string) string { return fmt.Sprintf(fixSysctl, name, suggestedNSMaximum) }
