// Package user is lesson 7, "User namespaces: root inside, nobody outside": its Go logic.
// Its text and prompts are lesson.md and lesson.toml beside this file;
// package catalog registers Logic. It may import lessons and sandbox,
// never another lesson, catalog or ui.
package user

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"strconv"
	"strings"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// Keys of the values the user lesson keeps (Sandboxes.Set during Perform, and
// its live Extra), and the names it uses.
const (
	userCallerUID    = "user.caller_uid"     // nslab's own effective uid
	userCapLast      = "user.cap_last_cap"   // /proc/sys/kernel/cap_last_cap
	userOutsideUID   = "user.outside_uid"    // the agent's effective uid in the host's /proc/PID/status
	userOutsideGID   = "user.outside_gid"    // the same for its gid
	userJoinHost     = "user.join_host_uts"  // outcome of setns into nslab's own UTS namespace
	userJoinCall     = "user.join_host_call" // the traced call the kernel refused: openat or setns
	userUTSBefore    = "user.uts_before"     // the agent's uts identity before unshare
	userUnshare      = "user.unshare_uts"    // outcome of unshare(CLONE_NEWUTS) by the agent
	userHostHostname = "user.host_hostname"  // the host's hostname during Perform
	userBothFlags    = "user.both_flags"     // the second sandbox's clone flags
	userBothSet      = "user.both_sethostname"
	userBothHostname = "user.both_hostname"
	userBothUTS      = "user.both_uts"  // the second sandbox's uts identity
	userBothUser     = "user.both_user" // and its user namespace
	userBothUID      = "user.both_euid" // its effective uid inside
	userBothName     = "both"           // the hostname the second sandbox gives itself
	userChallenge    = "userlab"        // the hostname the challenge asks for
	userStatusPrefix = "/proc/"         // where the host reads an agent's status
	userNobody       = 65534            // the uid root is mapped to when nslab runs as root
	userCapSysAdmin  = "CAP_SYS_ADMIN"
	// In a class (nslab serve) only: the kinds of namespace the class
	// server added (/proc names), and what sethostname(2) on the
	// sandbox's UTS namespace by root of a user namespace nested in the
	// sandbox's returned ("EPERM").
	userConfined  = "user.confined"
	userNestedSet = "user.nested_sethostname"
	userNestedTry = "nested" // the name that nested root tries
)

// Logic: clone(CLONE_NEWUSER) with uid 0 inside mapped to nobody (as
// root) or the learner's uid: root with every capability inside, an
// unprivileged user outside; its capabilities do not reach the host's
// namespaces, yet they let it create (and own) a UTS namespace; and one
// clone(CLONE_NEWUSER|CLONE_NEWUTS) does both at once.
func Logic() lessons.Logic {
	return lessons.Logic{
		Spec: sandbox.Spec{Flags: sandbox.CloneNewUser, Rootless: sandbox.RootlessAlways,
			MapRootToNobody: os.Geteuid() == 0, Label: "user"},
		Perform: userPerform,
		Views:   []sandbox.View{sandbox.ViewIDs, sandbox.ViewUser, sandbox.ViewUTS},
		Extra:   userExtra,
		Facts:   userFacts,
		Answer:  userAnswer,
		Check:   userCheck,
		Solve:   userSolve,
	}
}

func userPerform(ctx context.Context, r *lessons.Sandboxes) error {
	sb := r.Box
	r.Set(userCallerUID, strconv.Itoa(os.Geteuid()))
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		r.Set(userCapLast, strings.TrimSpace(string(b)))
	}
	host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewUTS})
	r.Set(userHostHostname, host.Hostname)
	ids, err := sb.IDs()
	if err != nil {
		return fmt.Errorf("the agent's namespaces: %w", err)
	}
	r.Set(userUTSBefore, ids["uts"].Label("uts"))

	// Every capability, but only in namespaces its user namespace owns:
	// joining nslab's own UTS namespace (owned by the initial user
	// namespace) is refused. The refusal is the point; it is kept.
	mark := len(sb.Events(0))
	r.Set(userJoinHost, lessons.Outcome("joined", sb.Setns(ctx, os.Getpid(), "uts", sandbox.CloneNewUTS)))
	for _, e := range sb.Events(mark) {
		if e.Errno != "" {
			r.Set(userJoinCall, e.String()) // which call refused: open already, or setns
		}
	}

	if c := sb.Confined(); c != 0 {
		if err := userConfinedPerform(ctx, r, c); err != nil {
			return err
		}
	}

	// The same capabilities suffice for a new UTS namespace: it is owned
	// by the agent's user namespace.
	err = sb.Unshare(ctx, sandbox.CloneNewUTS)
	r.Set(userUnshare, lessons.Outcome("unshared", err))
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
	r.Set(userBothFlags, sandbox.FlagString(both.Flags()))
	r.Set(userBothSet, lessons.Outcome("named", both.SetHostname(ctx, userBothName)))
	snap, err := both.Observe(ctx, []sandbox.View{sandbox.ViewIDs, sandbox.ViewUTS, sandbox.ViewUser})
	if err != nil {
		return fmt.Errorf("look inside the second sandbox: %w", err)
	}
	r.Set(userBothHostname, snap.Hostname)
	r.Set(userBothUTS, snap.IDs["uts"].Label("uts"))
	r.Set(userBothUser, snap.IDs["user"].Label("user"))
	if snap.User != nil {
		r.Set(userBothUID, strconv.Itoa(snap.User.EUID))
	}
	return nil
}

// userConfinedPerform is a class learner's extra step (nslab serve). The
// class server made the agent's user namespace, and the host's namespaces
// are not even in the sandbox's /proc, so the refusal above is ENOENT,
// not the capability rule. The rule shows one level down: root of a user
// namespace nested in the sandbox's, with every capability there, tries
// to rename the sandbox's UTS namespace, which the parent owns.
func userConfinedPerform(ctx context.Context, r *lessons.Sandboxes, added uintptr) error {
	r.Set(userConfined, lessons.KindNames(added))
	from := len(r.Box.Events(0))
	if _, _, err := r.Box.Nested(ctx, userNestedTry); err != nil {
		return fmt.Errorf("a user namespace nested in the class sandbox's: %w", err)
	}
	for _, e := range r.Box.Events(from) {
		if e.Syscall == "sethostname" {
			r.Set(userNestedSet, lessons.OrNone(e.Errno))
		}
	}
	return nil
}

// userExtra reads, live from the host, the agent's credentials as the
// host sees them.
func userExtra(_ context.Context, r *lessons.Sandboxes) (map[string]string, error) {
	if r.Box == nil {
		return nil, nil
	}
	b, err := os.ReadFile(userStatusPrefix + strconv.Itoa(r.Box.PID()) + "/status")
	if err != nil {
		return nil, fmt.Errorf("the agent's status on the host: %w", err)
	}
	uid, gid, err := parseStatusIDs(string(b))
	if err != nil {
		return nil, err
	}
	return map[string]string{userOutsideUID: strconv.Itoa(uid[1]), userOutsideGID: strconv.Itoa(gid[1])}, nil
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

func userFacts(o lessons.Observation) []lessons.Fact {
	ex := o.Extra
	bothFlags, bothFlagsErr := sandbox.ParseFlags(ex[userBothFlags])
	u := o.Sandbox.User
	if u == nil {
		u = &sandbox.User{EUID: -1, EGID: -1}
	}
	outUID, uerr := strconv.Atoi(ex[userOutsideUID])
	outGID, gerr := strconv.Atoi(ex[userOutsideGID])
	caller, cerr := strconv.Atoi(ex[userCallerUID])
	full, fullOK := fullCaps(ex[userCapLast])
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
		wantOutside = userNobody
	}
	joinErr, joinCall := ex[userJoinHost], ex[userJoinCall]
	if _, confined := ex[userConfined]; confined {
		return userConfinedFacts(o, u, outUID, outGID, uerr == nil && gerr == nil)
	}
	return []lessons.Fact{
		lessons.NSFact(o, "user", false, "The agent has a user namespace of its own"),
		lessons.NewFact("uid_map maps uid 0 inside to the agent's uid outside, and no other uid",
			oneMap(u.UIDMap, outUID, uerr), "uid_map %s; outside uid %s", mapText(u.UIDMap), lessons.OrNone(ex[userOutsideUID])),
		lessons.NewFact("gid_map does the same for gid 0, written after setgroups was set to deny",
			oneMap(u.GIDMap, outGID, gerr) && u.Setgroups == "deny",
			"gid_map %s; setgroups %s; outside gid %s", mapText(u.GIDMap), lessons.OrNone(u.Setgroups), lessons.OrNone(ex[userOutsideGID])),
		lessons.NewFact("Inside, the agent's effective uid is 0: root",
			u.EUID == 0, "euid inside %d", u.EUID),
		lessons.NewFact("…with every capability of this kernel in its effective set, "+userCapSysAdmin+" among them",
			fullOK && u.CapEff == full, "CapEff %#x (%d capabilities) of %#x", u.CapEff, bits.OnesCount64(u.CapEff), full),
		lessons.NewFact("Seen from the host (/proc/PID/status), the same process is an unprivileged uid: "+unprivilegedName(wantOutside),
			uerr == nil && cerr == nil && outUID != 0 && outUID == wantOutside, "Uid on the host %s", lessons.OrNone(ex[userOutsideUID])),
		lessons.NewFact("Its capabilities do not reach the host's namespaces: joining nslab's own UTS namespace was refused",
			(joinErr == "EACCES" || joinErr == "EPERM") && strings.Contains(joinCall, ") = -1 "+joinErr),
			"refused: %s", lessons.OrNone(joinCall)),
		lessons.NewFact("Yet it could create a UTS namespace of its own, owned by its user namespace",
			lessons.OutcomeOK(ex[userUnshare]) && lessons.DifferentNS(o, "uts") &&
				lessons.IsNSLabel(ex[userUTSBefore], "uts") && ex[userUTSBefore] != o.Sandbox.IDs["uts"].Label("uts"),
			"unshare(CLONE_NEWUTS): %s; uts %s → %s", lessons.OrNone(ex[userUnshare]), lessons.OrNone(ex[userUTSBefore]), o.Sandbox.IDs["uts"].Label("uts")),
		lessons.NewFact("One clone("+lessons.OrNone(ex[userBothFlags])+") does both at once: the second sandbox is root in a user namespace of its own and named itself "+userBothName,
			bothFlagsErr == nil && bothFlags&(sandbox.CloneNewUTS|sandbox.CloneNewUser) == sandbox.CloneNewUTS|sandbox.CloneNewUser &&
				lessons.OutcomeOK(ex[userBothSet]) && ex[userBothHostname] == userBothName && ex[userBothUID] == "0" &&
				lessons.IsNSLabel(ex[userBothUTS], "uts") && lessons.IsNSLabel(ex[userBothUser], "user") &&
				ex[userBothUTS] != o.Host.IDs["uts"].Label("uts") && ex[userBothUser] != o.Host.IDs["user"].Label("user") &&
				ex[userBothUser] != o.Sandbox.IDs["user"].Label("user"),
			"sethostname: %s; hostname %s; euid %s; %s, %s", lessons.OrNone(ex[userBothSet]), lessons.OrNone(ex[userBothHostname]),
			lessons.OrNone(ex[userBothUID]), lessons.OrNone(ex[userBothUTS]), lessons.OrNone(ex[userBothUser])),
		lessons.NewFact("The host kept its hostname",
			o.Host.Hostname != "" && o.Host.Hostname == ex[userHostHostname] && o.Host.Hostname != userBothName,
			"host hostname %q (during Perform %q)", o.Host.Hostname, ex[userHostHostname]),
	}
}

// userConfinedFacts are the lesson's facts for a class learner (nslab
// serve): the class server made the agent's user namespace and wrote a
// range map, and the host's namespaces are out of the sandbox's sight.
func userConfinedFacts(o lessons.Observation, u *sandbox.User, outUID, outGID int, outOK bool) []lessons.Fact {
	ex := o.Extra
	_, valid := lessons.KindList(ex[userConfined])
	// rangeMap: one line from 0, longer than one id, whose first outside
	// id is what the host reads for the agent, and not root.
	rangeMap := func(m []sandbox.IDMap, outside int) bool {
		return valid && outOK && len(m) == 1 && m[0].Inside == 0 && m[0].Count > 1 && m[0].Outside == int64(outside) && outside != 0
	}
	mapText := func(m []sandbox.IDMap) string {
		if len(m) == 0 {
			return "empty"
		}
		return sandbox.FormatIDMap(m)
	}
	joinErr, joinCall := ex[userJoinHost], ex[userJoinCall]
	both := userFacts(lessons.Observation{Host: o.Host, Sandbox: o.Sandbox, Diffs: o.Diffs, Extra: withoutConfined(ex)})
	return []lessons.Fact{
		both[0],
		lessons.NewFact("In a class the server made this user namespace for you: uid_map maps 0 and up inside to your own range outside, root inside being its first id",
			rangeMap(u.UIDMap, outUID), "uid_map %s; outside uid %s", mapText(u.UIDMap), lessons.OrNone(ex[userOutsideUID])),
		lessons.NewFact("gid_map does the same for gids; setgroups stays allow, because the server, root on the host, wrote the maps (only an unprivileged writer must deny it first)",
			rangeMap(u.GIDMap, outGID) && u.Setgroups == "allow",
			"gid_map %s; setgroups %s; outside gid %s", mapText(u.GIDMap), lessons.OrNone(u.Setgroups), lessons.OrNone(ex[userOutsideGID])),
		both[3],
		both[4],
		lessons.NewFact("Seen from the host (/proc/PID/status), the same process is the first uid of your range: neither root nor nobody",
			valid && outOK && outUID != 0 && outUID != userNobody && len(u.UIDMap) == 1 && int64(outUID) == u.UIDMap[0].Outside,
			"Uid on the host %s", lessons.OrNone(ex[userOutsideUID])),
		lessons.NewFact("The host's namespaces are out of its sight: nslab's process is not in the class sandbox's /proc, so opening its UTS namespace fails with ENOENT",
			valid && joinErr == "ENOENT" && strings.HasPrefix(joinCall, "openat(") && strings.Contains(joinCall, ") = -1 ENOENT"),
			"refused: %s", lessons.OrNone(joinCall)),
		lessons.NewFact("One level down the rule shows: root of a user namespace nested in yours, with every capability there, may not rename this sandbox's UTS namespace, which your user namespace owns: EPERM",
			valid && ex[userNestedSet] == "EPERM" && o.Sandbox.Hostname != "" && o.Sandbox.Hostname != userNestedTry,
			"sethostname(%q) by the nested root: %s; the sandbox's hostname %q", userNestedTry, lessons.OrNone(ex[userNestedSet]), o.Sandbox.Hostname),
		both[7], both[8], both[9],
	}
}

// withoutConfined is ex without the class marker, for the facts both
// paths share.
func withoutConfined(ex map[string]string) map[string]string {
	out := make(map[string]string, len(ex))
	for k, v := range ex {
		if k != userConfined {
			out[k] = v
		}
	}
	return out
}

func unprivilegedName(uid int) string {
	if uid == userNobody {
		return "65534, nobody"
	}
	return strconv.Itoa(uid) + ", your own uid"
}

func userAnswer(o lessons.Observation) (int, string) {
	u := o.Sandbox.User
	if u == nil {
		return -1, "the user view was not observed"
	}
	out := o.Extra[userOutsideUID]
	full, ok := fullCaps(o.Extra[userCapLast])
	switch {
	case u.EUID == 0 && out == "0":
		return 1, "the agent is uid 0 inside and uid 0 on the host"
	case u.EUID == 0 && ok && u.CapEff == full:
		return 0, fmt.Sprintf("inside, euid 0 and CapEff %#x (all %d capabilities); on the host /proc/%d/status says Uid %s: "+
			"the capabilities count only in namespaces its user namespace owns", u.CapEff, bits.OnesCount64(u.CapEff), o.Sandbox.PID, out)
	}
	return 2, fmt.Sprintf("inside, euid %d and CapEff %#x; on the host, Uid %s", u.EUID, u.CapEff, out)
}

func userCheck(ctx context.Context, r *lessons.Sandboxes) (bool, string, error) {
	if r.Get(userUnshare) == "" {
		return false, "", fmt.Errorf("check: %w", lessons.ErrNotPerformed)
	}
	snap, err := lessons.ObserveBox(ctx, r, sandbox.ViewIDs, sandbox.ViewUTS)
	if err != nil {
		return false, "", err
	}
	host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewIDs, sandbox.ViewUTS})
	switch {
	case snap.IDs["uts"] == host.IDs["uts"]:
		return false, "the agent is in the host's UTS namespace", nil
	case host.Hostname != r.Get(userHostHostname):
		return false, fmt.Sprintf("the host's hostname changed: %q, was %q", host.Hostname, r.Get(userHostHostname)), nil
	case snap.Hostname != userChallenge:
		return false, fmt.Sprintf("the sandbox is named %q, not %q", snap.Hostname, userChallenge), nil
	}
	return true, fmt.Sprintf("the sandbox (%s) is named %q; the host keeps %q", snap.IDs["uts"].Label("uts"), snap.Hostname, host.Hostname), nil
}

// userSolve runs the solution in the sandbox's shell. Without cgo nslab
// cannot enter the sandbox, and the engine sets the name instead.
func userSolve(ctx context.Context, r *lessons.Sandboxes) error {
	err := lessons.RunSolution(ctx, r, r.Lesson.Challenge.Solution)
	if errors.Is(err, sandbox.ErrNoEnter) {
		return r.Box.SetHostname(ctx, userChallenge)
	}
	return err
}
