package sandbox

import (
	"fmt"
	"os"
	"strconv"
)

// ReadMountTable reads the mount table of pid's mount namespace from the
// host (/proc/PID/mountinfo, through moby/sys/mountinfo) and names it.
func ReadMountTable(name string, pid int, host bool) (MountTable, error) {
	dir := "/proc/" + strconv.Itoa(pid)
	ns, err := os.Readlink(dir + "/ns/mnt")
	if err != nil {
		return MountTable{}, fmt.Errorf("the %s mount namespace (pid %d): %w", name, pid, err)
	}
	ms, err := readMounts(dir + "/mountinfo")
	if err != nil {
		return MountTable{}, fmt.Errorf("the %s mount namespace (pid %d): %w", name, pid, err)
	}
	return MountTable{Name: name, NS: ns, PID: pid, Host: host, Mounts: ms}, nil
}
