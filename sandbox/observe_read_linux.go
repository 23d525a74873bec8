package sandbox

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moby/sys/mountinfo"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/sandbox/internal/nldump"
)

// This file reads one view each of what the calling thread sees: its UTS
// names, a mount table, its network through netlink, its IPC objects, its
// credentials and its clocks.

// readUTS reads the node and domain name of the calling thread's UTS
// namespace.
func readUTS() (host, domain string, err error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", "", fmt.Errorf("uname: %w", err)
	}
	return unix.ByteSliceToString(u.Nodename[:]), unix.ByteSliceToString(u.Domainname[:]), nil
}

// readMounts parses a mountinfo file with github.com/moby/sys/mountinfo.
func readMounts(path string) ([]Mount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mount table: %w", err)
	}
	defer f.Close()
	infos, err := mountinfo.GetMountsFromReader(f, nil)
	if err != nil {
		return nil, fmt.Errorf("mount table %s: %w", path, err)
	}
	out := make([]Mount, len(infos))
	for i, in := range infos {
		out[i] = mountFromInfo(in)
	}
	return out, nil
}

// readNet lists links, addresses and main-table routes through netlink.
// The handle's socket is opened on the calling thread, so it lives in that
// thread's network namespace; one socket serves the three dumps.
func readNet() ([]Link, []Route, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, nil, fmt.Errorf("netlink socket: %w", err)
	}
	defer h.Close()
	nlinks, err := nldump.Do("list links", h.LinkList)
	if err != nil {
		return nil, nil, err
	}
	addrs, err := nldump.Do("list addresses", func() ([]netlink.Addr, error) {
		return h.AddrList(nil, netlink.FAMILY_ALL)
	})
	if err != nil {
		return nil, nil, err
	}
	routes, err := nldump.Do("list routes", func() ([]netlink.Route, error) {
		return h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, nil, err
	}

	names := make(map[int]string, len(nlinks))
	for _, l := range nlinks {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	byIndex := make(map[int][]string, len(nlinks))
	for _, a := range addrs {
		if a.IPNet != nil {
			byIndex[a.LinkIndex] = append(byIndex[a.LinkIndex], a.IPNet.String())
		}
	}
	links := make([]Link, 0, len(nlinks))
	for _, l := range nlinks {
		at := l.Attrs()
		typ := l.Type()
		if at.Flags&net.FlagLoopback != 0 {
			typ = "loopback" // netlink calls lo a "device"
		}
		lk := Link{
			Index: at.Index,
			Name:  at.Name,
			Type:  typ,
			State: operState(at.OperState),
			Addrs: byIndex[at.Index],
		}
		if len(at.HardwareAddr) > 0 {
			lk.MAC = at.HardwareAddr.String()
		}
		if typ == "veth" && at.ParentIndex != 0 {
			// IFLA_LINK of a veth is its peer's index, in the peer's
			// namespace: a name only when the peer is here too.
			if n, ok := names[at.ParentIndex]; ok && at.NetNsID < 0 {
				lk.Peer = n
			} else {
				lk.Peer = "if" + strconv.Itoa(at.ParentIndex)
			}
		}
		links = append(links, lk)
	}
	sort.Slice(links, func(i, j int) bool { return links[i].Index < links[j].Index })

	out := make([]Route, 0, len(routes))
	for _, r := range routes {
		rt := Route{Dst: "default", Dev: names[r.LinkIndex], Scope: r.Scope.String(), Protocol: r.Protocol.String()}
		if r.Dst != nil {
			if ones, _ := r.Dst.Mask.Size(); ones != 0 || !r.Dst.IP.IsUnspecified() {
				rt.Dst = r.Dst.String()
			}
		}
		if r.Gw != nil {
			rt.Gateway = r.Gw.String()
		}
		if r.Src != nil {
			rt.Src = r.Src.String()
		}
		out = append(out, rt)
	}
	return links, out, nil
}

// operState renders a link's operational state the way ip(8) prints it.
func operState(s netlink.LinkOperState) string {
	return strings.ToUpper(strings.ReplaceAll(s.String(), "-", ""))
}

// mqueueNoMount is the note for a side whose mount table has no mqueue
// filesystem.
const mqueueNoMount = "no mqueue filesystem is mounted in this mount namespace, so POSIX message queues cannot be listed (mount -t mqueue none /dev/mqueue)"

// readIPC reads the System V objects of the calling thread's IPC
// namespace (/proc/sysvipc shows the reader's) and the POSIX queues of the
// mqueue mount in its mount table.
func readIPC(buf []byte, mounts func() ([]Mount, error)) (*IPC, error) {
	ipc := &IPC{}
	var errs []error
	for _, k := range []sysvKind{sysvMsg, sysvShm, sysvSem} {
		b, nb, err := readFile("/proc/sysvipc/"+k.file, buf)
		buf = nb
		if err != nil {
			errs = append(errs, err)
			continue
		}
		objs, err := parseSysvipc(b, k)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		switch k.file {
		case "msg":
			ipc.MsgQueues = objs
		case "shm":
			ipc.ShmSegs = objs
		case "sem":
			ipc.Semaphores = objs
		}
	}

	ms, err := mounts()
	if err != nil {
		ipc.MQueueNote = "the mount table could not be read, so POSIX message queues cannot be listed"
		return ipc, errors.Join(append(errs, err)...)
	}
	mq := ""
	for _, m := range ms {
		if m.FSType == "mqueue" && (mq == "" || m.Mountpoint == "/dev/mqueue") {
			mq = m.Mountpoint
		}
	}
	if mq == "" {
		ipc.MQueueNote = mqueueNoMount
		return ipc, errors.Join(errs...)
	}
	f, err := os.Open(mq)
	if err != nil {
		ipc.MQueueNote = fmt.Sprintf("the mqueue mount at %s could not be read", mq)
		return ipc, errors.Join(append(errs, fmt.Errorf("list POSIX queues: %w", err))...)
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		errs = append(errs, fmt.Errorf("list POSIX queues: %w", err))
	}
	for _, n := range names {
		ipc.MQueues = append(ipc.MQueues, "/"+n)
	}
	sort.Strings(ipc.MQueues)
	return ipc, errors.Join(errs...)
}

// readUser reads the calling thread's credentials, ID maps and effective
// capabilities. The numbers in status and the maps are shown relative to
// the reader's own user namespace, which here is the observed one.
func readUser(buf []byte) (*User, error) {
	b, buf, err := readFile(threadSelf+"/status", buf)
	if err != nil {
		return nil, err
	}
	st, err := parseStatus(b)
	if err != nil {
		return nil, err
	}
	u := &User{UID: st.UID, GID: st.GID, EUID: st.EUID, EGID: st.EGID, CapEff: st.CapEff}
	u.CapNames = CapNames(u.CapEff)
	if b, buf, err = readFile(threadSelf+"/uid_map", buf); err != nil {
		return u, err
	}
	if u.UIDMap, err = parseIDMap(b); err != nil {
		return u, err
	}
	if b, buf, err = readFile(threadSelf+"/gid_map", buf); err != nil {
		return u, err
	}
	if u.GIDMap, err = parseIDMap(b); err != nil {
		return u, err
	}
	if b, _, err = readFile(threadSelf+"/setgroups", buf); err != nil {
		return u, err
	}
	u.Setgroups = strings.TrimSpace(string(b))
	return u, nil
}

// readClocks reads the clocks a time namespace offsets, and the offsets.
func readClocks(buf []byte) (*Clocks, error) {
	var mono, boot unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono); err != nil {
		return nil, fmt.Errorf("clock_gettime(CLOCK_MONOTONIC): %w", err)
	}
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot); err != nil {
		return nil, fmt.Errorf("clock_gettime(CLOCK_BOOTTIME): %w", err)
	}
	c := &Clocks{Monotonic: time.Duration(mono.Nano()), Boottime: time.Duration(boot.Nano())}
	// timens_offsets is per process (time namespaces apply to a whole
	// process), so the kernel offers it under /proc/self, not per thread.
	for _, p := range []string{threadSelf + "/timens_offsets", "/proc/self/timens_offsets"} {
		b, _, err := readFile(p, buf)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return c, err
		}
		c.Offsets = formatOffsets(b)
		break
	}
	return c, nil
}
