package sandboxtest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// TraceEvent is the part of a trace event (sandbox.Event, as `nslab run
// --json` prints it) that strace can confirm.
type TraceEvent struct {
	Syscall string   `json:"syscall"`
	Args    []string `json:"args"`
	Ret     int64    `json:"ret"`
	Errno   string   `json:"errno"`
	TID     int      `json:"tid"`
}

func (e TraceEvent) String() string {
	r := strconv.FormatInt(e.Ret, 10)
	if e.Errno != "" {
		r = "-1 " + e.Errno
	}
	return fmt.Sprintf("%d %s(%s) = %s", e.TID, e.Syscall, strings.Join(e.Args, ", "), r)
}

// StraceCall is one completed syscall in an `strace -f` log.
type StraceCall struct {
	TID   int
	Name  string
	Args  []string
	Ret   int64
	Errno string
	Line  string
}

var (
	straceHead     = regexp.MustCompile(`^(\d+) +(\w+)\((.*)$`)
	straceResumed  = regexp.MustCompile(`^(\d+) +<\.\.\. (\w+) resumed>(.*)$`)
	straceRet      = regexp.MustCompile(`\) += (-?\d+|0x[0-9a-f]+)(?: ([A-Z][A-Z0-9_]+)(?: \(.*\))?)?$`)
	stracePointer  = regexp.MustCompile(`^0x[0-9a-f]+$`)
	straceOutParam = regexp.MustCompile(`^\[\d+\]$`)
)

// ParseStrace reads an `strace -f` log (one line a call, prefixed by the
// tid): it joins "<unfinished ...>" lines with their "<... resumed>" line
// and skips signals, exits and anything that is not a completed call.
func ParseStrace(log string) []StraceCall {
	var out []StraceCall
	pending := map[int]string{} // tid → the unfinished start of a line
	for _, line := range strings.Split(log, "\n") {
		line = strings.TrimRight(line, " ")
		if m := straceResumed.FindStringSubmatch(line); m != nil {
			tid, _ := strconv.Atoi(m[1])
			start, ok := pending[tid]
			if !ok {
				continue
			}
			delete(pending, tid)
			line = start + m[3]
		} else if strings.HasSuffix(line, " <unfinished ...>") {
			tid, _ := strconv.Atoi(strings.Fields(line)[0])
			pending[tid] = strings.TrimSuffix(line, " <unfinished ...>")
			continue
		}
		m := straceHead.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		r := straceRet.FindStringSubmatchIndex(m[3])
		if r == nil {
			continue // no return value (exit, a call strace lost)
		}
		c := StraceCall{Name: m[2], Line: line}
		c.TID, _ = strconv.Atoi(m[1])
		c.Args = SplitArgs(m[3][:r[0]])
		c.Ret, _ = strconv.ParseInt(m[3][r[2]:r[3]], 0, 64)
		if r[4] >= 0 {
			c.Errno = m[3][r[4]:r[5]]
		}
		out = append(out, c)
	}
	return out
}

// SplitArgs splits an argument list at its top-level commas, keeping
// quoted strings, {structs} and [arrays] whole.
func SplitArgs(s string) []string {
	var out []string
	depth, start := 0, 0
	inStr := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[' || c == '(':
			depth++
		case c == '}' || c == ']' || c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" || len(out) > 0 {
		out = append(out, rest)
	}
	return out
}

// SameArg is THE normalisation between strace's rendering of an argument
// (st) and nslab's (ev); everything else must be equal byte for byte:
//
//  1. Quoting: a string strace prints in C quotes ("\n", octal "\10") and
//     the same string nslab prints in Go quotes ("\n", "\b") are equal when
//     they decode to the same bytes.
//  2. Pointer values: where strace prints an address (0x7ffd…) or the
//     value the kernel wrote back through a pointer ([14], "=> {…}"),
//     nslab shows what the pointer pointed at: the string passed (mount's
//     fstype, which the kernel ignores for MS_BIND and propagation changes)
//     or "&name" for a result it cannot see (os/exec's pidfd).
//
// Both rules apply inside structs ({key=value, …}) field by field.
func SameArg(st, ev string) bool {
	if st == ev {
		return true
	}
	// Rule 2: "=> {...}" is what the kernel wrote back into a struct.
	if i := strings.Index(st, "} => {"); i >= 0 && strings.HasSuffix(st, "}") {
		st = st[:i+1]
	}
	if stracePointer.MatchString(st) || straceOutParam.MatchString(st) {
		return strings.HasPrefix(ev, "&") || (strings.HasPrefix(ev, `"`) && stracePointer.MatchString(st))
	}
	// Rule 1.
	if strings.HasPrefix(st, `"`) && strings.HasPrefix(ev, `"`) {
		a, err1 := unquoteC(st)
		b, err2 := strconv.Unquote(ev)
		return err1 == nil && err2 == nil && a == b
	}
	// Structs and key=value: field by field.
	if strings.HasPrefix(st, "{") && strings.HasPrefix(ev, "{") && strings.HasSuffix(st, "}") && strings.HasSuffix(ev, "}") {
		return sameList(SplitArgs(st[1:len(st)-1]), SplitArgs(ev[1:len(ev)-1]))
	}
	sk, sv, sok := strings.Cut(st, "=")
	ek, evv, eok := strings.Cut(ev, "=")
	if sok && eok && sk == ek && !strings.ContainsAny(sk, `"{[ `) {
		return SameArg(sv, evv)
	}
	return false
}

func sameList(st, ev []string) bool {
	if len(st) != len(ev) {
		return false
	}
	for i := range st {
		if !SameArg(st[i], ev[i]) {
			return false
		}
	}
	return true
}

// unquoteC decodes a string in strace's C quoting.
func unquoteC(s string) (string, error) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", fmt.Errorf("not a quoted string: %s", s)
	}
	s = s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			return "", fmt.Errorf("trailing backslash")
		}
		switch e := s[i]; e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'v':
			b.WriteByte('\v')
		case 'f':
			b.WriteByte('\f')
		case 'x':
			j := i + 1
			for j < len(s) && j < i+3 && strings.IndexByte("0123456789abcdefABCDEF", s[j]) >= 0 {
				j++
			}
			v, err := strconv.ParseUint(s[i+1:j], 16, 8)
			if err != nil {
				return "", err
			}
			b.WriteByte(byte(v))
			i = j - 1
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j := i
			for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
				j++
			}
			v, err := strconv.ParseUint(s[i:j], 8, 8)
			if err != nil {
				return "", err
			}
			b.WriteByte(byte(v))
			i = j - 1
		default:
			b.WriteByte(e)
		}
	}
	return b.String(), nil
}

// Matches reports whether c is the kernel's record of e: same tid,
// syscall, return value or errno, and each argument the same under
// SameArg.
func (c StraceCall) Matches(e TraceEvent) bool {
	if c.TID != e.TID || c.Name != e.Syscall || c.Errno != e.Errno {
		return false
	}
	if e.Errno == "" && c.Ret != e.Ret {
		return false
	}
	return sameList(c.Args, e.Args)
}

// MatchTrace pairs every event with its own strace call (each call serves
// one event) and returns one message for each event without one.
func MatchTrace(events []TraceEvent, calls []StraceCall) []string {
	used := make([]bool, len(calls))
	var bad []string
	for _, e := range events {
		found := false
		for i, c := range calls {
			if !used[i] && c.Matches(e) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			var near []string
			for _, c := range calls {
				if c.Name == e.Syscall && (c.TID == e.TID || len(near) < 3) {
					near = append(near, "    "+c.Line)
				}
			}
			if len(near) > 8 {
				near = near[:8]
			}
			bad = append(bad, fmt.Sprintf("event %s: no strace line matches; strace saw %s calls like:\n%s",
				e, e.Syscall, strings.Join(near, "\n")))
		}
	}
	return bad
}
