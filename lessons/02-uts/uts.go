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
	utsUnshareFrom  = "trace.unshare.before"
	utsUnshareTo    = "trace.unshare.after"
	utsSethostTrace = "trace.sethostname" // the sethostname event, and its identity change
	utsMainBefore   = "threads.before"    // the agent's uts before unshare (PutIDs form)
	utsMainAfter    = "threads.main"      // its main thread's uts after sethostname
	utsThreadsOld   = "threads.old"       // how many other threads are still in the uts it had before
	utsThreadsNew   = "threads.new"       // how many other threads are in the main thread's new one
	utsThreadsElse  = "threads.else"      // how many other threads are in yet another
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
			// In a class: where the agent started, before unshare.
			lessons.KeepConfinedStart(r, r.Box)
			before, err := r.Box.IDs()
			if err != nil {
				return err
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
			// The prediction: where the agent's other threads are now,
			// each read from the host's /proc/PID/task/TID/ns/uts.
			threads, err := sandbox.ReadThreadIDs(r.Box.PID())
			if err != nil {
				return err
			}
			main := threads[r.Box.PID()]["uts"]
			old, moved, other := 0, 0, 0
			for tid, ids := range threads {
				switch {
				case tid == r.Box.PID():
				case ids["uts"] == before["uts"]:
					old++
				case ids["uts"] == main:
					moved++
				default:
					other++
				}
			}
			r.Set(utsMainBefore, idText(before["uts"]))
			r.Set(utsMainAfter, idText(main))
			r.Set(utsThreadsOld, strconv.Itoa(old))
			r.Set(utsThreadsNew, strconv.Itoa(moved))
			r.Set(utsThreadsElse, strconv.Itoa(other))
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
		Views:  []sandbox.View{sandbox.ViewIDs, sandbox.ViewUTS},
		Facts:  utsFacts,
		Answer: utsAnswer,
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
	if lessons.IsConfined(o) {
		// The server started the sandbox in new namespaces of every kind:
		// the comparison is with where it started.
		fs = append(fs, lessons.ConfinedFacts(o, "Every other namespace is still the one the sandbox started in", "uts")...)
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
	if lessons.IsConfined(o) {
		// A class learner's agent starts in a UTS namespace of its own,
		// not the host's: unshare left that one.
		h, ok = lessons.StartID(o, "uts")
		_, sok := o.Sandbox.IDs["uts"]
		ok = ok && sok
	}
	sethost, okSet := o.Extra[utsSethostTrace]
	fs = append(fs, lessons.NewFact("The uts identity changed at unshare(2), not at sethostname(2)",
		okFrom && okTo && ok && okSet && strings.HasPrefix(sethost, "sethostname(") && from == h && to == s && from != to && !strings.ContainsRune(sethost, '→'),
		"unshare: %s → %s; %s", from.Label("uts"), to.Label("uts"), sethost))
	old, moved, other, tok := utsThreads(o)
	fs = append(fs, lessons.NewFact("unshare(2) moved only the calling thread: the agent's other threads stayed in its old UTS namespace",
		tok && old > 0 && moved == 0 && other == 0,
		"other threads: %d old, %d new, %d elsewhere", old, moved, other))
	return fs
}

// idText renders one identity the way PutIDs stores it.
func idText(id sandbox.NSID) string {
	m := map[string]string{}
	lessons.PutIDs(m, "", sandbox.IDs{"x": id})
	return m["x"]
}

// utsThreads is what Perform saw of the agent's threads: how many other
// threads stayed in the UTS namespace the agent had before unshare, went
// with the main thread, or are elsewhere; ok when it was seen and the
// main thread did move.
func utsThreads(o lessons.Observation) (old, moved, other int, ok bool) {
	old, e1 := strconv.Atoi(o.Extra[utsThreadsOld])
	moved, e2 := strconv.Atoi(o.Extra[utsThreadsNew])
	other, e3 := strconv.Atoi(o.Extra[utsThreadsElse])
	b, bok := lessons.ExtraID(o, utsMainBefore)
	m, mok := lessons.ExtraID(o, utsMainAfter)
	return old, moved, other, e1 == nil && e2 == nil && e3 == nil && bok && mok && b != m && old+moved+other > 0
}

func utsAnswer(o lessons.Observation) (int, string) {
	old, moved, other, ok := utsThreads(o)
	if !ok {
		return -1, "the agent's threads were not seen, or its main thread did not move"
	}
	why := fmt.Sprintf("after unshare and sethostname on its main thread, %d of the agent's other threads were still in its old UTS namespace, %d in the new one, %d elsewhere (/proc/%d/task/*/ns/uts)",
		old, moved, other, o.Sandbox.PID)
	switch {
	case moved == 0 && other == 0:
		return 1, why + ": unshare(2) moves the calling thread only, and Go runs a program on several threads; this is why nslab locks the thread that unshares and does everything there"
	case old == 0 && other == 0:
		return 0, why
	}
	return 2, why
}
