package sandboxtest

import (
	"strings"
	"testing"
)

// A log in the form strace 6.1 writes with -f -qq -s 65535, taken from a
// real `nslab run` and shortened.
const straceSample = `18947 clone(child_stack=NULL, flags=CLONE_PIDFD|CLONE_NEWUSER|SIGCHLD <unfinished ...>
18950 write(4, "{}\n", 3) = 3
18947 <... clone resumed>, parent_tid=[12]) = 19057
18947 openat(AT_FDCWD, "/proc/19057/uid_map", O_WRONLY|O_CLOEXEC) = 15
18947 write(15, "0 65534 1\n", 10) = 10
19057 openat(AT_FDCWD, "/proc/18926/ns/uts", O_RDONLY|O_CLOEXEC) = -1 EACCES (Permission denied)
19216 mount("", "/", 0x1c5522998dc2, MS_REC|MS_PRIVATE, NULL) = 0
19382 sendto(7, "\10\0\367\37J\0\1\0nslab", 13, 0, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("127.0.0.1")}, 16) = 13
19382 mq_open("nslab", O_RDWR|O_CREAT|O_CLOEXEC, 0600, NULL) = 7
19300 clone3({flags=CLONE_PIDFD|CLONE_NEWTIME, pidfd=0x7ffd1234, exit_signal=SIGCHLD, stack=NULL, stack_size=0} => {pidfd=[9]}, 88) = 19301
19300 +++ exited with 0 +++
`

func sampleEvents() []TraceEvent {
	return []TraceEvent{
		{TID: 18947, Syscall: "clone", Args: []string{"child_stack=NULL", "flags=CLONE_PIDFD|CLONE_NEWUSER|SIGCHLD", "parent_tid=&pidfd"}, Ret: 19057},
		{TID: 18947, Syscall: "openat", Args: []string{"AT_FDCWD", `"/proc/19057/uid_map"`, "O_WRONLY|O_CLOEXEC"}, Ret: 15},
		{TID: 18947, Syscall: "write", Args: []string{"15", `"0 65534 1\n"`, "10"}, Ret: 10},
		{TID: 19057, Syscall: "openat", Args: []string{"AT_FDCWD", `"/proc/18926/ns/uts"`, "O_RDONLY|O_CLOEXEC"}, Ret: -1, Errno: "EACCES"},
		{TID: 19216, Syscall: "mount", Args: []string{`""`, `"/"`, `""`, "MS_REC|MS_PRIVATE", "NULL"}},
		{TID: 19382, Syscall: "sendto", Args: []string{"7", "\"\\b\\x00\\xf7\\x1fJ\\x00\\x01\\x00nslab\"", "13", "0",
			`{sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("127.0.0.1")}`, "16"}, Ret: 13},
		{TID: 19382, Syscall: "mq_open", Args: []string{`"nslab"`, "O_RDWR|O_CREAT|O_CLOEXEC", "0600", "NULL"}, Ret: 7},
		{TID: 19300, Syscall: "clone3", Args: []string{"{flags=CLONE_PIDFD|CLONE_NEWTIME, pidfd=&pidfd, exit_signal=SIGCHLD, stack=NULL, stack_size=0}", "88"}, Ret: 19301},
	}
}

func TestParseStraceJoinsResumedCalls(t *testing.T) {
	calls := ParseStrace(straceSample)
	if len(calls) != 9 {
		t.Fatalf("%d calls, want 9: %+v", len(calls), calls)
	}
	c := calls[1] // the clone completes after the write that interrupted it
	if c.Name != "clone" || c.TID != 18947 || c.Ret != 19057 || len(c.Args) != 3 || c.Args[2] != "parent_tid=[12]" {
		t.Errorf("resumed clone: %+v", c)
	}
	if e := calls[4]; e.Errno != "EACCES" || e.Ret != -1 {
		t.Errorf("failed openat: %+v", e)
	}
}

func TestTraceMatchesItsStraceLines(t *testing.T) {
	if bad := MatchTrace(sampleEvents(), ParseStrace(straceSample)); len(bad) != 0 {
		t.Fatal(strings.Join(bad, "\n"))
	}
}

// Each doctored event must find no line: the cross-check can fail on
// every field it compares.
func TestDoctoredEventsDoNotMatch(t *testing.T) {
	calls := ParseStrace(straceSample)
	doctor := map[string]func(e *TraceEvent){
		"wrong ret":      func(e *TraceEvent) { e.Ret = 33 },
		"wrong tid":      func(e *TraceEvent) { e.TID = 19562 },
		"wrong syscall":  func(e *TraceEvent) { e.Syscall = "pwrite64" },
		"errno invented": func(e *TraceEvent) { e.Ret, e.Errno = -1, "EPERM" },
		"string changed": func(e *TraceEvent) { e.Args[1] = `"0 65534 1"` },
		"count changed":  func(e *TraceEvent) { e.Args[2] = "11" },
		"flag missing":   func(e *TraceEvent) { e.Args = []string{"AT_FDCWD", `"/proc/19057/uid_map"`, "O_WRONLY"} },
		"NULL for a string": func(e *TraceEvent) {
			e.Syscall, e.Args = "mount", []string{"NULL", `"/"`, `""`, "MS_REC|MS_PRIVATE", "NULL"}
		},
		"libc's name": func(e *TraceEvent) {
			e.Syscall, e.Args = "mq_open", []string{`"/nslab"`, "O_RDWR|O_CREAT|O_CLOEXEC", "0600", "NULL"}
		},
		"argument missing":     func(e *TraceEvent) { e.Args = e.Args[:2] },
		"pointer for a number": func(e *TraceEvent) { e.Args[0] = "&fd" },
	}
	for name, f := range doctor {
		e := sampleEvents()[2] // write(15, "0 65534 1\n", 10) = 10
		e.Args = append([]string(nil), e.Args...)
		f(&e)
		if e.Syscall == "mount" {
			e.TID, e.Ret = 19216, 0
		}
		if e.Syscall == "mq_open" {
			e.TID, e.Ret = 19382, 7
		}
		if bad := MatchTrace([]TraceEvent{e}, calls); len(bad) != 1 {
			t.Errorf("%s: %s matched strace", name, e)
		}
	}
}

// One strace line serves one event: the same event twice needs two calls.
func TestEachLineServesOneEvent(t *testing.T) {
	e := sampleEvents()[2]
	if bad := MatchTrace([]TraceEvent{e, e}, ParseStrace(straceSample)); len(bad) != 1 {
		t.Errorf("two events matched one strace line: %v", bad)
	}
}

func TestSameArg(t *testing.T) {
	for _, c := range []struct {
		st, ev string
		want   bool
	}{
		{`"\10\0\367"`, `"\b\x00\xf7"`, true},
		{`"a\"b"`, `"a\"b"`, true},
		{`"ab"`, `"ac"`, false},
		{"0x1c5522998dc2", `""`, true},    // mount's ignored fstype
		{"0x1c5522998dc2", "NULL", false}, // NULL is no pointer strace hid
		{"[12]", "&pidfd", true},
		{"[12]", "12", false},
		{"0x6e736c62", "0x6e736c62", true},
		{"0x6e736c62", "0x6e736c63", false},
		{"parent_tid=[12]", "parent_tid=&pidfd", true},
		{"flags=CLONE_NEWUTS", "flags=CLONE_NEWPID", false},
	} {
		if got := SameArg(c.st, c.ev); got != c.want {
			t.Errorf("SameArg(%s, %s) = %v, want %v", c.st, c.ev, got, c.want)
		}
	}
}
