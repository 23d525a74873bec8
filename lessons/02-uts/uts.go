// Package uts is lesson 2, "UTS namespaces: a hostname of your own": its Go logic.
// Its text and prompts are lesson.md and lesson.toml beside this file;
// package catalog registers Logic. It may import lessons and sandbox,
// never another lesson, catalog or ui.
package uts

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// utsName is the hostname Perform gives the sandbox. It is not the
// challenge's answer ("lab"), so the check fails until the learner acts.
const utsName = "sandbox"

// The challenge's target names.
const (
	utsLabHost   = "lab"
	utsLabDomain = "nslab.test"
)

// Keys of the uts lesson's Extra.
const (
	utsHostBefore   = "host.hostname"   // the host's hostname before the lesson
	utsDomainBefore = "host.domainname" // the host's domain name before the lesson
	utsCopy         = "copy.hostname"   // the sandbox's hostname right after unshare
	utsSet          = "set.hostname"    // what Perform set
	utsRootless     = "rootless"        // "true" when a user namespace was added
	// utsConfined names the kinds of namespace a class server's confined
	// engine added ("ipc,mnt,..."); utsStart+kind are the agent's
	// identities when it started, before unshare.
	utsConfined     = "confined"
	utsStart        = "start."
	utsUnshareFrom  = "trace.unshare.before"
	utsUnshareTo    = "trace.unshare.after"
	utsSethostTrace = "trace.sethostname" // the sethostname event, and its identity change
)

// Logic is the lesson's Go side, for the registry in package catalog.
func Logic() lessons.Logic {
	return lessons.Logic{
		Spec: sandbox.Spec{Flags: 0, Label: "uts"},
		Perform: func(ctx context.Context, r *lessons.Sandboxes) error {
			host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewUTS})
			r.Set(utsHostBefore, host.Hostname)
			r.Set(utsDomainBefore, host.Domainname)
			r.Set(utsRootless, strconv.FormatBool(r.Box.Rootless()))
			if c := r.Box.Confined(); c != 0 {
				var names []string
				for _, k := range sandbox.KindsIn(c) {
					names = append(names, k.ProcName)
				}
				r.Set(utsConfined, strings.Join(names, ","))
				start := map[string]string{}
				lessons.PutIDs(start, utsStart, r.Box.StartIDs())
				for k, v := range start {
					r.Set(k, v)
				}
			}
			if err := r.Box.Unshare(ctx, sandbox.CloneNewUTS); err != nil {
				return err
			}
			cp, err := r.Box.Observe(ctx, []sandbox.View{sandbox.ViewUTS})
			if err != nil {
				return err
			}
			r.Set(utsCopy, cp.Hostname)
			if err := r.Box.SetHostname(ctx, utsName); err != nil {
				return err
			}
			r.Set(utsSet, utsName)
			return nil
		},
		Extra: func(_ context.Context, r *lessons.Sandboxes) (map[string]string, error) {
			ex := map[string]string{}
			for _, e := range r.Box.Events(0) {
				switch e.Syscall {
				case "unshare":
					if e.Kind == "uts" {
						lessons.PutIDs(ex, "", sandbox.IDs{utsUnshareFrom: e.Before, utsUnshareTo: e.After})
					}
				case "sethostname":
					ex[utsSethostTrace] = strings.TrimSpace(e.String() + " " + e.Detail())
				}
			}
			return ex, nil
		},
		Views: []sandbox.View{sandbox.ViewIDs, sandbox.ViewUTS},
		Facts: utsFacts,
		Answer: func(o lessons.Observation) (int, string) {
			before, set := o.Extra[utsHostBefore], o.Extra[utsSet]
			switch o.Host.Hostname {
			case set:
				return 1, fmt.Sprintf("the host reads %q, the name set inside", o.Host.Hostname)
			case before:
				return 0, fmt.Sprintf("the host still reads %q while the sandbox reads %q: sethostname changed only the sandbox's UTS namespace", o.Host.Hostname, o.Sandbox.Hostname)
			}
			return 2, fmt.Sprintf("the host reads %q, neither its old name %q nor %q", o.Host.Hostname, before, set)
		},
		Check: func(ctx context.Context, r *lessons.Sandboxes) (bool, string, error) {
			sb, err := lessons.ObserveBox(ctx, r, sandbox.ViewUTS)
			if err != nil {
				return false, "", err
			}
			host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewUTS})
			switch {
			case host.Hostname != r.Get(utsHostBefore) || host.Domainname != r.Get(utsDomainBefore):
				return false, fmt.Sprintf("the HOST changed: it is now %q / %q, was %q / %q",
					host.Hostname, host.Domainname, r.Get(utsHostBefore), r.Get(utsDomainBefore)), nil
			case sb.Hostname != utsLabHost:
				return false, fmt.Sprintf("the sandbox's hostname is %q, not %q", sb.Hostname, utsLabHost), nil
			case sb.Domainname != utsLabDomain:
				return false, fmt.Sprintf("the sandbox's hostname is %q, but its domain name is %q, not %q", sb.Hostname, sb.Domainname, utsLabDomain), nil
			}
			return true, fmt.Sprintf("the sandbox is %s.%s; the host is still %q / %q", sb.Hostname, sb.Domainname, host.Hostname, host.Domainname), nil
		},
	}
}

func utsFacts(o lessons.Observation) []lessons.Fact {
	var fs []lessons.Fact
	fs = append(fs, lessons.NSFact(o, "uts", false, "After unshare(CLONE_NEWUTS) the agent is in a new UTS namespace"))
	if _, confined := o.Extra[utsConfined]; confined {
		fs = append(fs, utsConfinedFacts(o)...)
	} else {
		except := []string{"uts"}
		if o.Extra[utsRootless] == "true" {
			except = append(except, "user") // added so that an unprivileged user may unshare
		}
		fs = append(fs, lessons.SharedExcept(o, "Every other namespace is still the host's", except...))
	}

	before := o.Extra[utsHostBefore]
	fs = append(fs, lessons.NewFact("The new UTS namespace started as a copy: right after unshare it had the host's hostname",
		before != "" && o.Extra[utsCopy] == before, "host %q, sandbox after unshare %q", before, o.Extra[utsCopy]))
	set := o.Extra[utsSet]
	fs = append(fs, lessons.NewFact(fmt.Sprintf("sethostname(%q) inside changed the sandbox's hostname", set),
		set != "" && o.Sandbox.Hostname == set, "sandbox reads %q", o.Sandbox.Hostname))
	fs = append(fs, lessons.NewFact("The host's hostname did not change",
		o.Host.Hostname == before && o.Host.Hostname != set, "host reads %q, was %q", o.Host.Hostname, before))
	fs = append(fs, lessons.NewFact("The NIS domain name was copied too, and nothing changed it: both sides still read the same",
		// Both sides' hostnames are read with the domain names: without
		// them the UTS view was not observed, and equal empty strings
		// prove nothing.
		o.Host.Hostname != "" && o.Sandbox.Hostname != "" &&
			o.Sandbox.Domainname == o.Host.Domainname && o.Host.Domainname == o.Extra[utsDomainBefore],
		"host %q, sandbox %q", o.Host.Domainname, o.Sandbox.Domainname))

	from, okFrom := lessons.ExtraID(o, utsUnshareFrom)
	to, okTo := lessons.ExtraID(o, utsUnshareTo)
	h, s, ok := lessons.NSPair(o, "uts")
	if _, confined := o.Extra[utsConfined]; confined {
		// A class learner's agent starts in a UTS namespace of its own,
		// not the host's: unshare left that one.
		h, ok = lessons.ExtraID(o, utsStart+"uts")
		_, sok := o.Sandbox.IDs["uts"]
		_, valid := utsConfinedKinds(o)
		ok = ok && sok && valid
	}
	sethost, okSet := o.Extra[utsSethostTrace]
	fs = append(fs, lessons.NewFact("The uts identity changed at unshare(2), not at sethostname(2)",
		okFrom && okTo && ok && okSet && strings.HasPrefix(sethost, "sethostname(") && from == h && to == s && from != to && !strings.ContainsRune(sethost, '→'),
		"unshare: %s → %s; %s", from.Label("uts"), to.Label("uts"), sethost))
	return fs
}

// utsConfinedFacts replace "every other namespace is still the host's" for
// a learner of a class (nslab serve): the server started the sandbox in
// new namespaces of every kind, so the comparison is with where the
// sandbox started, and the host's are none of them.
func utsConfinedFacts(o lessons.Observation) []lessons.Fact {
	var moved, kept, notHost, host, unknown []string
	for _, k := range sandbox.Kinds() {
		s, sok := o.Sandbox.IDs[k.ProcName]
		h, hok := o.Host.IDs[k.ProcName]
		if !sok || !hok {
			continue // a kind this kernel lacks
		}
		start, ok := lessons.ExtraID(o, utsStart+k.ProcName)
		if !ok {
			unknown = append(unknown, k.ProcName)
			continue
		}
		if k.ProcName != "uts" {
			if s == start {
				kept = append(kept, k.ProcName)
			} else {
				moved = append(moved, k.ProcName)
			}
		}
		if start == h {
			host = append(host, k.ProcName)
		} else {
			notHost = append(notHost, k.ProcName)
		}
	}
	added, valid := utsConfinedKinds(o)
	if !valid {
		unknown = append(unknown, "(the class server's list "+strconv.Quote(o.Extra[utsConfined])+")")
	}
	unk := ""
	if len(unknown) > 0 {
		unk = "; not recorded: " + strings.Join(unknown, ", ")
	}
	return []lessons.Fact{
		lessons.NewFact("Every other namespace is still the one the sandbox started in",
			len(kept) > 0 && len(moved) == 0 && len(unknown) == 0, "same: %s; moved: %s%s", strings.Join(kept, ", "), strings.Join(moved, ", "), unk),
		lessons.NewFact(fmt.Sprintf("The class server started the sandbox in new namespaces (%s): none of them is the host's", strings.Join(added, ", ")),
			len(notHost) > 0 && len(host) == 0 && len(unknown) == 0, "not the host's: %s; the host's: %s%s", strings.Join(notHost, ", "), strings.Join(host, ", "), unk),
	}
}

// utsConfinedKinds reads the kinds the class server added; false when the
// list is empty or names no kind.
func utsConfinedKinds(o lessons.Observation) ([]string, bool) {
	v := o.Extra[utsConfined]
	if v == "" {
		return nil, false
	}
	names := strings.Split(v, ",")
	for _, n := range names {
		if _, err := sandbox.KindByName(n); err != nil {
			return names, false
		}
	}
	return names, true
}
