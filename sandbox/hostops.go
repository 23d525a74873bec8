package sandbox

import "time"

// HostOp is one privileged operation the engine did on the host for a
// sandbox, recorded as it was done: what a class learner, root only
// inside their own user namespace, cannot do, and the class server did
// on their behalf (issue 13: "each such lesson states what the server
// did on the learner's behalf").
type HostOp struct {
	Time time.Time `json:"time"`
	// Op names the kind of operation (the HostOp* constants).
	Op string `json:"op"`
	// Object is what it made or changed on the host: a /proc file, a
	// cgroup directory, a link.
	Object string `json:"object"`
	// Text says what was done, to the learner, with the real names and
	// numbers.
	Text string `json:"text"`
}

// The kinds of HostOp.
const (
	HostOpIDMaps    = "id maps"       // the learner's id range written to uid_map and gid_map
	HostOpCgroup    = "cgroup"        // the agent moved into the learner's cgroup
	HostOpNProc     = "rlimit"        // RLIMIT_NPROC set on the agent
	HostOpVeth      = "veth"          // a veth pair made, its peer in the sandbox
	HostOpNoForward = "no forwarding" // the host end of a veth forwards nothing on
)
