package sandbox

// Mount propagation and bind mounts inside a sandbox's own mount namespace,
// for the mnt lesson's shared-vs-private demonstration. Both refuse unless
// the agent's mount namespace differs from the host's, so they can never
// change the host's mount table. Making a private copy of a host mount
// shared starts a new peer group inside the sandbox: it cannot link back to
// the host.

import (
	"context"
	"fmt"

	"golang.org/x/sys/unix"
)

const (
	opPropagation = "propagation"
	opBind        = "bind"
)

// propagationFlag maps a propagation type to its mount(2) flag and name.
func propagationFlag(propagation string) (uintptr, string, bool) {
	switch propagation {
	case PropagationShared:
		return unix.MS_SHARED, "MS_SHARED", true
	case PropagationPrivate:
		return unix.MS_PRIVATE, "MS_PRIVATE", true
	case PropagationSlave:
		return unix.MS_SLAVE, "MS_SLAVE", true
	case PropagationUnbindable:
		return unix.MS_UNBINDABLE, "MS_UNBINDABLE", true
	}
	return 0, "", false
}

// SetPropagation changes the propagation type of the one mount at target
// (not recursively) inside the sandbox: "shared", "private", "slave" or
// "unbindable", as `mount --make-shared target` does.
func (s *Sandbox) SetPropagation(ctx context.Context, target, propagation string) error {
	if err := ValidateMountTarget(target); err != nil {
		return err
	}
	if _, _, ok := propagationFlag(propagation); !ok {
		return fmt.Errorf("%w: propagation %q is not shared, private, slave or unbindable", ErrBadInput, propagation)
	}
	_, err := s.call(ctx, request{Op: opPropagation, Path: target, Name: propagation})
	return err
}

// Bind bind-mounts source onto target inside the sandbox (not recursively),
// as `mount --bind source target` does. When source is a shared mount the
// new mount joins its peer group.
func (s *Sandbox) Bind(ctx context.Context, source, target string) error {
	if err := ValidateMountTarget(target); err != nil {
		return err
	}
	if err := ValidateMountTarget(source); err != nil {
		return err
	}
	_, err := s.call(ctx, request{Op: opBind, Path: target, Name: source})
	return err
}

func (a *agent) propagation(target, propagation string) error {
	if err := ValidateMountTarget(target); err != nil {
		return err
	}
	flag, _, ok := propagationFlag(propagation)
	if !ok {
		return fmt.Errorf("%w: propagation %q", ErrBadInput, propagation)
	}
	if err := a.requireOwn("mnt"); err != nil {
		return err
	}
	err := unix.Mount("", target, "", flag, "")
	a.record("mount", []string{strArg(""), strArg(target), strArg(""), mountFlagsArg(flag), "NULL"}, 0, err, "", NSID{}, NSID{}, "")
	return syscallErr("mount --make-"+propagation+" "+target, err)
}

func (a *agent) bind(source, target string) error {
	if err := ValidateMountTarget(target); err != nil {
		return err
	}
	if err := ValidateMountTarget(source); err != nil {
		return err
	}
	if err := a.requireOwn("mnt"); err != nil {
		return err
	}
	err := unix.Mount(source, target, "", unix.MS_BIND, "")
	a.record("mount", []string{strArg(source), strArg(target), strArg(""), mountFlagsArg(unix.MS_BIND), "NULL"}, 0, err, "", NSID{}, NSID{}, "")
	return syscallErr("mount --bind "+source+" "+target, err)
}
