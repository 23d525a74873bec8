// Package ipc is lesson 6, "IPC namespaces: private message queues and shared memory": its Go logic.
// Its text and prompts are lesson.md and lesson.toml beside this file;
// package catalog registers Logic. It may import lessons and sandbox,
// never another lesson, catalog or ui.
package ipc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// Keys of the values the ipc lesson keeps with Sandboxes.Set during Perform, and
// the names it uses.
const (
	ipcCreated      = "ipc.created"        // what CreateIPC made inside: "shm id 0, msg id 0, mq /nslab"
	ipcHostMQ       = "ipc.host_mq"        // did mq_open on the host find the queue? "true"/"false"
	ipcInsideListed = "ipc.inside_listed"  // was the queue listed inside before any mount of its own?
	ipcInsideMQ     = "ipc.inside_mq_view" // what the sandbox's POSIX queue listing said then
	ipcHostMqueues  = "ipc.host_mqueue_mounts"
	ipcProbeID      = "ipc.probe_id"         // id of the segment made on the host for a moment
	ipcProbeOnHost  = "ipc.probe_host"       // was it in the host's table? "true"/"false"
	ipcProbeInside  = "ipc.probe_inside"     // was it in the sandbox's table?
	ipcProbeHostN   = "ipc.probe_host_shm"   // the host's segments while it existed
	ipcProbeInN     = "ipc.probe_inside_shm" // the sandbox's segments at the same time
	// ipcStart is, in a class, the IPC namespace the server started the
	// agent in, which its /dev/mqueue belongs to (PutIDs form); absent
	// outside a class.
	ipcStart = "ipc.start"
	// ipcKey is the System V key sandbox.CreateIPC uses ("nslb"), as the
	// snapshots render keys.
	ipcKey    = "0x6e736c62"
	ipcMQName = "/nslab"
	// ipcPrivate is how snapshots render the IPC_PRIVATE key.
	ipcPrivate = "0x00000000"
)

// Logic: clone(CLONE_NEWIPC|CLONE_NEWNS); a System V message queue, a
// shared memory segment and a POSIX message queue made inside are
// invisible on the host, and a segment made on the host (for a moment) is
// invisible inside. POSIX queues can only be listed through an mqueue
// mount that belongs to the namespace: the challenge.
func Logic() lessons.Logic {
	return lessons.Logic{
		Spec:    sandbox.Spec{Flags: sandbox.CloneNewIPC | sandbox.CloneNewNS, Label: "ipc"},
		Perform: ipcPerform,
		Views:   []sandbox.View{sandbox.ViewIDs, sandbox.ViewIPC, sandbox.ViewMount},
		Facts:   ipcFacts,
		Answer:  ipcAnswer,
		Check:   ipcCheck,
		Solve:   ipcSolve,
	}
}

func ipcPerform(ctx context.Context, r *lessons.Sandboxes) error {
	sb := r.Box
	if r.Engine.Confined() {
		// A class server's sandbox starts with an mqueue mount of its own
		// IPC namespace at /dev/mqueue, which would list /nslab at once.
		// A second IPC namespace puts the agent where the host's
		// /dev/mqueue puts it outside a class: that mount shows another
		// namespace's queues.
		start := map[string]string{}
		lessons.PutIDs(start, "", sandbox.IDs{ipcStart: sb.StartIDs()["ipc"]})
		r.Set(ipcStart, start[ipcStart])
		if err := sb.Unshare(ctx, sandbox.CloneNewIPC); err != nil {
			return err
		}
	}
	text, err := sb.CreateIPC(ctx, ipcMQName)
	if err != nil {
		return fmt.Errorf("create IPC objects inside: %w", err)
	}
	r.Set(ipcCreated, text)

	// No syscall lists POSIX queues; mq_open on the host, from this
	// process (which never leaves the host's namespaces), asks directly.
	onHost, err := sandbox.MQueueExists(ipcMQName)
	if err != nil {
		return fmt.Errorf("look for %s on the host: %w", ipcMQName, err)
	}
	r.Set(ipcHostMQ, strconv.FormatBool(onHost))

	in, err := sb.Observe(ctx, []sandbox.View{sandbox.ViewIPC})
	if err != nil {
		return fmt.Errorf("look inside: %w", err)
	}
	listed, view := mqueueListing(in)
	r.Set(ipcInsideListed, strconv.FormatBool(listed))
	r.Set(ipcInsideMQ, view)

	host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewMount})
	if e := host.Errs[sandbox.ViewMount]; e != "" {
		return fmt.Errorf("the host's mount table: %s", e)
	}
	r.Set(ipcHostMqueues, mqueueMounts(host.Mounts))

	return ipcHostProbe(ctx, r)
}

// ipcHostProbe shows the other direction: a shared memory segment made on
// the host is not in the sandbox's table. The segment lives only while
// both sides are looked at and is removed on every path.
func ipcHostProbe(ctx context.Context, r *lessons.Sandboxes) (err error) {
	id, err := unix.SysvShmGet(unix.IPC_PRIVATE, 4096, unix.IPC_CREAT|0o600)
	if err != nil {
		return fmt.Errorf("shmget(IPC_PRIVATE) on the host: %w", err)
	}
	defer func() {
		if _, rmErr := unix.SysvShmCtl(id, unix.IPC_RMID, nil); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("remove the host's segment %d: %w", id, rmErr))
		}
	}()
	r.Set(ipcProbeID, strconv.Itoa(id))
	host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewIPC})
	in, err := r.Box.Observe(ctx, []sandbox.View{sandbox.ViewIPC})
	if err != nil {
		return fmt.Errorf("look inside: %w", err)
	}
	if host.IPC == nil || in.IPC == nil {
		return fmt.Errorf("IPC view missing: host %v, sandbox %v", host.Errs, in.Errs)
	}
	r.Set(ipcProbeOnHost, strconv.FormatBool(hasIPCObject(host.IPC.ShmSegs, ipcPrivate, id)))
	r.Set(ipcProbeInside, strconv.FormatBool(hasIPCObject(in.IPC.ShmSegs, ipcPrivate, id)))
	r.Set(ipcProbeHostN, ipcObjects(host.IPC.ShmSegs))
	r.Set(ipcProbeInN, ipcObjects(in.IPC.ShmSegs))
	return nil
}

// hasIPCObject reports whether objs has an object with key (and, when id
// is not negative, that id).
func hasIPCObject(objs []sandbox.IPCObject, key string, id int) bool {
	for _, o := range objs {
		if o.Key == key && (id < 0 || o.ID == id) {
			return true
		}
	}
	return false
}

// mqueueListing says whether a side's POSIX queue listing has the lesson's
// queue, and what the listing was.
func mqueueListing(s sandbox.Snapshot) (bool, string) {
	if s.IPC == nil {
		return false, "no IPC view: " + s.Errs[sandbox.ViewIPC]
	}
	if s.IPC.MQueueNote != "" {
		return false, s.IPC.MQueueNote
	}
	if len(s.IPC.MQueues) == 0 {
		return false, "an mqueue mount lists no queue"
	}
	return slices.Contains(s.IPC.MQueues, ipcMQName), "queues listed: " + strings.Join(s.IPC.MQueues, " ")
}

// mqueueMounts lists the mount points of mqueue file systems.
func mqueueMounts(ms []sandbox.Mount) string {
	var out []string
	for _, m := range ms {
		if m.FSType == "mqueue" {
			out = append(out, m.Mountpoint)
		}
	}
	return strings.Join(out, " ")
}

func ipcFacts(o lessons.Observation) []lessons.Fact {
	ex := o.Extra
	var hostMsg, hostShm, inMsg, inShm []sandbox.IPCObject
	if o.Host.IPC != nil {
		hostMsg, hostShm = o.Host.IPC.MsgQueues, o.Host.IPC.ShmSegs
	}
	if o.Sandbox.IPC != nil {
		inMsg, inShm = o.Sandbox.IPC.MsgQueues, o.Sandbox.IPC.ShmSegs
	}
	probe := ex[ipcProbeID]
	_, probeOK := lessons.PositiveInt(probe)
	if probe == "0" {
		probeOK = true // the first segment of a table gets id 0
	}
	probeSeg := ipcPrivate + " id " + probe
	insideID, insideIDOK := ipcInsideMsgID(o)
	hostSegs, hostOK := parseIPCObjects(ex[ipcProbeHostN])
	inSegs, inOK := parseIPCObjects(ex[ipcProbeInN])
	fs := []lessons.Fact{
		lessons.NSFact(o, "ipc", false, "The sandbox has an IPC namespace of its own"),
		lessons.NSFact(o, "mnt", false, "…and a mount namespace of its own, so a mount made inside stays inside"),
		lessons.NewFact("Inside, the System V message queue with key "+ipcKey+" exists",
			hasIPCObject(inMsg, ipcKey, -1), "sandbox msg queues: %s", ipcObjects(inMsg)),
		lessons.NewFact("…with id 0: the namespace's table started empty, and its first queue got the first id",
			insideIDOK && insideID == 0, "sandbox msg queues: %s", ipcObjects(inMsg)),
		lessons.NewFact("…and so does the shared memory segment with that key",
			hasIPCObject(inShm, ipcKey, -1), "sandbox shm segments: %s", ipcObjects(inShm)),
		lessons.NewFact("The host's tables have neither: `ipcs` on the host does not list them",
			o.Host.IPC != nil && !hasIPCObject(hostMsg, ipcKey, -1) && !hasIPCObject(hostShm, ipcKey, -1),
			"host msg queues: %s; host shm segments: %s", ipcObjects(hostMsg), ipcObjects(hostShm)),
		lessons.NewFact("mq_open(\""+ipcMQName+"\", O_CREAT) inside created the POSIX message queue",
			strings.Contains(ex[ipcCreated], "mq "+ipcMQName), "created inside: %s", lessons.OrNone(ex[ipcCreated])),
		lessons.NewFact("On the host, mq_open(\""+ipcMQName+"\") finds no such queue",
			ex[ipcHostMQ] == "false", "exists on the host: %s", lessons.OrNone(ex[ipcHostMQ])),
		lessons.NewFact("Inside, "+ipcMQName+" was not listed as a file: no mqueue file system of the sandbox's IPC namespace was mounted",
			ex[ipcInsideListed] == "false" && strings.Contains(ex[ipcInsideMQ], "mqueue"), "%s", lessons.OrNone(ex[ipcInsideMQ])),
		lessons.NewFact("The other way round: a shared memory segment made on the host (IPC_PRIVATE, id "+lessons.OrNone(probe)+") was in the host's table",
			ex[ipcProbeOnHost] == "true" && probeOK && hostOK && slices.Contains(hostSegs, probeSeg), "host shm segments then: %s", lessons.OrNone(ex[ipcProbeHostN])),
		lessons.NewFact("…and not in the sandbox's",
			ex[ipcProbeInside] == "false" && probeOK && inOK && !slices.Contains(inSegs, probeSeg), "sandbox shm segments then: %s", lessons.OrNone(ex[ipcProbeInN])),
	}
	if _, confined := ex[ipcStart]; confined {
		start, ok := lessons.ExtraID(o, ipcStart)
		h, sb, both := lessons.NSPair(o, "ipc")
		fs = append(fs, lessons.NewFact("In a class the agent left the IPC namespace the server started it in (unshare(CLONE_NEWIPC)), which is not the host's either: /dev/mqueue, mounted by the server, belongs to that one",
			ok && both && sb != start && start != h && sb != h,
			"started in %s, now %s; host %s", start.Label("ipc"), sb.Label("ipc"), h.Label("ipc")))
	}
	return fs
}

// parseIPCObjects reads back a list ipcObjects rendered; ok is false for
// anything else.
func parseIPCObjects(s string) ([]string, bool) {
	if s == "none" {
		return nil, true
	}
	objs := strings.Split(s, ", ")
	for _, o := range objs {
		key, id, ok := strings.Cut(o, " id ")
		_, err := strconv.ParseUint(strings.TrimPrefix(key, "0x"), 16, 32)
		_, idErr := strconv.Atoi(id)
		if !ok || len(key) != 10 || !strings.HasPrefix(key, "0x") || err != nil || idErr != nil {
			return nil, false
		}
	}
	return objs, true
}

// ipcObjects renders objects as "key/id" pairs.
func ipcObjects(objs []sandbox.IPCObject) string {
	if len(objs) == 0 {
		return "none"
	}
	var out []string
	for _, o := range objs {
		out = append(out, fmt.Sprintf("%s id %d", o.Key, o.ID))
	}
	return strings.Join(out, ", ")
}

// ipcInsideMsgID is the id of the sandbox's message queue with ipcKey.
func ipcInsideMsgID(o lessons.Observation) (int, bool) {
	if o.Sandbox.IPC == nil {
		return 0, false
	}
	for _, q := range o.Sandbox.IPC.MsgQueues {
		if q.Key == ipcKey {
			return q.ID, true
		}
	}
	return 0, false
}

func ipcAnswer(o lessons.Observation) (int, string) {
	if o.Host.IPC == nil || o.Sandbox.IPC == nil {
		return -1, "the IPC view was not observed on both sides"
	}
	id, ok := ipcInsideMsgID(o)
	if !ok {
		return -1, "the sandbox's queue was not seen"
	}
	why := fmt.Sprintf("msgget inside returned id %d; the host's queues are %s, and a segment made on the host just then got id %s",
		id, ipcObjects(o.Host.IPC.MsgQueues), lessons.OrNone(o.Extra[ipcProbeID]))
	if id == 0 {
		return 1, why + ": a new IPC namespace starts with empty tables and numbers its objects from the start, whatever the host has used"
	}
	return 0, why
}

func ipcCheck(ctx context.Context, r *lessons.Sandboxes) (bool, string, error) {
	before := r.Get(ipcCreated)
	if before == "" {
		return false, "", fmt.Errorf("check: %w", lessons.ErrNotPerformed)
	}
	snap, err := lessons.ObserveBox(ctx, r, sandbox.ViewIPC, sandbox.ViewMount)
	if err != nil {
		return false, "", err
	}
	onHost, err := sandbox.MQueueExists(ipcMQName)
	if err != nil {
		return false, "", fmt.Errorf("check on the host: %w", err)
	}
	if onHost {
		return false, "the host has a queue " + ipcMQName + ": it was made in the host's IPC namespace, not the sandbox's", nil
	}
	host := r.Engine.ObserveHost(ctx, []sandbox.View{sandbox.ViewMount})
	if now := mqueueMounts(host.Mounts); now != r.Get(ipcHostMqueues) {
		return false, fmt.Sprintf("the host's mqueue mounts changed: %q, were %q", now, r.Get(ipcHostMqueues)), nil
	}
	listed, view := mqueueListing(snap)
	inside := mqueueMounts(snap.Mounts)
	if !listed {
		return false, fmt.Sprintf("%s is not listed inside (mqueue mounts inside: %s; %s)", ipcMQName, lessons.OrNone(inside), view), nil
	}
	return true, fmt.Sprintf("inside, the mqueue mount at %s lists %s; the host has no such queue and no new mount", inside, ipcMQName), nil
}

// ipcSolve runs the solution in the sandbox's shell. Without cgo nslab
// cannot enter the sandbox, and the engine mounts instead.
func ipcSolve(ctx context.Context, r *lessons.Sandboxes) error {
	err := lessons.RunSolution(ctx, r, r.Lesson.Challenge.Solution)
	if !errors.Is(err, sandbox.ErrNoEnter) {
		return err
	}
	if err := r.Box.Mount(ctx, "mqueue", "/dev/mqueue"); !errors.Is(err, sandbox.ErrBadInput) {
		return err
	}
	return r.Box.Mount(ctx, "mqueue", "/mnt")
}
