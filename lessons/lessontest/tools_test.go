package lessontest

import (
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

func lessonsObservation(host sandbox.Snapshot) lessons.Observation {
	return lessons.Observation{Host: host}
}

// TestToolsCatchAWrongView compares this process's own views with the
// tools, as AgainstTools does for the host's side, and shows each
// comparison failing when one value of nslab's snapshot is made wrong.
// It creates no namespace: it reads what this process sees.
func TestToolsCatchAWrongView(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	views := []sandbox.View{sandbox.ViewIDs, sandbox.ViewUTS, sandbox.ViewMount, sandbox.ViewNet, sandbox.ViewIPC, sandbox.ViewUser, sandbox.ViewCgrp, sandbox.ViewTime}
	snap := sandbox.ObserveHost(views)
	if len(snap.Errs) > 0 {
		t.Fatalf("observe: %v", snap.Errs)
	}
	side := toolSide{name: "host", pid: os.Getpid(), snap: snap}
	for _, v := range views {
		if ps := compareView(t.Context(), side, v); len(ps) > 0 {
			t.Errorf("view %s: the tools disagree with a true snapshot: %s", v, strings.Join(ps, "; "))
		}
	}

	wrong := []struct {
		view  sandbox.View
		spoil func(s *sandbox.Snapshot)
	}{
		{sandbox.ViewIDs, func(s *sandbox.Snapshot) { id := s.IDs["uts"]; id.Ino++; s.IDs["uts"] = id }},
		{sandbox.ViewUTS, func(s *sandbox.Snapshot) { s.Hostname += "x" }},
		{sandbox.ViewUTS, func(s *sandbox.Snapshot) { s.Domainname = "" }},
		{sandbox.ViewMount, func(s *sandbox.Snapshot) { s.Mounts = s.Mounts[1:] }},
		{sandbox.ViewMount, func(s *sandbox.Snapshot) { s.Mounts[0].FSType = "tmpfs" }},
		{sandbox.ViewMount, func(s *sandbox.Snapshot) {
			if s.Mounts[0].Propagation == "private" {
				s.Mounts[0].Propagation = "shared:999"
			} else {
				s.Mounts[0].Propagation = "private"
			}
		}},
		{sandbox.ViewNet, func(s *sandbox.Snapshot) { s.Links[0].State = "UP?" }},
		{sandbox.ViewNet, func(s *sandbox.Snapshot) { s.Links[0].Addrs = append(s.Links[0].Addrs, "10.9.9.9/24") }},
		{sandbox.ViewNet, func(s *sandbox.Snapshot) { s.Routes = append(s.Routes, sandbox.Route{Dst: "10.9.9.0/24", Dev: "lo"}) }},
		{sandbox.ViewIPC, func(s *sandbox.Snapshot) {
			s.IPC.ShmSegs = append(s.IPC.ShmSegs, sandbox.IPCObject{Key: "0x6e736c62", ID: 99999})
		}},
		{sandbox.ViewUser, func(s *sandbox.Snapshot) { s.User.UIDMap = []sandbox.IDMap{{Inside: 0, Outside: 65534, Count: 1}} }},
		{sandbox.ViewCgrp, func(s *sandbox.Snapshot) { s.CgroupLines[0].Path += "x" }},
		{sandbox.ViewCgrp, func(s *sandbox.Snapshot) { s.CgroupLines = s.CgroupLines[1:] }},
		{sandbox.ViewTime, func(s *sandbox.Snapshot) { s.Clocks.Offsets = "monotonic 86400 0; boottime 0 0" }},
	}
	for i, w := range wrong {
		bent := cloneObservation(lessonsObservation(snap)).Host
		w.spoil(&bent)
		if ps := compareView(t.Context(), toolSide{name: "host", pid: os.Getpid(), snap: bent}, w.view); len(ps) == 0 {
			t.Errorf("view %s, wrong state %d: the tools agree with a wrong snapshot", w.view, i)
		}
	}
}

// TestFindmntPropagation: nslab's propagation fields named as findmnt(8)
// names them (shared or private first, then slave and unbindable).
func TestFindmntPropagation(t *testing.T) {
	for in, want := range map[string]string{
		"private":             "private",
		"shared:1":            "shared",
		"master:1":            "private,slave",
		"shared:2 master:1":   "shared,slave",
		"unbindable":          "private,unbindable",
		"master:3 unbindable": "private,slave,unbindable",
	} {
		if got := findmntPropagation(in); got != want {
			t.Errorf("findmntPropagation(%q) = %q, want %q", in, got, want)
		}
	}
}
