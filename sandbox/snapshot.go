package sandbox

import (
	"strconv"
	"time"
)

// View is one thing nslab can look at on either side.
type View string

// The views, in the order the ui shows them.
const (
	ViewIDs   View = "ids"   // namespace identities of every kind
	ViewUTS   View = "uts"   // hostname and domain name
	ViewPIDs  View = "pids"  // processes in the side's PID namespace
	ViewMount View = "mount" // mount table
	ViewNet   View = "net"   // links, addresses, routes
	ViewIPC   View = "ipc"   // System V objects and POSIX queues
	ViewUser  View = "user"  // uid/gid maps, credentials, capabilities
	ViewCgrp  View = "cgroup"
	ViewTime  View = "time"
	ViewPeers View = "peers"  // mount peer groups: members and slaves of each shared:N
	ViewTree  View = "nstree" // the user and PID namespace hierarchies: parents, owners, members
)

// AllViews lists every view in display order.
func AllViews() []View {
	return []View{ViewIDs, ViewUTS, ViewPIDs, ViewMount, ViewNet, ViewIPC, ViewUser, ViewCgrp, ViewTime, ViewPeers, ViewTree}
}

// Snapshot is what one side (the host, or a sandbox) sees at one moment.
// Only the views asked for are filled; Errs holds a view's error, so that
// one failing view never hides the others.
type Snapshot struct {
	Side  string    `json:"side"` // "host" or "sandbox"
	PID   int       `json:"pid"`  // the process observed (host PID)
	Taken time.Time `json:"taken"`

	IDs IDs `json:"ids,omitempty"`

	Hostname   string `json:"hostname,omitempty"`
	Domainname string `json:"domainname,omitempty"`

	Procs  []Proc  `json:"procs,omitempty"`
	Mounts []Mount `json:"mounts,omitempty"`
	Links  []Link  `json:"links,omitempty"`
	Routes []Route `json:"routes,omitempty"`
	IPC    *IPC    `json:"ipc,omitempty"`
	User   *User   `json:"user,omitempty"`

	Cgroup string `json:"cgroup,omitempty"` // the path in /proc/self/cgroup as this side sees it
	// CgroupLines is every line of /proc/self/cgroup: on a hybrid host
	// the v1 hierarchies come first and can differ where v2 does not.
	CgroupLines []CgroupLine `json:"cgroup_lines,omitempty"`
	Clocks      *Clocks      `json:"clocks,omitempty"`
	// Tree is the namespace tree seen from the host (ViewTree): the
	// side's user and PID namespaces, their ancestors and, for a sandbox,
	// everything below them.
	Tree  *NSTree  `json:"tree,omitempty"`
	Errs  ViewErrs `json:"errs,omitempty"`
	Views []View   `json:"views,omitempty"` // which views were asked for
}

// ViewErrs maps a view to the text of the error that kept it empty.
type ViewErrs map[View]string

// Has reports whether the snapshot was asked to fill v.
func (s Snapshot) Has(v View) bool {
	for _, x := range s.Views {
		if x == v {
			return true
		}
	}
	return false
}

// Proc is one process as seen from a side.
type Proc struct {
	HostPID int    `json:"host_pid"` // PID in the host's PID namespace
	PID     int    `json:"pid"`      // PID in the observed side's PID namespace (last NSpid field)
	PPID    int    `json:"ppid"`     // parent PID in the observed side's namespace (0: parent outside)
	NSpid   []int  `json:"nspid"`    // the whole NSpid line, outermost first
	Comm    string `json:"comm"`
	Cmdline string `json:"cmdline,omitempty"`
	State   string `json:"state,omitempty"` // R, S, Z ...
}

// Mount is one line of /proc/PID/mountinfo.
type Mount struct {
	ID          int    `json:"id"`
	Parent      int    `json:"parent"`
	Mountpoint  string `json:"mountpoint"`
	FSType      string `json:"fstype"`
	Source      string `json:"source"`
	Options     string `json:"options"`
	Propagation string `json:"propagation"` // "shared:N", "master:N", "private", or a combination
}

// Link is one network interface.
type Link struct {
	Index int      `json:"index"`
	Name  string   `json:"name"`
	Type  string   `json:"type"`  // "loopback", "veth", "device" ...
	State string   `json:"state"` // "UP", "DOWN", "UNKNOWN"
	MAC   string   `json:"mac,omitempty"`
	Addrs []string `json:"addrs,omitempty"` // CIDR
	Peer  string   `json:"peer,omitempty"`  // veth peer index/name if known
}

// Route is one route of the main table.
type Route struct {
	Dst      string `json:"dst"` // "default" or CIDR
	Gateway  string `json:"gateway,omitempty"`
	Dev      string `json:"dev"`
	Src      string `json:"src,omitempty"`
	Scope    string `json:"scope,omitempty"`
	Protocol string `json:"protocol,omitempty"`
}

// IPC is the IPC objects a side sees.
type IPC struct {
	MsgQueues  []IPCObject `json:"msg_queues,omitempty"`    // System V message queues
	ShmSegs    []IPCObject `json:"shm_segments,omitempty"`  // System V shared memory
	Semaphores []IPCObject `json:"semaphores,omitempty"`    // System V semaphore sets
	MQueues    []string    `json:"posix_mqueues,omitempty"` // POSIX message queue names
	// MQueueNote says why POSIX queues could not be listed (no mqueue mount
	// belonging to this side's IPC namespace), when that is the case.
	MQueueNote string `json:"posix_mqueue_note,omitempty"`
}

// IPCObject is one System V object.
type IPCObject struct {
	Key   string `json:"key"` // hex, as ipcs prints it
	ID    int    `json:"id"`
	Owner int    `json:"owner_uid"`
	Perms string `json:"perms"` // octal
	Size  int64  `json:"size,omitempty"`
}

// User is the credentials and ID maps of a side.
type User struct {
	UID, GID  int      `json:"-"`
	EUID      int      `json:"euid"`
	EGID      int      `json:"egid"`
	UIDMap    []IDMap  `json:"uid_map"`
	GIDMap    []IDMap  `json:"gid_map"`
	Setgroups string   `json:"setgroups"` // "allow" or "deny"
	CapEff    uint64   `json:"cap_eff"`
	CapNames  []string `json:"cap_names,omitempty"` // effective capabilities by name
}

// IDMap is one line of uid_map or gid_map.
type IDMap struct {
	Inside  int64 `json:"inside"`
	Outside int64 `json:"outside"`
	Count   int64 `json:"count"`
}

// CgroupLine is one line of /proc/PID/cgroup:
// "hierarchy-ID:controller-list:path". The v2 line is "0::path".
type CgroupLine struct {
	Hierarchy   int    `json:"hierarchy"`
	Controllers string `json:"controllers"` // "memory", "cpu,cpuacct", "name=systemd"; empty for v2
	Path        string `json:"path"`
}

// Key names the line's hierarchy: "v2", or "v1 " and its controllers.
// Hierarchy numbers are left out: they are the same on both sides of one
// machine, the controllers say more.
func (c CgroupLine) Key() string {
	if c.Hierarchy == 0 && c.Controllers == "" {
		return "v2"
	}
	if c.Controllers == "" {
		return "v1 " + strconv.Itoa(c.Hierarchy)
	}
	return "v1 " + c.Controllers
}

// Clocks is what the clocks read on a side, for the time lesson.
type Clocks struct {
	Monotonic time.Duration `json:"monotonic"`
	Boottime  time.Duration `json:"boottime"`
	Offsets   string        `json:"offsets,omitempty"` // /proc/PID/timens_offsets
}

// DeltaKind says how an entry differs between host and sandbox.
type DeltaKind string

const (
	Same        DeltaKind = "same"
	OnlyHost    DeltaKind = "only-host"
	OnlySandbox DeltaKind = "only-sandbox"
	Changed     DeltaKind = "changed"
)

// Delta is one row of a view's comparison: a key (a mount point, a link
// name, "hostname" ...) with the value on each side.
type Delta struct {
	Key     string    `json:"key"`
	Host    string    `json:"host,omitempty"`
	Sandbox string    `json:"sandbox,omitempty"`
	Kind    DeltaKind `json:"kind"`
	// Label is a short description of the row when the key alone does
	// not say what it is: the command name of a process row.
	Label string `json:"label,omitempty"`
}
