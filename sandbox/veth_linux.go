package sandbox

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nslab/nslab/sandbox/internal/nldump"
	"github.com/vishvananda/netlink"
)

// AddVeth creates a veth pair: one end on the host, the other inside the
// sandbox (named eth0), addresses both from a /24 the host does not route
// yet, and brings both ends and the sandbox's lo up. Needs root on the
// host: an unprivileged user cannot add links to the host's namespace.
func (s *Sandbox) AddVeth(ctx context.Context) (Veth, error) {
	ids, err := ReadIDs(s.pid)
	if err != nil {
		return Veth{}, fmt.Errorf("add veth: %w", err)
	}
	if ids["net"] == s.eng.host["net"] {
		return Veth{}, fmt.Errorf("add veth: net namespace %s: %w", ids["net"], ErrSameNamespace)
	}
	subnet, err := freeSubnet(s.pid)
	if err != nil {
		return Veth{}, err
	}
	v := Veth{
		HostName:    "nslab" + strconv.Itoa(s.pid),
		SandboxName: "eth0",
		HostAddr:    fmt.Sprintf("10.%d.%d.1/24", subnet[0], subnet[1]),
		SandboxAddr: fmt.Sprintf("10.%d.%d.2/24", subnet[0], subnet[1]),
	}
	if len(v.HostName) > 15 {
		v.HostName = v.HostName[:15]
	}
	link := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: v.HostName}, PeerName: v.SandboxName,
		PeerNamespace: netlink.NsPid(s.pid)}
	err = netlink.LinkAdd(link)
	// No trace event for the rtnetlink requests here and below: each is a
	// sendto on a netlink socket inside vishvananda/netlink, whose message
	// strace decodes field by field; nslab cannot show that call as made.
	if err != nil {
		return Veth{}, syscallErr("add veth "+v.HostName, err)
	}
	s.mu.Lock()
	s.veths = append(s.veths, v.HostName)
	s.mu.Unlock()
	var noFwd HostOp
	if s.eng.conf != nil {
		// Before the host end has an address or is up: no packet of the
		// learner's is ever forwarded.
		if noFwd, err = noForward(v.HostName); err != nil {
			return v, err
		}
	}

	hl, err := netlink.LinkByName(v.HostName)
	if err != nil {
		return v, fmt.Errorf("find host end %s: %w", v.HostName, err)
	}
	addr, _ := netlink.ParseAddr(v.HostAddr)
	err = netlink.AddrAdd(hl, addr)
	if err != nil {
		return v, syscallErr("address host end", err)
	}
	err = netlink.LinkSetUp(hl)
	if err != nil {
		return v, syscallErr("bring host end up", err)
	}
	if _, err := s.call(ctx, request{Op: opAddr, Name: v.SandboxName, Addr: v.SandboxAddr}); err != nil {
		return v, err
	}
	for _, l := range []string{"lo", v.SandboxName} {
		if err := s.LinkUp(ctx, l); err != nil {
			return v, err
		}
	}
	s.addHostOp(HostOp{Op: HostOpVeth, Object: v.HostName,
		Text: fmt.Sprintf("created the veth pair %s and %s (one rtnetlink RTM_NEWLINK): %s on the host, with address %s and up; its peer %s made directly in your network namespace %s (IFLA_NET_NS_PID %d)",
			v.HostName, v.SandboxName, v.HostName, v.HostAddr, v.SandboxName, ids["net"].Label("net"), s.pid)})
	if noFwd.Op != "" {
		s.addHostOp(noFwd)
	}
	// The carrier comes up asynchronously once both ends are up; a ping
	// sent before that is lost. Wait (bounded) for the host end's UP.
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if l, err := netlink.LinkByName(v.HostName); err == nil && l.Attrs().OperState == netlink.OperUp {
			break
		}
	}
	return v, nil
}

// freeSubnet picks 10.A.B.0/24 that no host route or address overlaps,
// starting from one derived from the agent's PID so that two sandboxes
// rarely probe the same one.
func freeSubnet(pid int) ([2]int, error) {
	// Other sandboxes' veths come and go meanwhile: nldump.Do retries a
	// dump they interrupt, rather than fail or pick from a partial list.
	routes, err := nldump.Do("list host routes", func() ([]netlink.Route, error) {
		return netlink.RouteList(nil, netlink.FAMILY_V4)
	})
	if err != nil {
		return [2]int{}, err
	}
	addrs, err := nldump.Do("list host addresses", func() ([]netlink.Addr, error) {
		return netlink.AddrList(nil, netlink.FAMILY_V4)
	})
	if err != nil {
		return [2]int{}, err
	}
	for i := 0; i < 200; i++ {
		b := 200 + (pid+i)%50
		c := (pid/50 + i) % 250
		_, n, _ := net.ParseCIDR(fmt.Sprintf("10.%d.%d.0/24", b, c))
		clash := false
		for _, r := range routes {
			if r.Dst == nil {
				continue
			}
			if ones, _ := r.Dst.Mask.Size(); ones == 0 {
				continue // the default route overlaps everything and matters not
			}
			if r.Dst.Contains(n.IP) || n.Contains(r.Dst.IP) {
				clash = true
			}
		}
		for _, a := range addrs {
			if n.Contains(a.IP) {
				clash = true
			}
		}
		if !clash {
			return [2]int{b, c}, nil
		}
	}
	return [2]int{}, fmt.Errorf("no free 10.200-249.x.0/24 subnet for the veth pair")
}
