package sandbox

import (
	"fmt"
	"sort"
	"strings"
)

// Clone flag values, as in <linux/sched.h>. They are spelled out here (and
// checked against golang.org/x/sys/unix in a test) so that this file stays
// platform-free and can be tested anywhere.
const (
	CloneNewTime   uintptr = 0x00000080
	CloneNewNS     uintptr = 0x00020000
	CloneNewCgroup uintptr = 0x02000000
	CloneNewUTS    uintptr = 0x04000000
	CloneNewIPC    uintptr = 0x08000000
	CloneNewUser   uintptr = 0x10000000
	CloneNewPID    uintptr = 0x20000000
	CloneNewNet    uintptr = 0x40000000
)

// Kind describes one namespace kind. Everything in nslab that deals with
// "every kind" iterates over Kinds().
type Kind struct {
	Name     string  // short name used on the command line: "uts", "mnt" ...
	Flag     uintptr // CLONE_NEW* value
	FlagName string  // "CLONE_NEWUTS"
	ProcName string  // entry in /proc/PID/ns
	// ChildrenProcName is the /proc/PID/ns entry that names the namespace
	// the caller's future children will get ("pid_for_children"), for the
	// kinds where unshare/setns do not move the caller itself.
	ChildrenProcName string
	Isolates         string // what it isolates, a few words
	ManPage          string // "uts_namespaces(7)"
	MinKernel        string // first kernel that has it
}

// Kinds returns the namespace kinds in the order nslab shows them. The
// slice is a fresh copy: callers may keep or modify it.
func Kinds() []Kind {
	return []Kind{
		{"uts", CloneNewUTS, "CLONE_NEWUTS", "uts", "", "hostname and NIS domain name", "uts_namespaces(7)", "2.6.19"},
		{"ipc", CloneNewIPC, "CLONE_NEWIPC", "ipc", "", "System V IPC objects and POSIX message queues", "ipc_namespaces(7)", "2.6.19"},
		{"mnt", CloneNewNS, "CLONE_NEWNS", "mnt", "", "the list of mount points", "mount_namespaces(7)", "2.4.19"},
		{"net", CloneNewNet, "CLONE_NEWNET", "net", "", "network devices, addresses, routes, ports, firewall", "network_namespaces(7)", "2.6.29"},
		{"pid", CloneNewPID, "CLONE_NEWPID", "pid", "pid_for_children", "process ID numbers", "pid_namespaces(7)", "3.8"},
		{"user", CloneNewUser, "CLONE_NEWUSER", "user", "", "user and group IDs, capabilities", "user_namespaces(7)", "3.8"},
		{"cgroup", CloneNewCgroup, "CLONE_NEWCGROUP", "cgroup", "", "the cgroup root directory", "cgroup_namespaces(7)", "4.6"},
		{"time", CloneNewTime, "CLONE_NEWTIME", "time", "time_for_children", "boot-time and monotonic clocks", "time_namespaces(7)", "5.6"},
	}
}

// SetnsPidfdMinKernel is the first kernel whose setns(2) takes a pidfd
// (joining several namespaces of a process at once); older kernels take
// only /proc/PID/ns files. Kept beside Kinds() so that every kernel minimum
// the doctor checks is data here.
const SetnsPidfdMinKernel = "5.8"

// ErrUnknownKind is returned by KindByName for a name that is no kind.
var ErrUnknownKind = fmt.Errorf("unknown namespace kind")

// KindByName finds a kind by its short name, its /proc name or its flag name
// ("mnt", "mount", "CLONE_NEWNS" all find the mount kind).
func KindByName(name string) (Kind, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "mount" {
		n = "mnt"
	}
	if n == "network" {
		n = "net"
	}
	for _, k := range Kinds() {
		if n == k.Name || n == strings.ToLower(k.FlagName) {
			return k, nil
		}
	}
	return Kind{}, fmt.Errorf("%w %q: choose one of %s", ErrUnknownKind, name, strings.Join(KindNames(), ", "))
}

// KindNames lists the short names in table order.
func KindNames() []string {
	var out []string
	for _, k := range Kinds() {
		out = append(out, k.Name)
	}
	return out
}

// AllFlags is every CLONE_NEW* flag ORed together.
func AllFlags() uintptr {
	var f uintptr
	for _, k := range Kinds() {
		f |= k.Flag
	}
	return f
}

// FlagString renders clone/unshare flags for people: namespace flags in
// table order (the order lessons teach them), then other clone flags in
// strace's order, unknown bits in hex, zero as "0". Trace events use
// strace's order throughout (TraceFlags).
func FlagString(flags uintptr) string {
	var table []bitName
	for _, k := range Kinds() {
		table = append(table, bitName{k.Flag, k.FlagName})
	}
	return bitsString(flags, append(table, cloneBits...), nil)
}

// ParseFlags turns "uts,pid" or "CLONE_NEWUTS|CLONE_NEWPID" or "all" into
// flags. An empty string is 0.
func ParseFlags(s string) (uintptr, error) {
	var f uintptr
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if strings.EqualFold(s, "all") {
		return AllFlags(), nil
	}
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '|' || r == ' ' }) {
		k, err := KindByName(p)
		if err != nil {
			return 0, err
		}
		f |= k.Flag
	}
	return f, nil
}

// KindsIn returns the kinds whose flags are set, in table order.
func KindsIn(flags uintptr) []Kind {
	var out []Kind
	for _, k := range Kinds() {
		if flags&k.Flag != 0 {
			out = append(out, k)
		}
	}
	return out
}

// NSID is a namespace identity: the device and inode of /proc/PID/ns/KIND.
// Two processes are in the same namespace exactly when both are equal.
type NSID struct {
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
}

// IsZero reports whether the identity is unknown.
func (id NSID) IsZero() bool { return id.Dev == 0 && id.Ino == 0 }

// String renders the identity as readlink(2) of /proc/PID/ns/KIND shows
// its inode, plus the device: "4026531838 (dev 0:4)".
func (id NSID) String() string {
	if id.IsZero() {
		return "?"
	}
	return fmt.Sprintf("[%d]", id.Ino)
}

// Label renders "uts:[4026531838]", the form readlink prints.
func (id NSID) Label(kind string) string { return kind + ":" + id.String() }

// IDs maps kind names (and "pid_for_children", "time_for_children") to
// identities.
type IDs map[string]NSID

// Sorted returns the keys in table order, then any extra keys sorted.
func (ids IDs) Sorted() []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range Kinds() {
		for _, n := range []string{k.ProcName, k.ChildrenProcName} {
			if n == "" || seen[n] {
				continue
			}
			if _, ok := ids[n]; ok {
				out = append(out, n)
				seen[n] = true
			}
		}
	}
	var extra []string
	for k := range ids {
		if !seen[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}
