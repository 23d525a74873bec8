package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/moby/sys/mountinfo"
)

// This file holds the platform-free half of observation: parsers for the
// /proc files nslab reads and the small decisions made on their content.
// The syscalls are in observe_linux.go.

// ErrParse is wrapped by every error about a /proc file nslab could not
// understand.
var ErrParse = errors.New("unexpected /proc format")

// procStatus is the part of /proc/PID/status nslab uses: the process
// views and the doctor's facts (ProbeMachine) read it through parseStatus.
type procStatus struct {
	Name       string
	State      string // first letter of the State line: R, S, Z ...
	PPid       int
	NSpid      []int
	UID, EUID  int
	GID, EGID  int
	CapEff     uint64
	CapBnd     uint64
	haveCapEff bool
	Kthread    bool // a kernel thread ("Kthread: 1", kernels since 6.x)
	NoNewPrivs bool
	Seccomp    int // SeccompDisabled ...; SeccompUnknown without the line
}

// parseStatus reads the fields of /proc/PID/status that nslab uses. The
// file has one "Key:\tvalue" per line; unknown keys are skipped, so that
// newer kernels' additions do not matter.
//
// It is nslab's one /proc/PID/status parser. github.com/prometheus/procfs
// has one too, but its ProcStatus lacks State, PPid, Kthread, NoNewPrivs
// and Seccomp, and it allocates per line; this one runs for every process
// of every snapshot.
func parseStatus(b []byte) (procStatus, error) {
	st := procStatus{Seccomp: SeccompUnknown}
	seen := 0
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		key, val := line[:colon], bytes.TrimLeft(line[colon+1:], " \t")
		switch string(key) { // no allocation: the compiler special-cases this
		case "Name":
			st.Name = string(val)
			seen++
		case "State":
			if len(val) > 0 {
				st.State = string(val[:1])
			}
		case "PPid":
			n, err := atoiBytes(val)
			if err != nil {
				return st, fmt.Errorf("%w: status PPid %q", ErrParse, val)
			}
			st.PPid = n
		case "NSpid":
			for _, f := range bytes.Fields(val) {
				n, err := atoiBytes(f)
				if err != nil {
					return st, fmt.Errorf("%w: status NSpid %q", ErrParse, val)
				}
				st.NSpid = append(st.NSpid, n)
			}
		case "Uid", "Gid":
			f := bytes.Fields(val)
			if len(f) < 2 {
				return st, fmt.Errorf("%w: status %s %q", ErrParse, key, val)
			}
			real, err1 := atoiBytes(f[0])
			eff, err2 := atoiBytes(f[1])
			if err1 != nil || err2 != nil {
				return st, fmt.Errorf("%w: status %s %q", ErrParse, key, val)
			}
			if key[0] == 'U' {
				st.UID, st.EUID = real, eff
			} else {
				st.GID, st.EGID = real, eff
			}
		case "Kthread":
			st.Kthread = len(val) > 0 && val[0] == '1'
		case "CapEff":
			c, err := strconv.ParseUint(string(val), 16, 64)
			if err != nil {
				return st, fmt.Errorf("%w: status CapEff %q", ErrParse, val)
			}
			st.CapEff, st.haveCapEff = c, true
		case "CapBnd":
			c, err := strconv.ParseUint(string(val), 16, 64)
			if err != nil {
				return st, fmt.Errorf("%w: status CapBnd %q", ErrParse, val)
			}
			st.CapBnd = c
		case "NoNewPrivs":
			st.NoNewPrivs = len(val) > 0 && val[0] == '1'
		case "Seccomp":
			n, err := atoiBytes(val)
			if err != nil {
				return st, fmt.Errorf("%w: status Seccomp %q", ErrParse, val)
			}
			st.Seccomp = n
		}
	}
	if seen == 0 {
		return st, fmt.Errorf("%w: status without a Name line", ErrParse)
	}
	return st, nil
}

// atoiBytes is strconv.Atoi for a byte slice of ASCII digits, without the
// string conversion (this runs a few times per process per snapshot).
func atoiBytes(b []byte) (int, error) {
	if len(b) == 0 || len(b) > 18 {
		return 0, strconv.ErrSyntax
	}
	neg := false
	if b[0] == '-' {
		neg, b = true, b[1:]
		if len(b) == 0 {
			return 0, strconv.ErrSyntax
		}
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, strconv.ErrSyntax
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, nil
}

// cmdlineMax is how much of /proc/PID/cmdline nslab keeps: a table cell,
// not an audit log.
const cmdlineMax = 80

// shortCmdline renders /proc/PID/cmdline (NUL-separated arguments) as one
// line, cut to cmdlineMax runes. Kernel threads and zombies have an empty
// cmdline and get "".
func shortCmdline(b []byte) string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return ""
	}
	out := make([]byte, 0, min(len(b), cmdlineMax+4))
	runes := 0
	for len(b) > 0 && runes < cmdlineMax {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == 0 || r == '\n' || r == '\t':
			out = append(out, ' ')
		case r == utf8.RuneError && size == 1:
			out = append(out, '?')
		default:
			out = append(out, b[:size]...)
		}
		b = b[size:]
		runes++
	}
	if len(b) > 0 {
		out = append(out, "…"...)
	}
	return string(out)
}

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

// parseCgroup picks the path this side sees in /proc/PID/cgroup: the
// cgroup v2 line ("0::/path") when there is one, else the first line's
// path. Hybrid hosts list v1 hierarchies first and the v2 line last.
func parseCgroup(b []byte) (string, error) {
	first, haveFirst := "", false
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" {
			continue
		}
		// hierarchy-ID:controller-list:path; the path may contain ':'.
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			return "", fmt.Errorf("%w: cgroup line %q", ErrParse, line)
		}
		if parts[0] == "0" && parts[1] == "" {
			return parts[2], nil
		}
		if !haveFirst {
			first, haveFirst = parts[2], true
		}
	}
	if !haveFirst {
		return "", fmt.Errorf("%w: empty cgroup file", ErrParse)
	}
	return first, nil
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

// rawProc is a process as read from /proc, before PPIDs are translated.
type rawProc struct {
	Proc
	hostPPID int // PPid in the reader's /proc, i.e. host PIDs
}

// finishProcs turns raw processes into the view of one PID namespace:
// PPID becomes the parent's PID inside that namespace, or 0 when the
// parent is not among procs (it lives outside). The result is sorted by
// PID, then HostPID.
func finishProcs(raw []rawProc) []Proc {
	inside := make(map[int]int, len(raw))
	for _, r := range raw {
		inside[r.HostPID] = r.PID
	}
	out := make([]Proc, len(raw))
	for i, r := range raw {
		p := r.Proc
		p.PPID = inside[r.hostPPID] // 0 when absent: the parent is outside
		out[i] = p
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PID != out[j].PID {
			return out[i].PID < out[j].PID
		}
		return out[i].HostPID < out[j].HostPID
	})
	return out
}

// nspidAt returns the PID a process has in the namespace `up` levels above
// its own (0: its own), given its NSpid line (outermost first).
func nspidAt(nspid []int, up int) (int, bool) {
	i := len(nspid) - 1 - up
	if up < 0 || i < 0 {
		return 0, false
	}
	return nspid[i], true
}

// formatOffsets renders /proc/PID/timens_offsets on one line:
// "monotonic 0 0; boottime 0 0".
func formatOffsets(b []byte) string {
	var parts []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			parts = append(parts, strings.Join(f, " "))
		}
	}
	return strings.Join(parts, "; ")
}
