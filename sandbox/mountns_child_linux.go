package sandbox

// A second mount namespace cloned from a sandbox's own, for the
// propagation lesson: an idle child of the agent started with
// CLONE_NEWNS. Its table is a copy of the agent's, so the agent's shared
// mounts have peers in it; the agent's mount namespace was made private
// from the host when it started, so nothing reaches the host's.

import (
	"context"
	"fmt"

	"golang.org/x/sys/unix"
)

const opSpawnMountNS = "spawnmountns"

// SpawnMountNS starts an idle child of the agent in a new mount namespace
// copied from the agent's, and returns its PID as the sandbox sees it
// (the host's PID when the sandbox has no PID namespace of its own). It
// lives until the sandbox closes.
func (s *Sandbox) SpawnMountNS(ctx context.Context) (int, error) {
	r, err := s.call(ctx, request{Op: opSpawnMountNS})
	if err != nil {
		return 0, err
	}
	if len(r.PIDs) != 1 {
		return 0, fmt.Errorf("%w: spawnmountns replied %v", ErrAgent, r.PIDs)
	}
	return r.PIDs[0], nil
}

func (a *agent) spawnMountNS() ([]int, error) {
	if err := a.requireOwn("mnt"); err != nil {
		return nil, err
	}
	return a.spawnIdleIn(unix.CLONE_NEWNS, "mnt",
		"a second mount namespace, copied from this one: its shared mounts are peers of ours")
}
