package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// HostOps are the privileged operations the engine did on the host for
// this sandbox so far, in order: on a confined engine, what the class
// server did on the learner's behalf.
func (s *Sandbox) HostOps() []HostOp {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.hostOps)
}

func (s *Sandbox) addHostOp(op HostOp) {
	if op.Time.IsZero() {
		op.Time = time.Now()
	}
	s.mu.Lock()
	s.hostOps = append(s.hostOps, op)
	s.mu.Unlock()
}

// mapsWritten is the HostOp of a confined agent's id maps, once written.
func (c *confinement) mapsWritten(pid int) HostOp {
	r := c.c.IDs
	return HostOp{Op: HostOpIDMaps, Object: fmt.Sprintf("/proc/%d/uid_map", pid),
		Text: fmt.Sprintf("wrote /proc/%d/uid_map and gid_map: ids 0-%d inside your user namespace are %d-%d on the host, a range no one else has",
			pid, r.Count-1, r.Base, r.End()-1)}
}

// noForward turns IPv4 forwarding off on a confined sandbox's host end of
// a veth, and IPv6 off on it: the host still answers what is sent to its
// own addresses (the net lesson's challenge), but routes nothing that
// comes in on this link onward, to another learner's veth or beyond.
// The kernel checks forwarding on the link a packet came in on
// (ip-sysctl: conf/interface/forwarding); IPv6 has no such per-link
// check, so IPv6 is turned off on the link altogether.
func noForward(link string) (HostOp, error) {
	for _, f := range []struct{ path, val string }{
		{filepath.Join("/proc/sys/net/ipv4/conf", link, "forwarding"), "0"},
		{filepath.Join("/proc/sys/net/ipv6/conf", link, "disable_ipv6"), "1"},
	} {
		if _, err := os.Stat(f.path); os.IsNotExist(err) && filepath.Base(f.path) == "disable_ipv6" {
			continue // a kernel without IPv6
		}
		if err := os.WriteFile(f.path, []byte(f.val), 0); err != nil {
			return HostOp{}, fmt.Errorf("%w: keep the host from forwarding what comes in on %s: %w", ErrConfine, link, err)
		}
	}
	return HostOp{Op: HostOpNoForward, Object: link,
		Text: "turned forwarding off on " + link + " (IPv4 forwarding 0, IPv6 off): the host answers what you send to its own addresses, and passes nothing on to other learners or beyond"}, nil
}
