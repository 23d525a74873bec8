package sandbox

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"time"
)

// threadSelf is where a thread reads its own namespaces. After unshare or
// setns on a locked thread, the thread's namespaces differ from the
// process's (the thread-group leader's) ones, which /proc/self shows.
const threadSelf = "/proc/thread-self"

// ObserveSelf reports what the calling thread sees, for every view asked.
// The caller must run on a locked OS thread (runtime.LockOSThread): uts,
// net, ipc, mnt and cgroup namespaces are per thread once one thread has
// called unshare or setns. ViewPIDs is left for the caller to fill (from the
// host with ObserveProcs, or with ObserveAllProcs). A view that fails
// records its error in Errs and the others are still filled. Side is
// "sandbox"; ObserveHost overrides it.
func ObserveSelf(views []View) Snapshot {
	s := Snapshot{Side: "sandbox", PID: os.Getpid(), Taken: time.Now(), Views: slices.Clone(views)}
	buf := make([]byte, 8192)

	// The mount table is read once even when both the mount and the IPC
	// view need it.
	var (
		mounts     []Mount
		mountsErr  error
		mountsRead bool
	)
	getMounts := func() ([]Mount, error) {
		if !mountsRead {
			mounts, mountsErr = readMounts(threadSelf + "/mountinfo")
			mountsRead = true
		}
		return mounts, mountsErr
	}

	for _, v := range views {
		var err error
		switch v {
		case ViewIDs:
			s.IDs, err = ReadIDs(0) // pid 0: the calling thread
		case ViewUTS:
			s.Hostname, s.Domainname, err = readUTS()
		case ViewPIDs, ViewTree:
			// Filled by the caller: a PID namespace's members are best
			// listed from the host's /proc (ObserveProcs).
		case ViewMount, ViewPeers:
			s.Mounts, err = getMounts()
		case ViewNet:
			s.Links, s.Routes, err = readNet()
		case ViewIPC:
			s.IPC, err = readIPC(buf, getMounts)
		case ViewUser:
			s.User, err = readUser(buf)
		case ViewCgrp:
			var b []byte
			if b, buf, err = readFile(threadSelf+"/cgroup", buf); err == nil {
				s.Cgroup, s.CgroupLines, err = parseCgroup(b)
			}
		case ViewTime:
			s.Clocks, err = readClocks(buf)
		default:
			err = fmt.Errorf("%w: unknown view %q", ErrBadInput, v)
		}
		if err != nil {
			if s.Errs == nil {
				s.Errs = ViewErrs{}
			}
			s.Errs[v] = err.Error()
		}
	}
	return s
}

// ObserveHost reports what the host sees, for every view asked, including
// every process for ViewPIDs. It observes from a fresh goroutine locked to
// its thread, so that a caller whose own thread has entered a namespace
// still gets the host's view. The process list, all /proc reads, is taken
// at the same time on another goroutine.
func ObserveHost(views []View) Snapshot {
	type procsResult struct {
		procs []Proc
		err   error
	}
	var procsDone chan procsResult
	if slices.Contains(views, ViewPIDs) {
		procsDone = make(chan procsResult, 1)
		go func() {
			procs, err := ObserveAllProcs()
			procsDone <- procsResult{procs, err}
		}()
	}
	done := make(chan Snapshot, 1)
	go func() {
		// A fresh goroutine never runs on a thread that another goroutine
		// holds locked, so this thread is in the process's namespaces.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		done <- ObserveSelf(views)
	}()
	s := <-done
	s.Side = "host"
	if slices.Contains(views, ViewTree) {
		// nslab's own namespaces and their ancestors: the roots.
		t, err := ObserveTree(os.Getpid(), false)
		s.Tree = t
		if err != nil {
			if s.Errs == nil {
				s.Errs = ViewErrs{}
			}
			s.Errs[ViewTree] = err.Error()
		}
	}
	if procsDone != nil {
		r := <-procsDone
		if r.err != nil {
			if s.Errs == nil {
				s.Errs = ViewErrs{}
			}
			s.Errs[ViewPIDs] = r.err.Error()
		}
		s.Procs = r.procs
	}
	return s
}

// ObserveAllProcs lists every process in this process's /proc, with PID
// and HostPID both the PID there (the host PID, on the host). Processes
// that exit while being read are left out.
func ObserveAllProcs() ([]Proc, error) {
	names, err := listPIDs()
	if err != nil {
		return nil, err
	}
	raw := scanProcs(names, func(name string, buf []byte) (rawProc, []byte, bool) {
		r, buf, ok := readProc(name, buf)
		r.PID = r.HostPID
		return r, buf, ok
	})
	return finishProcs(raw), nil
}
