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

func (a *agent) linkUp(name string) error {
	if err := a.requireOwn("net"); err != nil {
		return err
	}
	l, err := netlink.LinkByName(name)
	if err == nil {
		err = netlink.LinkSetUp(l)
	}
	a.record("netlink", []string{"RTM_NEWLINK", fmt.Sprintf("%q", name), "IFF_UP"}, 0, err, "", NSID{}, NSID{}, "the same as: ip link set "+name+" up")
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
	a.record("netlink", []string{"RTM_NEWADDR", fmt.Sprintf("%q", name), cidr}, 0, err, "", NSID{}, NSID{}, "the same as: ip addr add "+cidr+" dev "+name)
	return syscallErr("addr add "+cidr+" dev "+name, err)
}

// ping sends one ICMP echo request from the agent's network namespace and
// waits up to a second for the reply.
func (a *agent) ping(addr string) (string, error) {
	ip := net.ParseIP(addr).To4()
	if ip == nil {
		return "", fmt.Errorf("%w: %q is no IPv4 address", ErrBadInput, addr)
	}
	rtt, err := pingOnce(ip, time.Second)
	a.record("sendto", []string{"ICMP_ECHO", addr}, 0, err, "", NSID{}, NSID{}, "")
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
	id, err := unix.SysvShmGet(key, 4096, unix.IPC_CREAT|0o600)
	a.record("shmget", []string{fmt.Sprintf("%#x", key), "4096", "IPC_CREAT|0600"}, int64(id), err, "", NSID{}, NSID{}, "")
	if err != nil {
		return "", syscallErr("shmget", err)
	}
	out = append(out, fmt.Sprintf("shm id %d", id))
	mid, _, errno := unix.Syscall(unix.SYS_MSGGET, key, unix.IPC_CREAT|0o600, 0)
	err = errnoOrNil(errno)
	a.record("msgget", []string{fmt.Sprintf("%#x", key), "IPC_CREAT|0600"}, int64(mid), err, "", NSID{}, NSID{}, "")
	if err != nil {
		return "", syscallErr("msgget", err)
	}
	out = append(out, fmt.Sprintf("msg id %d", mid))
	fd, err := mqOpen(name, unix.O_CREAT|unix.O_RDWR, 0o600)
	a.record("mq_open", []string{fmt.Sprintf("%q", name), "O_CREAT|O_RDWR", "0600", "NULL"}, int64(fd), err, "", NSID{}, NSID{}, "")
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
