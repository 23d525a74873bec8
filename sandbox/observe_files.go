package sandbox

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"
)

// This file parses the /proc files of the views other than processes:
// ID maps, cgroup paths, System V IPC tables and mount propagation.

// parseIDMap reads /proc/PID/uid_map or gid_map: lines of three numbers.
// An empty file (a user namespace whose map is not written yet) is a nil
// map, not an error.
func parseIDMap(b []byte) ([]IDMap, error) {
	var out []IDMap
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("%w: id map line %q", ErrParse, line)
		}
		var v [3]int64
		for i := range f {
			n, err := strconv.ParseInt(f[i], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%w: id map line %q: %w", ErrParse, line, err)
			}
			v[i] = n
		}
		out = append(out, IDMap{Inside: v[0], Outside: v[1], Count: v[2]})
	}
	return out, nil
}

// FormatIDMap renders a map as uid_map prints it, one "inside outside
// count" triple per line joined by "; ". An unwritten map is "(empty)".
func FormatIDMap(m []IDMap) string {
	if len(m) == 0 {
		return "(empty)"
	}
	parts := make([]string, len(m))
	for i, e := range m {
		parts[i] = fmt.Sprintf("%d %d %d", e.Inside, e.Outside, e.Count)
	}
	return strings.Join(parts, "; ")
}

// parseCgroup reads every line of /proc/PID/cgroup and picks the path
// this side sees: the cgroup v2 line ("0::/path") when there is one, else
// the first line's path. Hybrid hosts list v1 hierarchies first and the v2
// line last.
func parseCgroup(b []byte) (string, []CgroupLine, error) {
	var lines []CgroupLine
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" {
			continue
		}
		// hierarchy-ID:controller-list:path; the path may contain ':'.
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			return "", nil, fmt.Errorf("%w: cgroup line %q", ErrParse, line)
		}
		h, err := strconv.Atoi(parts[0])
		if err != nil || h < 0 {
			return "", nil, fmt.Errorf("%w: cgroup hierarchy %q", ErrParse, parts[0])
		}
		lines = append(lines, CgroupLine{Hierarchy: h, Controllers: parts[1], Path: parts[2]})
	}
	if len(lines) == 0 {
		return "", nil, fmt.Errorf("%w: empty cgroup file", ErrParse)
	}
	for _, l := range lines {
		if l.Key() == "v2" {
			return l.Path, lines, nil
		}
	}
	return lines[0].Path, lines, nil
}

// sysvKind is one of the three /proc/sysvipc files.
type sysvKind struct {
	file   string // "msg", "shm", "sem"
	idCol  string // the id column's header
	sizeCl string // the column shown as Size: bytes queued, segment size, semaphores
}

var (
	sysvMsg = sysvKind{"msg", "msqid", "cbytes"}
	sysvShm = sysvKind{"shm", "shmid", "size"}
	sysvSem = sysvKind{"sem", "semid", "nsems"}
)

// parseSysvipc reads /proc/sysvipc/{msg,shm,sem}. Columns are found by the
// header line's names rather than by position, since the kernel has added
// columns over time (shm's rss and swap).
func parseSysvipc(b []byte, k sysvKind) ([]IPCObject, error) {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) == "" {
		return nil, fmt.Errorf("%w: /proc/sysvipc/%s has no header", ErrParse, k.file)
	}
	col := map[string]int{}
	for i, h := range strings.Fields(lines[0]) {
		col[h] = i
	}
	for _, need := range []string{"key", k.idCol, "perms", "uid"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%w: /proc/sysvipc/%s lacks column %q", ErrParse, k.file, need)
		}
	}
	sizeCol, haveSize := col[k.sizeCl]
	var out []IPCObject
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < len(col) {
			return nil, fmt.Errorf("%w: /proc/sysvipc/%s line %q", ErrParse, k.file, line)
		}
		// The kernel prints the key as a signed decimal; ipcs shows it as
		// 32-bit hex.
		key, err1 := strconv.ParseInt(f[col["key"]], 10, 64)
		id, err2 := strconv.Atoi(f[col[k.idCol]])
		uid, err3 := strconv.Atoi(f[col["uid"]])
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("%w: /proc/sysvipc/%s line %q: %w", ErrParse, k.file, line, err)
		}
		o := IPCObject{
			Key:   fmt.Sprintf("0x%08x", uint32(key)),
			ID:    id,
			Owner: uid,
			Perms: f[col["perms"]], // already octal
		}
		if haveSize {
			n, err := strconv.ParseInt(f[sizeCol], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%w: /proc/sysvipc/%s line %q: %w", ErrParse, k.file, line, err)
			}
			o.Size = n
		}
		out = append(out, o)
	}
	return out, nil
}

// mountFromInfo converts one parsed mountinfo line.
func mountFromInfo(in *mountinfo.Info) Mount {
	return Mount{
		ID:          in.ID,
		Parent:      in.Parent,
		Mountpoint:  in.Mountpoint,
		FSType:      in.FSType,
		Source:      in.Source,
		Options:     in.Options,
		Propagation: propagation(in.Optional),
	}
}

// propagationFields keeps, of mountinfo's optional fields, the ones about
// propagation: "shared:N", "master:N", "propagate_from:N", "unbindable".
// It is the one reader of those fields; propagation renders them for the
// mount view and PropagationOf classifies them for the doctor.
func propagationFields(optional string) []string {
	var out []string
	for _, f := range strings.Fields(optional) {
		tag, _, _ := strings.Cut(f, ":")
		switch tag {
		case "shared", "master", "unbindable":
			out = append(out, f)
		case "propagate_from":
			// Only meaningful next to master:N, and it names a peer group
			// outside this namespace; keep it for the curious.
			out = append(out, f)
		}
	}
	return out
}

// propagation renders mountinfo's optional fields as the propagation type:
// "shared:N", "master:N", both ("shared:N master:M" for a slave that is
// itself shared), "unbindable", or "private" when there are none.
func propagation(optional string) string {
	parts := propagationFields(optional)
	if len(parts) == 0 {
		return "private"
	}
	return strings.Join(parts, " ")
}

// PropagationOf classifies a mount's propagation: PropagationShared,
// PropagationSlave, PropagationPrivate or PropagationUnbindable. It takes
// mountinfo's optional fields ("shared:1 master:2") or a Mount's
// Propagation, which keeps the same fields. No field means private.
func PropagationOf(optional string) string {
	shared, slave := false, false
	for _, f := range propagationFields(optional) {
		tag, _, _ := strings.Cut(f, ":")
		switch tag {
		case "shared":
			shared = true
		case "master":
			slave = true
		case "unbindable":
			return PropagationUnbindable
		}
	}
	switch {
	case shared:
		// "shared:1 master:2" is shared and slave at once; for nslab what
		// matters is that mounts would propagate out.
		return PropagationShared
	case slave:
		return PropagationSlave
	}
	return PropagationPrivate
}
