// Package net is lesson 5, "Network namespaces: a network stack of its own": its Go logic.
// Its text and prompts are lesson.md and lesson.toml beside this file;
// package catalog registers Logic. It may import lessons and sandbox,
// never another lesson, catalog or ui.
package net

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// Keys of the values the net lesson keeps with Sandboxes.Set during Perform.
const (
	netFirstLinks  = "net.first_links"     // "lo DOWN": the links right after clone, "NAME STATE" each
	netFirstRoutes = "net.first_routes"    // how many routes the new namespace had then
	netPingLoDown  = "net.ping_lo_down"    // outcome of ping 127.0.0.1 with lo down
	netPingLoUp    = "net.ping_lo_up"      // the same after lo was brought up
	netHostEnd     = "net.host_end"        // the veth end on the host ("nslab<PID>")
	netHostAddr    = "net.host_addr"       // its CIDR
	netBoxEnd      = "net.sandbox_end"     // the end inside ("eth0")
	netBoxAddr     = "net.sandbox_addr"    // its CIDR
	netSubnet      = "net.subnet"          // the veth pair's /24
	netPingVeth    = "net.ping_veth"       // outcome of the ping to the host's end
	netTarget      = "net.target"          // the host's main address: the challenge's destination
	netTargetDev   = "net.target_dev"      // the host link that carries it
	netPingTarget  = "net.ping_target"     // outcome of a ping to it before the challenge
	netHostDefault = "net.host_default"    // the host's default route, as RouteValue renders it
	netHostGateway = "net.host_gateway"    // the host's default gateway ("" without one)
	netConfined    = "net.confined"        // in a class: the kinds the class server made new ("uts,ipc,..."), /proc/PID/ns names
	netLoopback    = "127.0.0.1"           // the address lo carries once up
	netNoTarget    = "no-address-to-reach" // netTarget's value when the host has none
)

// Logic: clone(CLONE_NEWNET) gives a network stack with nothing but a
// loopback device that is down; the lesson brings it up, joins the
// namespace to the host with a veth pair, pings across and sets the two
// routing tables side by side. The challenge (a default route inside) is
// left undone by Perform.
func Logic() lessons.Logic {
	return lessons.Logic{
		Spec:    sandbox.Spec{Flags: sandbox.CloneNewNet, Label: "net"},
		Perform: netPerform,
		Views:   []sandbox.View{sandbox.ViewIDs, sandbox.ViewNet},
		Facts:   netFacts,
		Answer:  netAnswer,
		Check:   netCheck,
	}
}

func netPerform(ctx context.Context, r *lessons.Sandboxes) error {
	sb := r.Box
	if c := sb.Confined(); c != 0 {
		var names []string
		for _, k := range sandbox.KindsIn(c) {
			names = append(names, k.ProcName)
		}
		r.Set(netConfined, strings.Join(names, ","))
	}
	first, err := sb.Observe(ctx, []sandbox.View{sandbox.ViewNet})
	if err != nil {
		return fmt.Errorf("look at the new network namespace: %w", err)
	}
	if e := first.Errs[sandbox.ViewNet]; e != "" {
		return fmt.Errorf("look at the new network namespace: %s", e)
	}
	r.Set(netFirstLinks, linkStates(first.Links))
	r.Set(netFirstRoutes, strconv.Itoa(len(first.Routes)))

	// Failing here is the point: with lo down there is no route, not
	// even to 127.0.0.1. The outcome is kept, not returned.
	r.Set(netPingLoDown, lessons.Outcome(sb.Ping(ctx, netLoopback)))
	if err := sb.LinkUp(ctx, "lo"); err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	r.Set(netPingLoUp, lessons.Outcome(sb.Ping(ctx, netLoopback)))

	v, err := sb.AddVeth(ctx)
	if err != nil {
		return fmt.Errorf("veth pair to the host: %w", err)
	}
	r.Set(netHostEnd, v.HostName)
	r.Set(netHostAddr, v.HostAddr)
	r.Set(netBoxEnd, v.SandboxName)
	r.Set(netBoxAddr, v.SandboxAddr)
	if _, subnet, err := net.ParseCIDR(v.SandboxAddr); err == nil {
		r.Set(netSubnet, subnet.String())
	}
	// A veth's carrier comes on asynchronously (the kernel's link watch
	// may take up to a second); until then packets are dropped. Wait until
	// both ends report UP before the first ping.
	if err := waitVethUp(ctx, r, v); err != nil {
		return err
	}
	r.Set(netPingVeth, lessons.Outcome(sb.Ping(ctx, v.HostIP())))

	host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewNet})
	if e := host.Errs[sandbox.ViewNet]; e != "" {
		return fmt.Errorf("look at the host's network: %s", e)
	}
	if d, ok := defaultRoute(host.Routes); ok {
		r.Set(netHostDefault, routeLine(d))
		r.Set(netHostGateway, d.Gateway)
	}
	target, dev := hostMainAddr(host, v)
	if target == "" {
		r.Set(netTarget, netNoTarget)
		return nil
	}
	r.Set(netTarget, target)
	r.Set(netTargetDev, dev)
	// Before the challenge this fails (no route): the check below must
	// see the opposite once the learner has solved it.
	r.Set(netPingTarget, lessons.Outcome(sb.Ping(ctx, target)))
	return nil
}

// waitVethUp waits (3 s at most) until both ends of the veth pair have
// the operational state UP.
func waitVethUp(ctx context.Context, r *lessons.Sandboxes, v sandbox.Veth) error {
	deadline := time.Now().Add(3 * time.Second)
	for {
		in, err := r.Box.Observe(ctx, []sandbox.View{sandbox.ViewNet})
		if err != nil {
			return fmt.Errorf("look at the sandbox's links: %w", err)
		}
		host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewNet})
		inner, _ := linkNamed(in.Links, v.SandboxName)
		outer, _ := linkNamed(host.Links, v.HostName)
		if inner.State == "UP" && outer.State == "UP" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the veth pair did not come up within 3s: %s inside %q, %s on the host %q",
				v.SandboxName, inner.State, v.HostName, outer.State)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// linkStates renders links as "lo DOWN, eth0 UP".
func linkStates(ls []sandbox.Link) string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Name+" "+l.State)
	}
	return strings.Join(out, ", ")
}

func defaultRoute(rs []sandbox.Route) (sandbox.Route, bool) {
	for _, r := range rs {
		if r.Dst == "default" && (r.Gateway == "" || net.ParseIP(r.Gateway).To4() != nil) {
			return r, true
		}
	}
	return sandbox.Route{}, false
}

// hostMainAddr picks the host address the challenge asks the sandbox to
// reach: the first IPv4 address of the link the host's default route uses,
// else of any other up link that is not loopback and not this veth. It
// returns "" when the host has none.
func hostMainAddr(host sandbox.Snapshot, v sandbox.Veth) (ip, dev string) {
	_, vnet, _ := net.ParseCIDR(v.HostAddr)
	first4 := func(l sandbox.Link) string {
		for _, a := range l.Addrs {
			ipa, _, err := net.ParseCIDR(a)
			if err != nil || ipa.To4() == nil || ipa.IsLoopback() || (vnet != nil && vnet.Contains(ipa)) {
				continue
			}
			return ipa.String()
		}
		return ""
	}
	if d, ok := defaultRoute(host.Routes); ok {
		for _, l := range host.Links {
			if l.Name == d.Dev {
				if a := first4(l); a != "" {
					return a, l.Name
				}
			}
		}
	}
	for _, l := range host.Links {
		if l.Type == "loopback" || l.Name == v.HostName || strings.HasPrefix(l.Name, "nslab") || l.State == "DOWN" {
			continue
		}
		if a := first4(l); a != "" {
			return a, l.Name
		}
	}
	return "", ""
}

// linkNamed finds a link by name.
func linkNamed(ls []sandbox.Link, name string) (sandbox.Link, bool) {
	for _, l := range ls {
		if l.Name == name {
			return l, true
		}
	}
	return sandbox.Link{}, false
}

// routeTo finds a route whose destination is dst on dev.
func routeTo(rs []sandbox.Route, dst, dev string) (sandbox.Route, bool) {
	for _, r := range rs {
		if r.Dst == dst && r.Dev == dev {
			return r, true
		}
	}
	return sandbox.Route{}, false
}

// routeCovering finds the most specific IPv4 route whose destination
// contains ip (the default route covers everything).
func routeCovering(rs []sandbox.Route, ip string) (sandbox.Route, bool) {
	addr := net.ParseIP(ip)
	best, bestLen := sandbox.Route{}, -1
	for _, r := range rs {
		n := -1
		switch {
		case r.Dst == "default" && (r.Gateway == "" || net.ParseIP(r.Gateway).To4() != nil):
			n = 0
		default:
			_, dst, err := net.ParseCIDR(r.Dst)
			if err != nil || dst.IP.To4() == nil || !dst.Contains(addr) {
				continue
			}
			n, _ = dst.Mask.Size()
		}
		if n > bestLen {
			best, bestLen = r, n
		}
	}
	return best, bestLen >= 0
}

func netFacts(o lessons.Observation) []lessons.Fact {
	ex := o.Extra
	fs := []lessons.Fact{
		lessons.NSFact(o, "net", false, "The sandbox has a network namespace of its own: its net identity differs from the host's"),
	}
	if _, confined := ex[netConfined]; confined {
		fs = append(fs, netConfinedFact(o))
	} else {
		fs = append(fs, lessons.SharedExcept(o, "Every other namespace is still the host's: CLONE_NEWNET changed only the network", "net"))
	}
	fs = append(fs,
		lessons.NewFact("Right after clone(CLONE_NEWNET) the new namespace had a single link, lo, and it was DOWN",
			ex[netFirstLinks] == "lo DOWN", "links then: %s", lessons.OrNone(ex[netFirstLinks])),
		lessons.NewFact("…and an empty routing table",
			ex[netFirstRoutes] == "0", "routes then: %s", lessons.OrNone(ex[netFirstRoutes])),
		lessons.NewFact("With lo down, even 127.0.0.1 was unreachable from inside",
			lessons.IsErrno(ex[netPingLoDown]), "ping 127.0.0.1: %s", lessons.OrNone(ex[netPingLoDown])),
		lessons.NewFact("Once lo was up, 127.0.0.1 answered",
			lessons.OutcomeOK(ex[netPingLoUp]), "ping 127.0.0.1: %s", lessons.OrNone(ex[netPingLoUp])),
	)

	// The links each side has now.
	hostEnd, boxEnd := ex[netHostEnd], ex[netBoxEnd]
	var sbNames []string
	for _, l := range o.Sandbox.Links {
		sbNames = append(sbNames, l.Name+"("+l.Type+")")
	}
	slices.Sort(sbNames)
	inner, innerOK := linkNamed(o.Sandbox.Links, boxEnd)
	_, loOK := linkNamed(o.Sandbox.Links, "lo")
	fs = append(fs, lessons.NewFact("Inside there are exactly two links now: lo and "+lessons.OrNone(boxEnd)+", the inside end of the veth pair; none of the host's",
		len(o.Sandbox.Links) == 2 && loOK && innerOK && inner.Type == "veth" && !sameMACOnHost(o, inner),
		"sandbox links: %s", strings.Join(sbNames, ", ")))

	outer, outerOK := linkNamed(o.Host.Links, hostEnd)
	fs = append(fs, lessons.NewFact("The other end, "+lessons.OrNone(hostEnd)+", is a link of the host's namespace, with address "+lessons.OrNone(ex[netHostAddr]),
		outerOK && outer.Type == "veth" && slices.Contains(outer.Addrs, ex[netHostAddr]),
		"host %s: %s %v", lessons.OrNone(hostEnd), outer.Type, outer.Addrs))
	if _, confined := ex[netConfined]; confined {
		fs = append(fs, netBehalfFact(o, outerOK && outer.Type == "veth", innerOK && inner.Type == "veth"))
	}
	fs = append(fs, lessons.NewFact(lessons.OrNone(boxEnd)+" inside has address "+lessons.OrNone(ex[netBoxAddr])+" and is UP",
		innerOK && slices.Contains(inner.Addrs, ex[netBoxAddr]) && inner.State != "DOWN",
		"sandbox %s: %s %v", lessons.OrNone(boxEnd), inner.State, inner.Addrs))
	hostIP, _, err := net.ParseCIDR(ex[netHostAddr])
	hostAddrOK := err == nil
	fs = append(fs, lessons.NewFact("An ICMP echo from inside crossed the veth pair and the host's end answered",
		lessons.OutcomeOK(ex[netPingVeth]) && hostAddrOK && strings.Contains(ex[netPingVeth], "from "+hostIP.String()+" "), "ping %s: %s", stripCIDR(ex[netHostAddr]), lessons.OrNone(ex[netPingVeth])))
	if t := ex[netTarget]; t != "" && t != netNoTarget {
		_, targetDevOK := linkNamed(o.Host.Links, ex[netTargetDev])
		fs = append(fs, lessons.NewFact("Yet the host's main address "+t+" (on its "+lessons.OrNone(ex[netTargetDev])+") was unreachable from inside: no route leads there",
			lessons.IsErrno(ex[netPingTarget]) && net.ParseIP(t) != nil && targetDevOK, "ping %s: %s", t, lessons.OrNone(ex[netPingTarget])))
	}

	// Routing tables side by side.
	subnet := ex[netSubnet]
	_, inRoute := routeTo(o.Sandbox.Routes, subnet, boxEnd)
	_, outRoute := routeTo(o.Host.Routes, subnet, hostEnd)
	fs = append(fs, lessons.NewFact("Each side routes the veth subnet "+lessons.OrNone(subnet)+" through its own end: "+lessons.OrNone(boxEnd)+" inside, "+lessons.OrNone(hostEnd)+" on the host",
		subnet != "" && inRoute && outRoute,
		"sandbox: %s; host: %s", routesText(o.Sandbox.Routes), routeText(o.Host.Routes, subnet)))
	gw := ex[netHostGateway]
	leaked := false
	for _, r := range o.Sandbox.Routes {
		if gw != "" && r.Gateway == gw {
			leaked = true
		}
	}
	fs = append(fs, lessons.NewFact("The routing tables are separate: the host's default route ("+lessons.OrNone(ex[netHostDefault])+") is not in the sandbox's table",
		strings.HasPrefix(ex[netHostDefault], "default ") && !leaked, "sandbox routes: %s", routesText(o.Sandbox.Routes)))
	return fs
}

// netConfinedFact replaces "every other namespace is still the host's"
// for a learner of a class (nslab serve): the server started the sandbox
// in new namespaces of every kind, so none is the host's.
func netConfinedFact(o lessons.Observation) lessons.Fact {
	list, valid := o.Extra[netConfined], netInClass(o)
	var own, shared []string
	for _, k := range sandbox.Kinds() {
		s, sok := o.Sandbox.IDs[k.ProcName]
		h, hok := o.Host.IDs[k.ProcName]
		switch {
		case !sok || !hok:
			continue // a kind this kernel lacks, or not observed
		case s == h:
			shared = append(shared, k.ProcName)
		default:
			own = append(own, k.ProcName)
		}
	}
	return lessons.NewFact("In a class the server started your sandbox in new namespaces of every kind ("+strings.ReplaceAll(lessons.OrNone(list), ",", ", ")+" besides net): none of them is the host's",
		valid && len(own) > 1 && len(shared) == 0,
		"not the host's: %s; the host's: %s", lessons.OrNone(strings.Join(own, ", ")), lessons.OrNone(strings.Join(shared, ", ")))
}

// netInClass reports whether the observation is a class learner's: the
// kinds the class server made new are recorded, and are kinds.
func netInClass(o lessons.Observation) bool {
	list := o.Extra[netConfined]
	for _, n := range strings.Split(list, ",") {
		if _, err := sandbox.KindByName(n); err != nil {
			return false
		}
	}
	return list != ""
}

// netBehalfFact says what the class server did on the host for the
// learner, from what the engine recorded as it did it (Observation.
// OnBehalf), held to the links both sides have now.
func netBehalfFact(o lessons.Observation, outerOK, innerOK bool) lessons.Fact {
	hostEnd, boxEnd := o.Extra[netHostEnd], o.Extra[netBoxEnd]
	var made, noFwd bool
	var did []string
	for _, op := range o.OnBehalf {
		if op.Object != hostEnd || hostEnd == "" {
			continue
		}
		switch op.Op {
		case sandbox.HostOpVeth:
			made = strings.Contains(op.Text, " "+boxEnd+" ")
			did = append(did, "veth")
		case sandbox.HostOpNoForward:
			noFwd = true
			did = append(did, "no forwarding")
		}
	}
	return lessons.NewFact("The class server, root on the host, made the veth pair on your behalf ("+lessons.OrNone(hostEnd)+" on the host, "+lessons.OrNone(boxEnd)+" in your namespace) and turned forwarding off on its end: the host answers you, and passes nothing on",
		netInClass(o) && made && noFwd && outerOK && innerOK,
		"recorded for %s: %s; host end %s, inside %s", lessons.OrNone(hostEnd), lessons.OrNone(strings.Join(did, ", ")), present(outerOK), present(innerOK))
}

func present(ok bool) string {
	if ok {
		return "a veth"
	}
	return "missing"
}

// sameMACOnHost reports whether a sandbox link's MAC address is also one of
// the host's links' (it would then be the same device, which cannot be).
func sameMACOnHost(o lessons.Observation, l sandbox.Link) bool {
	for _, h := range o.Host.Links {
		if l.MAC != "" && h.MAC == l.MAC && h.Type != "loopback" {
			return true
		}
	}
	return false
}

// routeLine renders a route the way `ip route` prints it.
func routeLine(r sandbox.Route) string {
	s := r.Dst
	if r.Gateway != "" {
		s += " via " + r.Gateway
	}
	s += " dev " + r.Dev
	if r.Src != "" {
		s += " src " + r.Src
	}
	return s
}

func routesText(rs []sandbox.Route) string {
	if len(rs) == 0 {
		return "none"
	}
	var out []string
	for _, r := range rs {
		out = append(out, routeLine(r))
	}
	return strings.Join(out, "; ")
}

func routeText(rs []sandbox.Route, dst string) string {
	for _, r := range rs {
		if r.Dst == dst {
			return routeLine(r)
		}
	}
	return "no route to " + lessons.OrNone(dst)
}

func stripCIDR(s string) string {
	ip, _, ok := strings.Cut(s, "/")
	if !ok {
		return s
	}
	return ip
}

func netAnswer(o lessons.Observation) (int, string) {
	first := o.Extra[netFirstLinks]
	switch {
	case first == "":
		return 3, "the new namespace showed no link at all"
	case first == "lo DOWN":
		return 1, "the kernel showed `lo DOWN` and nothing else: a new network namespace gets its own loopback device, " +
			"and it starts down, so even 127.0.0.1 is unreachable (" + lessons.OrNone(o.Extra[netPingLoDown]) + ") until `ip link set lo up`"
	case strings.HasPrefix(first, "lo ") && !strings.Contains(first, ","):
		return 2, "the kernel showed " + first + ": a single loopback device, already up"
	}
	return 0, "the kernel showed " + first
}

func netCheck(ctx context.Context, r *lessons.Sandboxes) (bool, string, error) {
	target, boxEnd := r.Get(netTarget), r.Get(netBoxEnd)
	if target == "" || boxEnd == "" {
		return false, "", fmt.Errorf("check: %w", lessons.ErrNotPerformed)
	}
	if target == netNoTarget {
		return false, "", fmt.Errorf("check: the host has no IPv4 address outside lo and the veth for the sandbox to reach")
	}
	snap, err := lessons.ObserveBox(ctx, r, sandbox.ViewNet)
	if err != nil {
		return false, "", err
	}
	if e := snap.Errs[sandbox.ViewNet]; e != "" {
		return false, "", fmt.Errorf("check: %s", e)
	}
	l, ok := linkNamed(snap.Links, boxEnd)
	if !ok || l.State == "DOWN" {
		return false, fmt.Sprintf("%s inside is missing or down (%s)", boxEnd, linkStates(snap.Links)), nil
	}
	rt, ok := routeCovering(snap.Routes, target)
	if !ok {
		return false, fmt.Sprintf("the sandbox has no route to the host's address %s (on %s): its routes are %s",
			target, r.Get(netTargetDev), routesText(snap.Routes)), nil
	}
	if rt.Dev != boxEnd {
		return false, fmt.Sprintf("the route to %s (%s) does not leave through %s", target, routeLine(rt), boxEnd), nil
	}
	text, err := r.Box.Ping(ctx, target)
	if err != nil {
		return false, fmt.Sprintf("route %s is there, but ping %s from inside failed: %s", routeLine(rt), target, lessons.Outcome(text, err)), nil
	}
	return true, fmt.Sprintf("route %s; ping %s from inside: %s", routeLine(rt), target, text), nil
}
