package sandbox

import (
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// linkUp and addAddr talk rtnetlink through vishvananda/netlink. They make
// no trace event: the request is a sendto on a netlink socket whose
// message strace decodes field by field, and nslab cannot show that call
// as made from outside the library.
func (a *agent) linkUp(name string) error {
	if err := a.requireOwn("net"); err != nil {
		return err
	}
	l, err := netlink.LinkByName(name)
	if err == nil {
		err = netlink.LinkSetUp(l)
	}
	return syscallErr("link set "+name+" up", err)
}

func (a *agent) addAddr(name, cidr string) error {
	if err := a.requireOwn("net"); err != nil {
		return err
	}
	addr, err := netlink.ParseAddr(cidr)
	if err != nil {
		return fmt.Errorf("%w: address %q: %w", ErrBadInput, cidr, err)
	}
	l, err := netlink.LinkByName(name)
	if err == nil {
		err = netlink.AddrAdd(l, addr)
	}
	return syscallErr("addr add "+cidr+" dev "+name, err)
}

// ping sends one ICMP echo request from the agent's network namespace and
// waits up to a second for the reply.
func (a *agent) ping(addr string) (string, error) {
	ip := net.ParseIP(addr).To4()
	if ip == nil {
		return "", fmt.Errorf("%w: %q is no IPv4 address", ErrBadInput, addr)
	}
	rtt, err := pingOnce(ip, time.Second, a.add)
	if err != nil {
		return "", fmt.Errorf("ping %s: %w", addr, err)
	}
	return fmt.Sprintf("reply from %s in %v", addr, rtt.Round(time.Microsecond)), nil
}

// createIPC makes one System V message queue, one shared memory segment and
// one POSIX message queue in the agent's IPC namespace.
func (a *agent) createIPC(name string) (string, error) {
	if err := a.requireOwn("ipc"); err != nil {
		return "", err
	}
	if err := ValidateMQName(name); err != nil {
		return "", err
	}
	const key = 0x6e736c62 // "nslb"
	var out []string
	const ipcFlags = unix.IPC_CREAT | 0o600
	id, err := unix.SysvShmGet(key, 4096, ipcFlags)
	a.record("shmget", []string{fmt.Sprintf("%#x", key), "4096", ipcFlagsArg(ipcFlags)}, int64(id), err, "", NSID{}, NSID{}, "")
	if err != nil {
		return "", syscallErr("shmget", err)
	}
	out = append(out, fmt.Sprintf("shm id %d", id))
	mid, _, errno := unix.Syscall(unix.SYS_MSGGET, key, ipcFlags, 0)
	err = errnoOrNil(errno)
	a.record("msgget", []string{fmt.Sprintf("%#x", key), ipcFlagsArg(ipcFlags)}, int64(mid), err, "", NSID{}, NSID{}, "")
	if err != nil {
		return "", syscallErr("msgget", err)
	}
	out = append(out, fmt.Sprintf("msg id %d", mid))
	fd, sysName, sysFlags, err := mqOpen(name, unix.O_CREAT|unix.O_RDWR, 0o600)
	a.record("mq_open", []string{strArg(sysName), openFlagsArg(sysFlags), "0600", "NULL"}, int64(fd), err, "", NSID{}, NSID{},
		fmt.Sprintf("mq_open(3) takes %q; the C library drops the leading '/' before the syscall", name))
	if err != nil {
		return "", syscallErr("mq_open", err)
	}
	unix.Close(fd)
	out = append(out, "mq "+name)
	return strings.Join(out, ", "), nil
}

func errnoOrNil(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}
