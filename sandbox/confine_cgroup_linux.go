package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Limits bound the processes of one learner, all their sandboxes together.
type Limits struct {
	// Pids is the most processes (and threads) at once: pids.max. 0: 256.
	Pids int
	// Memory is the most memory in bytes: memory.max (v2) or
	// memory.limit_in_bytes (v1). 0: 512 MiB.
	Memory int64
	// CPUWeight is the learner's share of a busy CPU against the others,
	// 1 to 10000 as cgroup v2's cpu.weight (v1: cpu.shares = weight*1024/100).
	// 0: 100, the default every other cgroup has.
	CPUWeight int
	// NProc is RLIMIT_NPROC for the learner's host uid, the floor where
	// no pids controller is: 0 means Pids.
	NProc int
}

func (l Limits) withDefaults() Limits {
	if l.Pids <= 0 {
		l.Pids = 256
	}
	if l.Memory <= 0 {
		l.Memory = 512 << 20
	}
	if l.CPUWeight <= 0 {
		l.CPUWeight = 100
	}
	if l.CPUWeight > 10000 {
		l.CPUWeight = 10000
	}
	if l.NProc <= 0 {
		l.NProc = l.Pids
	}
	return l
}

// confineControllers are the controllers a learner's cgroup limits.
func confineControllers() []string { return []string{"pids", "memory", "cpu"} }

// learnerCgroup is one learner's cgroup: on a cgroup v2 host one directory
// holding every controller; on a v1 or hybrid host one directory per v1
// hierarchy (pids, memory and cpu are separate mounts), the same name in
// each. A controller found nowhere is left out and named in missing.
type learnerCgroup struct {
	dirs    []string // one per hierarchy
	v2      bool     // dirs[0] is a v2 cgroup holding every controller found
	missing []string
}

// cgroupMounts finds, for each controller, the directory under which a
// learner's cgroup goes: the v2 mount if its root offers the controller,
// else the v1 mount of that controller.
func cgroupMounts() (v2 string, v1 map[string]string, err error) {
	mounts, err := mountinfo.GetMounts(func(m *mountinfo.Info) (skip, stop bool) {
		return m.FSType != "cgroup" && m.FSType != "cgroup2", false
	})
	if err != nil {
		return "", nil, fmt.Errorf("list cgroup mounts: %w", err)
	}
	v1 = map[string]string{}
	for _, m := range mounts {
		if m.FSType == "cgroup2" {
			if v2 == "" {
				v2 = m.Mountpoint
			}
			continue
		}
		for _, o := range strings.Split(m.VFSOptions, ",") {
			if slices.Contains(confineControllers(), o) {
				if _, ok := v1[o]; !ok {
					v1[o] = m.Mountpoint
				}
			}
		}
	}
	return v2, v1, nil
}

// v2Controllers reads which controllers a v2 cgroup offers its children.
func v2Controllers(dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}

// newLearnerCgroup makes the learner's cgroup with the limits written. The
// name carries a random suffix: a learner who reconnects while their old
// session is still closing gets a second cgroup, not the dying one.
func newLearnerCgroup(learner string, lim Limits) (*learnerCgroup, error) {
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("name the learner's cgroup: %w", err)
	}
	name := "nslab-learner-" + learner + "-" + hex.EncodeToString(rnd[:])
	v2root, v1, err := cgroupMounts()
	if err != nil {
		return nil, err
	}
	cg := &learnerCgroup{}
	ok := false
	defer func() {
		if !ok {
			_ = cg.remove()
		}
	}()
	var in2 []string
	if v2root != "" {
		in2 = v2Controllers(v2root)
	}
	var want2 []string
	for _, c := range confineControllers() {
		if slices.Contains(in2, c) {
			want2 = append(want2, c)
		}
	}
	if len(want2) > 0 {
		// The root cgroup may have processes and still delegate
		// controllers (the no-internal-processes rule spares it), so the
		// learner's cgroup goes right below the root.
		var plus []string
		for _, c := range want2 {
			plus = append(plus, "+"+c)
		}
		if err := os.WriteFile(filepath.Join(v2root, "cgroup.subtree_control"), []byte(strings.Join(plus, " ")), 0); err != nil {
			return nil, fmt.Errorf("enable %s for child cgroups of %s: %w", strings.Join(want2, ", "), v2root, err)
		}
		dir := filepath.Join(v2root, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, fmt.Errorf("make the learner's cgroup: %w", err)
		}
		cg.dirs, cg.v2 = append(cg.dirs, dir), true
		for _, c := range want2 {
			if err := cg.limit2(dir, c, lim); err != nil {
				return nil, err
			}
		}
	}
	for _, c := range confineControllers() {
		if slices.Contains(want2, c) {
			continue
		}
		root, found := v1[c]
		if !found {
			cg.missing = append(cg.missing, c)
			continue
		}
		dir := filepath.Join(root, name)
		if !slices.Contains(cg.dirs, dir) {
			if err := os.Mkdir(dir, 0o755); err != nil {
				return nil, fmt.Errorf("make the learner's %s cgroup: %w", c, err)
			}
			cg.dirs = append(cg.dirs, dir)
		}
		if err := limit1(dir, c, lim); err != nil {
			return nil, err
		}
	}
	if slices.Contains(cg.missing, "pids") {
		// Without a pids limit one learner's fork bomb reaches every
		// other learner; RLIMIT_NPROC alone counts per sandbox.
		return nil, fmt.Errorf("%w: no pids cgroup controller (v1 or v2) on this host: mount one, or serve on a host with cgroup v2", ErrConfine)
	}
	ok = true
	return cg, nil
}

func (cg *learnerCgroup) limit2(dir, controller string, lim Limits) error {
	switch controller {
	case "pids":
		return writeCgroup(dir, "pids.max", strconv.Itoa(lim.Pids))
	case "memory":
		if err := writeCgroup(dir, "memory.max", strconv.FormatInt(lim.Memory, 10)); err != nil {
			return err
		}
		// Without swap the limit means what it says; a kernel without
		// swap accounting has no such file.
		if _, err := os.Stat(filepath.Join(dir, "memory.swap.max")); err == nil {
			return writeCgroup(dir, "memory.swap.max", "0")
		}
		return nil
	case "cpu":
		return writeCgroup(dir, "cpu.weight", strconv.Itoa(lim.CPUWeight))
	}
	return nil
}

func limit1(dir, controller string, lim Limits) error {
	switch controller {
	case "pids":
		return writeCgroup(dir, "pids.max", strconv.Itoa(lim.Pids))
	case "memory":
		return writeCgroup(dir, "memory.limit_in_bytes", strconv.FormatInt(lim.Memory, 10))
	case "cpu":
		shares := lim.CPUWeight * 1024 / 100
		if shares < 2 {
			shares = 2 // the kernel's minimum
		}
		return writeCgroup(dir, "cpu.shares", strconv.Itoa(shares))
	}
	return nil
}

func writeCgroup(dir, file, val string) error {
	if err := os.WriteFile(filepath.Join(dir, file), []byte(val), 0); err != nil {
		return fmt.Errorf("limit the learner's cgroup (%s = %s): %w", file, val, err)
	}
	return nil
}

// procsFiles are the cgroup.procs files a process is written to, to join
// the learner's cgroup in every hierarchy.
func (cg *learnerCgroup) procsFiles() []string {
	var out []string
	for _, d := range cg.dirs {
		out = append(out, filepath.Join(d, "cgroup.procs"))
	}
	return out
}

// add moves pid into the learner's cgroup in every hierarchy.
func (cg *learnerCgroup) add(pid int) error {
	for _, f := range cg.procsFiles() {
		if err := os.WriteFile(f, []byte(strconv.Itoa(pid)), 0); err != nil {
			return fmt.Errorf("move process %d into the learner's cgroup %s: %w", pid, filepath.Dir(f), err)
		}
	}
	return nil
}

// pids lists the processes still in any of the learner's cgroups.
func (cg *learnerCgroup) pids() []int {
	var out []int
	for _, f := range cg.procsFiles() {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, s := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(s); err == nil && !slices.Contains(out, pid) {
				out = append(out, pid)
			}
		}
	}
	return out
}

// remove kills whatever is left in the cgroup and removes its
// directories, bounded. A cgroup whose last process is dying still counts
// it for a moment: rmdir says EBUSY until the kernel is done.
func (cg *learnerCgroup) remove() error {
	if cg == nil {
		return nil
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		pids := cg.pids()
		if len(pids) == 0 || time.Now().After(deadline) {
			break
		}
		for _, pid := range pids {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var errs []error
	for i := len(cg.dirs) - 1; i >= 0; i-- {
		d := cg.dirs[i]
		for {
			err := unix.Rmdir(d)
			if err == nil || errors.Is(err, fs.ErrNotExist) {
				break
			}
			if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
				errs = append(errs, fmt.Errorf("remove the learner's cgroup %s: %w", d, err))
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return errors.Join(errs...)
}
