package sandbox

import (
	"testing"

	"golang.org/x/sys/unix"
)

// The renderers decode the integer passed, in strace's order; a flag
// nslab passes and drops from the text (O_CLOEXEC was one) fails here.
func TestTraceArgRenderers(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{cloneFlagsArg(unix.CLONE_VM|unix.CLONE_VFORK|unix.CLONE_PIDFD|unix.CLONE_NEWUTS|uintptr(unix.SIGCHLD), true),
			"CLONE_VM|CLONE_PIDFD|CLONE_VFORK|CLONE_NEWUTS|SIGCHLD"},
		{cloneFlagsArg(unix.CLONE_NEWTIME|unix.CLONE_NEWUTS|unix.CLONE_PIDFD, false), "CLONE_PIDFD|CLONE_NEWUTS|CLONE_NEWTIME"},
		{cloneFlagsArg(unix.CLONE_NEWTIME, false), "CLONE_NEWTIME"},
		{cloneFlagsArg(0, false), "0"},
		{cloneFlagsArg(1<<40, false), "0x10000000000"},
		{openFlagsArg(unix.O_RDWR | unix.O_CREAT | unix.O_CLOEXEC), "O_RDWR|O_CREAT|O_CLOEXEC"},
		{openFlagsArg(unix.O_RDONLY | unix.O_CLOEXEC), "O_RDONLY|O_CLOEXEC"},
		{mountFlagsArg(unix.MS_REC | unix.MS_PRIVATE), "MS_REC|MS_PRIVATE"},
		{mountFlagsArg(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC), "MS_NOSUID|MS_NODEV|MS_NOEXEC"},
		// The exported forms shelltrace prints the learner's calls with.
		{TraceCloneFlags(0x04000011), "CLONE_NEWUTS|SIGCHLD"},
		{TraceCloneFlags(CloneNewNS | unix.CLONE_VM | unix.CLONE_VFORK | uintptr(unix.SIGCHLD)), "CLONE_VM|CLONE_VFORK|CLONE_NEWNS|SIGCHLD"},
		{TraceFlags(CloneNewUTS | CloneNewNS | CloneNewPID), "CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWPID"},
		{TraceMountFlags(0), "0"},
		{TraceMountFlags(unix.MS_BIND | unix.MS_REC), "MS_BIND|MS_REC"},
		{TraceMountFlags(unix.MS_MGC_VAL | unix.MS_RDONLY), "MS_MGC_VAL|MS_RDONLY"},
		{TraceMountFlags(unix.MS_NOSUID | 1<<30), "MS_NOSUID|0x40000000"},
		{TraceMountFlags(unix.MS_LAZYTIME), "MS_LAZYTIME"},
		{TraceUmountFlags(unix.MNT_DETACH | unix.UMOUNT_NOFOLLOW), "MNT_DETACH|UMOUNT_NOFOLLOW"},
		{TraceUmountFlags(0), "0"},
		{ipcFlagsArg(unix.IPC_CREAT | 0o600), "IPC_CREAT|0600"},
		{strArg("0 65534 1\n"), `"0 65534 1\n"`},
	} {
		if c.got != c.want {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
}

// newEvent keeps the raw return value and the real errno.
func TestNewEventRawReturn(t *testing.T) {
	e := newEvent("write", []string{"3", `"deny\n"`, "5"}, 5, nil)
	if e.Ret != 5 || e.Errno != "" || e.TID != unix.Gettid() {
		t.Errorf("success: %+v", e)
	}
	e = newEvent("openat", nil, -1, unix.EACCES)
	if e.Ret != -1 || e.Errno != "EACCES" {
		t.Errorf("failure: %+v", e)
	}
}
