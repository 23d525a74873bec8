package sandbox

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// The agent protocol: one JSON object a line, requests on the agent's fd 3,
// replies on its fd 4. These are the agent's own pipes, never the learner's
// terminal. Every reply names the request it answers; id 0 is the hello the
// agent sends once it is ready.

// maxLine bounds one protocol line, so a confused agent cannot make the
// engine buffer without limit.
const maxLine = 4 << 20

// Agent operations.
const (
	opUnshare    = "unshare"
	opSetns      = "setns"
	opHostname   = "sethostname"
	opDomainname = "setdomainname"
	opMount      = "mount"
	opUmount     = "umount"
	opLinkUp     = "linkup"
	opAddr       = "addaddr"
	opPing       = "ping"
	opIPC        = "ipc"
	opSpawn      = "spawn"
	opOrphan     = "orphan"
	// opOrphanRelease lets the orphan maker exit.
	opOrphanRelease = "orphanrelease"
	opObserve       = "observe"
	opChildObs      = "childobserve"
	opTimeOffset    = "timeoffset"
	opExit          = "exit"
)

type request struct {
	ID     int    `json:"id"`
	Op     string `json:"op"`
	Flags  uint64 `json:"flags,omitempty"`
	Name   string `json:"name,omitempty"`
	Path   string `json:"path,omitempty"`
	FSType string `json:"fstype,omitempty"`
	Data   string `json:"data,omitempty"`
	PID    int    `json:"pid,omitempty"`
	Kind   string `json:"kind,omitempty"`
	NSType uint64 `json:"nstype,omitempty"`
	N      int    `json:"n,omitempty"`
	Addr   string `json:"addr,omitempty"`
	Views  []View `json:"views,omitempty"`
}

type wireError struct {
	Op    string `json:"op"`
	Errno string `json:"errno,omitempty"`
	Msg   string `json:"msg"`
	// Refused marks errors nslab raised itself (safety checks, bad input)
	// rather than the kernel.
	Refused string `json:"refused,omitempty"`
}

type reply struct {
	ID       int        `json:"id"`
	Err      *wireError `json:"err,omitempty"`
	Events   []Event    `json:"events,omitempty"`
	Snapshot *Snapshot  `json:"snapshot,omitempty"`
	PIDs     []int      `json:"pids,omitempty"`
	Text     string     `json:"text,omitempty"`
	// Hello fields.
	PID int `json:"pid,omitempty"`
	IDs IDs `json:"ids,omitempty"`
}

// Refusal kinds carried in wireError.Refused.
const (
	refusedSame  = "same-namespace"
	refusedInput = "bad-input"
)

// errorOf turns a reply's error back into a Go error that still satisfies
// errors.Is for the errno and for nslab's own sentinel errors.
func (w *wireError) errorOf() error {
	if w == nil {
		return nil
	}
	switch w.Refused {
	case refusedSame:
		return &refusal{msg: w.Msg, sentinel: ErrSameNamespace}
	case refusedInput:
		return &refusal{msg: w.Msg, sentinel: ErrBadInput}
	}
	if w.Errno != "" {
		return &SyscallError{Op: w.Op, Errno: w.Errno, Err: errnoFromNameOr(w.Errno, w.Msg)}
	}
	return fmt.Errorf("%s: %s", w.Op, w.Msg)
}

// errnoFromNameOr rebuilds the errno, or a plain error when the name is not
// one this platform knows.
func errnoFromNameOr(name, msg string) error {
	if e := errnoFromName(name); e != nil {
		return e
	}
	return errors.New(msg)
}

// lineReader reads protocol lines with a bound on their length.
type lineReader struct{ s *bufio.Scanner }

func newLineReader(r io.Reader) *lineReader {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), maxLine)
	return &lineReader{s}
}

// next decodes the next line into v. io.EOF at a clean end; a malformed or
// over-long line is an error wrapping ErrAgent.
func (l *lineReader) next(v any) error {
	if !l.s.Scan() {
		if err := l.s.Err(); err != nil {
			return fmt.Errorf("%w: reading: %w", ErrAgent, err)
		}
		return io.EOF
	}
	if err := json.Unmarshal(l.s.Bytes(), v); err != nil {
		return fmt.Errorf("%w: malformed message: %w", ErrAgent, err)
	}
	return nil
}

// writeLine encodes v as one line.
func writeLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// refusal is an error nslab raised in the agent, rebuilt on the engine's
// side with the same text and the same sentinel for errors.Is.
type refusal struct {
	msg      string
	sentinel error
}

func (r *refusal) Error() string        { return r.msg }
func (r *refusal) Is(target error) bool { return target == r.sentinel }
