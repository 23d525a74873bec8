package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file holds the platform-free half of observation: parsers for the
// /proc files nslab reads and the small decisions made on their content.
// The syscalls are in observe_linux.go, observe_procs_linux.go and
// observe_read_linux.go; the other /proc parsers in observe_files.go.

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
// and Seccomp, it allocates per line (this one runs for every process of
// every snapshot), and linking procfs would cost every agent start about
// half a millisecond of package init (it compiles regular expressions).
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
