package sandbox

import (
	"errors"
	"os"
	"testing"
)

// TestRootfsOpsCreateNothingOnTheHost: the root-building operations refuse
// to create anything outside a tmpfs the agent mounted itself, even inside
// its own mount namespace (a bind of a host directory is the host's file
// system), refuse to run in the host's mount namespace, and pivot_root
// only into a tmpfs of their own.
func TestRootfsOpsCreateNothingOnTheHost(t *testing.T) {
	eng := newEngine(t)
	ctx := testCtx(t)
	sb := start(t, eng, Spec{Flags: CloneNewNS, Rootless: RootlessNever})

	const hostDir = "/tmp/nslab-rootfs-refused"
	if err := sb.Mkdir(ctx, hostDir); !errors.Is(err, ErrBadInput) {
		t.Errorf("mkdir on the host's /tmp: %v, want ErrBadInput", err)
	}
	if err := sb.PivotRoot(ctx, "/tmp", ".old"); !errors.Is(err, ErrBadInput) {
		t.Errorf("pivot_root into a directory not of its own: %v, want ErrBadInput", err)
	}
	if err := sb.OwnTmpfs(ctx, "/mnt"); err != nil {
		t.Fatal(err)
	}
	if err := sb.BindAt(ctx, "/usr", "/mnt/usr", true); err != nil {
		t.Fatal(err)
	}
	if err := sb.Mkdir(ctx, "/mnt/usr/nslab-rootfs-refused"); !errors.Is(err, ErrBadInput) {
		t.Errorf("mkdir through a bind of the host's /usr: %v, want ErrBadInput", err)
	}
	if err := sb.Symlink(ctx, "/", "/mnt/usr/nslab-rootfs-refused"); !errors.Is(err, ErrBadInput) {
		t.Errorf("symlink through a bind of the host's /usr: %v, want ErrBadInput", err)
	}
	if err := sb.Mkdir(ctx, "/mnt/a/b"); err != nil {
		t.Errorf("mkdir inside its own tmpfs: %v", err)
	}
	if err := sb.Symlink(ctx, "usr", "/mnt/link"); err != nil {
		t.Fatal(err)
	}
	if err := sb.Mkdir(ctx, "/mnt/link/x"); !errors.Is(err, ErrBadInput) {
		t.Errorf("mkdir through a symlink: %v, want ErrBadInput", err)
	}
	for _, p := range []string{hostDir, "/usr/nslab-rootfs-refused", "/mnt/a"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists on the host", p)
		}
	}

	plain := start(t, eng, Spec{Rootless: RootlessNever})
	if err := plain.OwnTmpfs(ctx, "/mnt"); !errors.Is(err, ErrSameNamespace) {
		t.Errorf("tmpfs in the host's mount namespace: %v, want ErrSameNamespace", err)
	}
	if err := plain.Detach(ctx, "/mnt"); !errors.Is(err, ErrSameNamespace) {
		t.Errorf("detach in the host's mount namespace: %v, want ErrSameNamespace", err)
	}
}
