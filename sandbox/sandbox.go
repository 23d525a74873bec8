package sandbox

import "time"

// Rootless says whether a sandbox gets a user namespace so that it works
// without root.
type Rootless int

const (
	// RootlessAuto adds CLONE_NEWUSER (root inside mapped to the caller)
	// when the caller is not root, and nothing when it is.
	RootlessAuto Rootless = iota
	// RootlessNever never adds a user namespace: without root, creating the
	// other kinds fails with EPERM, which is a lesson of its own.
	RootlessNever
	// RootlessAlways adds a user namespace even for root.
	RootlessAlways
)

// Spec says how to start a sandbox.
type Spec struct {
	// Flags are the CLONE_NEW* flags given to clone(2) when the agent is
	// started. 0 starts an agent that shares every namespace with nslab,
	// for the unshare and setns lessons.
	Flags uintptr
	// Rootless decides whether a user namespace is added.
	Rootless Rootless
	// Label names the sandbox in the shell prompt ("uts" → [nslab:uts]).
	Label string
	// OnEvent, if set, receives every trace event in order, as it happens.
	// Calls are serialized; they must not block for long.
	OnEvent func(Event)
	// MapRootToNobody maps root inside the user namespace to nobody
	// (65534) outside instead of to the caller. Only root may map to a
	// uid other than its own; it shows "root inside, nobody outside".
	MapRootToNobody bool
	// Timeout bounds every request to the agent; 0 means 5 s.
	Timeout time.Duration
	// ChildCgroup starts the agent in a cgroup v2 child of nslab's own
	// cgroup, made for it and removed on Close (NewChildCgroup): with
	// CLONE_NEWCGROUP, that child is the namespace's root. Where the child
	// cannot be made (no v2 hierarchy, no permission to write nslab's own
	// cgroup), the agent starts in nslab's cgroup and CgroupNote says why.
	ChildCgroup bool
}

// Veth describes the veth pair AddVeth made between host and sandbox.
type Veth struct {
	HostName    string `json:"host_name"`    // the end on the host
	SandboxName string `json:"sandbox_name"` // the end inside
	HostAddr    string `json:"host_addr"`    // CIDR on the host end
	SandboxAddr string `json:"sandbox_addr"` // CIDR inside
}

// HostIP is the host end's address without prefix length.
func (v Veth) HostIP() string { return stripPrefix(v.HostAddr) }

func stripPrefix(cidr string) string {
	for i := 0; i < len(cidr); i++ {
		if cidr[i] == '/' {
			return cidr[:i]
		}
	}
	return cidr
}

const defaultTimeout = 5 * time.Second

// nobodyID is the overflow uid/gid that user_namespaces(7) maps unmapped
// IDs to, and the one nslab maps root to for MapRootToNobody.
const nobodyID = 65534
