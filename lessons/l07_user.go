package lessons

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"strconv"
	"strings"

	"github.com/nslab/nslab/sandbox"
)

// Keys of the values the user lesson keeps (Run.Set during Perform, and
// its live Extra), and the names it uses.
const (
	u7CallerUID    = "user.caller_uid"     // nslab's own effective uid
	u7CapLast      = "user.cap_last_cap"   // /proc/sys/kernel/cap_last_cap
	u7OutsideUID   = "user.outside_uid"    // the agent's effective uid in the host's /proc/PID/status
	u7OutsideGID   = "user.outside_gid"    // the same for its gid
	u7JoinHost     = "user.join_host_uts"  // outcome of setns into nslab's own UTS namespace
	u7JoinCall     = "user.join_host_call" // the traced call the kernel refused: openat or setns
	u7UTSBefore    = "user.uts_before"     // the agent's uts identity before unshare
	u7Unshare      = "user.unshare_uts"    // outcome of unshare(CLONE_NEWUTS) by the agent
	u7HostHostname = "user.host_hostname"  // the host's hostname during Perform
	u7BothFlags    = "user.both_flags"     // the second sandbox's clone flags
	u7BothSet      = "user.both_sethostname"
	u7BothHostname = "user.both_hostname"
	u7BothUTS      = "user.both_uts"  // the second sandbox's uts identity
	u7BothUser     = "user.both_user" // and its user namespace
	u7BothUID      = "user.both_euid" // its effective uid inside
	u7BothName     = "both"           // the hostname the second sandbox gives itself
	u7Challenge    = "userlab"        // the hostname the challenge asks for
	u7StatusPrefix = "/proc/"         // where the host reads an agent's status
	u7Nobody       = 65534            // the uid root is mapped to when nslab runs as root
	u7CapSysAdmin  = "CAP_SYS_ADMIN"
)

// userLogic: clone(CLONE_NEWUSER) with uid 0 inside mapped to nobody (as
// root) or the learner's uid: root with every capability inside, an
// unprivileged user outside; its capabilities do not reach the host's
// namespaces, yet they let it create (and own) a UTS namespace; and one
// clone(CLONE_NEWUSER|CLONE_NEWUTS) does both at once.
func userLogic() Logic {
	return Logic{
		Spec: sandbox.Spec{Flags: sandbox.CloneNewUser, Rootless: sandbox.RootlessAlways,
			MapRootToNobody: os.Geteuid() == 0, Label: "user"},
		Perform: userPerform,
		Views:   []sandbox.View{sandbox.ViewIDs, sandbox.ViewUser, sandbox.ViewUTS},
		Extra:   userExtra,
		Facts:   userFacts,
		Prediction: Prediction{
			Question: "nslab clones an agent with CLONE_NEWUSER and maps uid 0 inside to one unprivileged uid outside " +
				"(65534, nobody, when nslab runs as root; your own uid otherwise). What is the agent inside?",
			Choices: []string{
				"uid 0 with every capability, inside its user namespace; outside it is still the unprivileged uid",
				"uid 0 with every capability on the whole machine: real root",
				"uid 65534 (nobody) with no capability: a map does not make anyone root",
			},
			Answer: userAnswer,
		},
		Challenge: Challenge{
			Task: "The agent, unprivileged on the host, made a UTS namespace of its own with unshare(CLONE_NEWUTS). From the " +
				"shell inside, name it `" + u7Challenge + "`. The host must keep its hostname.",
			Hints: []string{
				"`readlink /proc/$$/ns/user /proc/$$/ns/uts`: your shell joined the agent's user namespace first, then its UTS namespace.",
				"sethostname(2) needs CAP_SYS_ADMIN in the user namespace that owns the UTS namespace: the agent's, where your shell " +
					"has every capability (`grep CapEff /proc/self/status`).",
				"hostname " + u7Challenge,
			},
			Solution: []string{"hostname " + u7Challenge},
			Check:    userCheck,
			Solve:    userSolve,
		},
		Experiments: []string{
			"cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups   # the maps nslab wrote, and setgroups deny",
			"grep -E '^(Uid|Gid|CapEff)' /proc/self/status   # IDs and capabilities as this namespace sees them",
			"ls -ln /etc/passwd /   # files owned by IDs with no mapping here show as 65534 (overflowuid)",
			"cat /proc/sys/kernel/overflowuid   # the uid every unmapped uid is shown as",
			"readlink /proc/$$/ns/user /proc/$$/ns/uts   # compare with readlink /proc/self/ns/user on the host",
			"unshare --user --map-root-user id   # as any user: root in yet another user namespace",
		},
	}
}

func userPerform(ctx context.Context, r *Run) error {
	sb := r.Box
	r.Set(u7CallerUID, strconv.Itoa(os.Geteuid()))
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		r.Set(u7CapLast, strings.TrimSpace(string(b)))
	}
	host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewUTS})
	r.Set(u7HostHostname, host.Hostname)
	ids, err := sb.IDs()
	if err != nil {
		return fmt.Errorf("the agent's namespaces: %w", err)
	}
	r.Set(u7UTSBefore, ids["uts"].Label("uts"))

	// Every capability, but only in namespaces its user namespace owns:
	// joining nslab's own UTS namespace (owned by the initial user
	// namespace) is refused. The refusal is the point; it is kept.
	mark := len(sb.Events(0))
	r.Set(u7JoinHost, outcomeOf("joined", sb.Setns(ctx, os.Getpid(), "uts", sandbox.CloneNewUTS)))
	for _, e := range sb.Events(mark) {
		if e.Errno != "" {
			r.Set(u7JoinCall, e.String()) // which call refused: open already, or setns
		}
	}

	// The same capabilities suffice for a new UTS namespace: it is owned
	// by the agent's user namespace.
	err = sb.Unshare(ctx, sandbox.CloneNewUTS)
	r.Set(u7Unshare, outcomeOf("unshared", err))
	if err != nil {
		return fmt.Errorf("unshare(CLONE_NEWUTS) as root of a user namespace: %w", err)
	}

	// One clone with both flags: the kernel creates the user namespace
	// first, and the UTS namespace is owned by it.
	both, err := r.StartOther(ctx, sandbox.Spec{Flags: sandbox.CloneNewUTS, Rootless: sandbox.RootlessAlways,
		MapRootToNobody: os.Geteuid() == 0, Label: "user+uts"})
	if err != nil {
		return fmt.Errorf("clone(CLONE_NEWUSER|CLONE_NEWUTS): %w", err)
	}
	r.Set(u7BothFlags, sandbox.FlagString(both.Flags()))
	r.Set(u7BothSet, outcomeOf("named", both.SetHostname(ctx, u7BothName)))
	snap, err := both.Observe(ctx, []sandbox.View{sandbox.ViewIDs, sandbox.ViewUTS, sandbox.ViewUser})
	if err != nil {
		return fmt.Errorf("look inside the second sandbox: %w", err)
	}
	r.Set(u7BothHostname, snap.Hostname)
	r.Set(u7BothUTS, snap.IDs["uts"].Label("uts"))
	r.Set(u7BothUser, snap.IDs["user"].Label("user"))
	if snap.User != nil {
		r.Set(u7BothUID, strconv.Itoa(snap.User.EUID))
	}
	return nil
}

// userExtra reads, live from the host, the agent's credentials as the
// host sees them.
func userExtra(_ context.Context, r *Run) (map[string]string, error) {
	if r.Box == nil {
		return nil, nil
	}
	b, err := os.ReadFile(u7StatusPrefix + strconv.Itoa(r.Box.PID()) + "/status")
	if err != nil {
		return nil, fmt.Errorf("the agent's status on the host: %w", err)
	}
	uid, gid, err := parseStatusIDs(string(b))
	if err != nil {
		return nil, err
	}
	return map[string]string{u7OutsideUID: strconv.Itoa(uid[1]), u7OutsideGID: strconv.Itoa(gid[1])}, nil
}

// ErrStatusIDs wraps a /proc/PID/status text without usable Uid and Gid
// lines.
var ErrStatusIDs = errors.New("no Uid/Gid lines")

// parseStatusIDs reads the Uid and Gid lines of /proc/PID/status: real,
// effective, saved and file-system IDs, as the reader's user namespace
// sees them.
func parseStatusIDs(text string) (uid, gid [4]int, err error) {
	var seenU, seenG bool
	for _, line := range strings.Split(text, "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok || (key != "Uid" && key != "Gid") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 4 {
			return uid, gid, fmt.Errorf("/proc status %s line %q: %w", key, line, ErrStatusIDs)
		}
		var ids [4]int
		for i, s := range f {
			n, err := strconv.Atoi(s)
			if err != nil {
				return uid, gid, fmt.Errorf("/proc status %s line %q: %w", key, line, err)
			}
			ids[i] = n
		}
		if key == "Uid" {
			uid, seenU = ids, true
		} else {
			gid, seenG = ids, true
		}
	}
	if !seenU || !seenG {
		return uid, gid, fmt.Errorf("/proc status: %w", ErrStatusIDs)
	}
	return uid, gid, nil
}

// fullCaps is the capability mask with every capability this kernel has.
func fullCaps(lastCap string) (uint64, bool) {
	n, err := strconv.Atoi(lastCap)
	if err != nil || n < 0 || n > 62 {
		return 0, false
	}
	return 1<<(uint(n)+1) - 1, true
}

func userFacts(o Observation) []Fact {
	ex := o.Extra
	u := o.Sandbox.User
	if u == nil {
		u = &sandbox.User{EUID: -1, EGID: -1}
	}
	outUID, uerr := strconv.Atoi(ex[u7OutsideUID])
	outGID, gerr := strconv.Atoi(ex[u7OutsideGID])
	caller, cerr := strconv.Atoi(ex[u7CallerUID])
	full, fullOK := fullCaps(ex[u7CapLast])
	mapText := func(m []sandbox.IDMap) string {
		if len(m) == 0 {
			return "empty"
		}
		return sandbox.FormatIDMap(m)
	}
	oneMap := func(m []sandbox.IDMap, outside int, err error) bool {
		return err == nil && len(m) == 1 && m[0].Inside == 0 && m[0].Count == 1 && m[0].Outside == int64(outside)
	}
	wantOutside := caller
	if caller == 0 {
		wantOutside = u7Nobody
	}
	joinErr, joinCall := ex[u7JoinHost], ex[u7JoinCall]
	return []Fact{
		NSFact(o, "user", false, "The agent has a user namespace of its own"),
		NewFact("uid_map maps uid 0 inside to the agent's uid outside, and no other uid",
			oneMap(u.UIDMap, outUID, uerr), "uid_map %s; outside uid %s", mapText(u.UIDMap), orNone(ex[u7OutsideUID])),
		NewFact("gid_map does the same for gid 0, written after setgroups was set to deny",
			oneMap(u.GIDMap, outGID, gerr) && u.Setgroups == "deny",
			"gid_map %s; setgroups %s; outside gid %s", mapText(u.GIDMap), orNone(u.Setgroups), orNone(ex[u7OutsideGID])),
		NewFact("Inside, the agent's effective uid is 0: root",
			u.EUID == 0, "euid inside %d", u.EUID),
		NewFact("…with every capability of this kernel in its effective set, "+u7CapSysAdmin+" among them",
			fullOK && u.CapEff == full, "CapEff %#x (%d capabilities) of %#x", u.CapEff, bits.OnesCount64(u.CapEff), full),
		NewFact("Seen from the host (/proc/PID/status), the same process is an unprivileged uid: "+unprivilegedName(wantOutside),
			uerr == nil && cerr == nil && outUID != 0 && outUID == wantOutside, "Uid on the host %s", orNone(ex[u7OutsideUID])),
		NewFact("Its capabilities do not reach the host's namespaces: joining nslab's own UTS namespace was refused",
			(joinErr == "EACCES" || joinErr == "EPERM") && strings.Contains(joinCall, ") = -1 "+joinErr),
			"refused: %s", orNone(joinCall)),
		NewFact("Yet it could create a UTS namespace of its own, owned by its user namespace",
			outcomeOK(ex[u7Unshare]) && DifferentNS(o, "uts"),
			"unshare(CLONE_NEWUTS): %s; uts %s → %s", orNone(ex[u7Unshare]), orNone(ex[u7UTSBefore]), o.Sandbox.IDs["uts"].Label("uts")),
		NewFact("One clone("+orNone(ex[u7BothFlags])+") does both at once: the second sandbox is root in a user namespace of its own and named itself "+u7BothName,
			outcomeOK(ex[u7BothSet]) && ex[u7BothHostname] == u7BothName && ex[u7BothUID] == "0" &&
				ex[u7BothUTS] != o.Host.IDs["uts"].Label("uts") && ex[u7BothUser] != o.Host.IDs["user"].Label("user") &&
				ex[u7BothUser] != o.Sandbox.IDs["user"].Label("user"),
			"sethostname: %s; hostname %s; euid %s; %s, %s", orNone(ex[u7BothSet]), orNone(ex[u7BothHostname]),
			orNone(ex[u7BothUID]), orNone(ex[u7BothUTS]), orNone(ex[u7BothUser])),
		NewFact("The host kept its hostname",
			o.Host.Hostname != "" && o.Host.Hostname == ex[u7HostHostname] && o.Host.Hostname != u7BothName,
			"host hostname %q (during Perform %q)", o.Host.Hostname, ex[u7HostHostname]),
	}
}

func unprivilegedName(uid int) string {
	if uid == u7Nobody {
		return "65534, nobody"
	}
	return strconv.Itoa(uid) + ", your own uid"
}

func userAnswer(o Observation) (int, string) {
	u := o.Sandbox.User
	if u == nil {
		return -1, "the user view was not observed"
	}
	out := o.Extra[u7OutsideUID]
	full, ok := fullCaps(o.Extra[u7CapLast])
	switch {
	case u.EUID == 0 && out == "0":
		return 1, "the agent is uid 0 inside and uid 0 on the host"
	case u.EUID == 0 && ok && u.CapEff == full:
		return 0, fmt.Sprintf("inside, euid 0 and CapEff %#x (all %d capabilities); on the host /proc/%d/status says Uid %s: "+
			"the capabilities count only in namespaces its user namespace owns", u.CapEff, bits.OnesCount64(u.CapEff), o.Sandbox.PID, out)
	}
	return 2, fmt.Sprintf("inside, euid %d and CapEff %#x; on the host, Uid %s", u.EUID, u.CapEff, out)
}

func userCheck(ctx context.Context, r *Run) (bool, string, error) {
	if r.Get(u7Unshare) == "" {
		return false, "", fmt.Errorf("check: %w", ErrNotPerformed)
	}
	snap, err := ObserveBox(ctx, r, sandbox.ViewIDs, sandbox.ViewUTS)
	if err != nil {
		return false, "", err
	}
	host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewIDs, sandbox.ViewUTS})
	switch {
	case snap.IDs["uts"] == host.IDs["uts"]:
		return false, "the agent is in the host's UTS namespace", nil
	case host.Hostname != r.Get(u7HostHostname):
		return false, fmt.Sprintf("the host's hostname changed: %q, was %q", host.Hostname, r.Get(u7HostHostname)), nil
	case snap.Hostname != u7Challenge:
		return false, fmt.Sprintf("the sandbox is named %q, not %q", snap.Hostname, u7Challenge), nil
	}
	return true, fmt.Sprintf("the sandbox (%s) is named %q; the host keeps %q", snap.IDs["uts"].Label("uts"), snap.Hostname, host.Hostname), nil
}

// userSolve runs the solution in the sandbox's shell. Without cgo nslab
// cannot enter the sandbox, and the engine sets the name instead.
func userSolve(ctx context.Context, r *Run) error {
	err := RunSolution(ctx, r, r.Lesson.Logic.Challenge.Solution)
	if errors.Is(err, sandbox.ErrNoEnter) {
		return r.Box.SetHostname(ctx, u7Challenge)
	}
	return err
}
