package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Unshare asks the agent to call unshare(flags) on its main thread.
func (s *Sandbox) Unshare(ctx context.Context, flags uintptr) error {
	_, err := s.call(ctx, request{Op: opUnshare, Flags: uint64(flags)})
	return err
}

// Setns asks the agent to join the kind namespace of process pid, passing
// nstype to setns(2) (0: no check; a wrong kind: EINVAL).
func (s *Sandbox) Setns(ctx context.Context, pid int, kind string, nstype uintptr) error {
	_, err := s.call(ctx, request{Op: opSetns, PID: pid, Kind: kind, NSType: uint64(nstype)})
	return err
}

// SetHostname sets the sandbox's hostname. The agent refuses unless its UTS
// namespace differs from the host's.
func (s *Sandbox) SetHostname(ctx context.Context, name string) error {
	if err := ValidateHostname(name); err != nil {
		return err
	}
	_, err := s.call(ctx, request{Op: opHostname, Name: name})
	return err
}

// SetDomainname sets the sandbox's NIS domain name, with the same checks.
func (s *Sandbox) SetDomainname(ctx context.Context, name string) error {
	if err := ValidateHostname(name); err != nil {
		return err
	}
	_, err := s.call(ctx, request{Op: opDomainname, Name: name})
	return err
}

// Mount mounts a fresh fstype ("tmpfs", "proc", "mqueue") at target inside
// the sandbox's mount namespace.
func (s *Sandbox) Mount(ctx context.Context, fstype, target string) error {
	if err := ValidateMountTarget(target); err != nil {
		return err
	}
	_, err := s.call(ctx, request{Op: opMount, FSType: fstype, Path: target})
	return err
}

// Unmount unmounts target inside the sandbox.
func (s *Sandbox) Unmount(ctx context.Context, target string) error {
	_, err := s.call(ctx, request{Op: opUmount, Path: target})
	return err
}

// LinkUp brings a link inside the sandbox up ("lo").
func (s *Sandbox) LinkUp(ctx context.Context, name string) error {
	_, err := s.call(ctx, request{Op: opLinkUp, Name: name})
	return err
}

// Ping sends one ICMP echo from inside the sandbox.
func (s *Sandbox) Ping(ctx context.Context, addr string) (string, error) {
	r, err := s.call(ctx, request{Op: opPing, Addr: addr})
	return r.Text, err
}

// CreateIPC makes a System V message queue and shared memory segment and
// the POSIX message queue name inside the sandbox's IPC namespace.
func (s *Sandbox) CreateIPC(ctx context.Context, mqName string) (string, error) {
	r, err := s.call(ctx, request{Op: opIPC, Name: mqName})
	return r.Text, err
}

// Spawn starts n idle processes inside; it returns their PIDs as the
// sandbox sees them.
func (s *Sandbox) Spawn(ctx context.Context, n int) ([]int, error) {
	r, err := s.call(ctx, request{Op: opSpawn, N: n})
	return r.PIDs, err
}

// Orphan makes an orphan inside: a child that starts a grandchild and
// exits. It returns [child, grandchild] PIDs as the sandbox sees them.
func (s *Sandbox) Orphan(ctx context.Context) ([]int, error) {
	r, err := s.call(ctx, request{Op: opOrphan})
	if err != nil {
		return r.PIDs, err
	}
	// The reply's events were translated to host pids while the child was
	// alive; now it may exit and leave its orphan.
	_, err = s.call(ctx, request{Op: opOrphanRelease})
	return r.PIDs, err
}

// Observe takes a snapshot of what the sandbox sees: the agent observes on
// its own main thread, and the PID view is read from the host's /proc.
func (s *Sandbox) Observe(ctx context.Context, views []View) (Snapshot, error) {
	var agentViews []View
	wantPIDs, wantTree := false, false
	for _, v := range views {
		if v == ViewPIDs {
			wantPIDs = true
			continue
		}
		if v == ViewTree {
			wantTree = true
			continue
		}
		agentViews = append(agentViews, v)
	}
	snap := Snapshot{}
	if len(agentViews) > 0 {
		r, err := s.call(ctx, request{Op: opObserve, Views: agentViews})
		if err != nil {
			return Snapshot{}, err
		}
		if r.Snapshot == nil {
			return Snapshot{}, fmt.Errorf("%w: observe reply without a snapshot", ErrAgent)
		}
		snap = *r.Snapshot
	}
	snap.Side, snap.PID, snap.Views = "sandbox", s.pid, views
	if snap.Taken.IsZero() {
		snap.Taken = time.Now()
	}
	if wantTree {
		// From the host: the sandbox's namespaces, their ancestors and
		// everything below them (nested ones the learner makes too).
		t, err := ObserveTree(s.pid, true)
		snap.Tree = t
		if err != nil {
			if snap.Errs == nil {
				snap.Errs = ViewErrs{}
			}
			snap.Errs[ViewTree] = err.Error()
		}
	}
	if wantPIDs {
		// pid_for_children: after unshare(CLONE_NEWPID) the agent itself
		// stays outside, its children are the namespace. Until a first
		// child entered, the kernel shows no such link: the agent's own.
		path := fmt.Sprintf("/proc/%d/ns/pid_for_children", s.pid)
		if _, err := os.Stat(path); err != nil {
			path = fmt.Sprintf("/proc/%d/ns/pid", s.pid)
		}
		var err error
		snap.Procs, err = ObserveProcsAt(path)
		if err != nil {
			if snap.Errs == nil {
				snap.Errs = ViewErrs{}
			}
			snap.Errs[ViewPIDs] = err.Error()
		}
	}
	return snap, nil
}

// ObserveChild starts a short-lived child of the agent that reports what
// it sees: a child lands in the agent's pid_for_children and
// time_for_children namespaces, which unshare and setns change for them.
func (s *Sandbox) ObserveChild(ctx context.Context, views []View) (Snapshot, error) {
	r, err := s.call(ctx, request{Op: opChildObs, Views: views})
	if err != nil {
		return Snapshot{}, err
	}
	if r.Snapshot == nil {
		return Snapshot{}, fmt.Errorf("%w: child observation without a snapshot", ErrAgent)
	}
	return *r.Snapshot, nil
}

// SetTimeOffset writes a clock offset ("monotonic" or "boottime", whole
// seconds) for the time namespace the agent's next children will enter.
func (s *Sandbox) SetTimeOffset(ctx context.Context, clock string, secs int) error {
	_, err := s.call(ctx, request{Op: opTimeOffset, Name: clock, N: secs})
	return err
}

// Close kills the agent and everything in its process group, reaps it,
// deletes host-side links and waits (bounded) until they are gone. It is
// idempotent; a second call returns nil at once.
func (s *Sandbox) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	veths := s.veths
	s.mu.Unlock()
	defer s.eng.forget(s)

	var errs []error
	for _, name := range veths {
		if l, err := netlink.LinkByName(name); err == nil {
			if err := netlink.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
				errs = append(errs, fmt.Errorf("delete host link %s: %w", name, err))
			}
		}
	}
	if s.toAgent != nil {
		// A closed request pipe ends the agent: it kills and reaps its own
		// children before it exits (killChildren), so none is left a
		// zombie that only the host's init could reap.
		s.toAgent.Close()
		if s.cmd != nil && s.cmd.Process != nil {
			select {
			case <-s.exited:
			case <-time.After(3 * time.Second):
			}
		}
	}
	if s.cmd != nil && s.cmd.Process != nil {
		// The agent runs in its own session: its process group holds it
		// and its idle children (when it is not PID 1 of a namespace,
		// whose death would take them all). For an agent that did not
		// exit by itself.
		_ = unix.Kill(-s.pid, unix.SIGKILL)
		_ = s.cmd.Process.Kill()
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			errs = append(errs, fmt.Errorf("%w: agent %d not reaped within 5s", ErrAgent, s.pid))
		}
	}
	// Empty now: the agent and its children are gone.
	if err := s.removeCgroup(); err != nil {
		errs = append(errs, err)
	}
	// A network namespace is torn down asynchronously by the kernel after
	// its last process dies; a veth end on the host goes with it.
	deadline := time.Now().Add(3 * time.Second)
	for _, name := range veths {
		for time.Now().Before(deadline) {
			if _, err := netlink.LinkByName(name); err != nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if _, err := netlink.LinkByName(name); err == nil {
			errs = append(errs, fmt.Errorf("host link %s still present after close", name))
		}
	}
	return errors.Join(errs...)
}
