package sandbox

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestFlagValuesMatchKernelHeaders(t *testing.T) {
	want := map[string]uintptr{
		"uts": unix.CLONE_NEWUTS, "ipc": unix.CLONE_NEWIPC, "mnt": unix.CLONE_NEWNS, "net": unix.CLONE_NEWNET,
		"pid": unix.CLONE_NEWPID, "user": unix.CLONE_NEWUSER, "cgroup": unix.CLONE_NEWCGROUP, "time": unix.CLONE_NEWTIME,
	}
	if len(Kinds()) != len(want) {
		t.Fatalf("%d kinds, want %d", len(Kinds()), len(want))
	}
	for _, k := range Kinds() {
		if want[k.Name] != k.Flag {
			t.Errorf("%s: flag %#x, unix says %#x", k.Name, k.Flag, want[k.Name])
		}
		if k.ManPage != k.Name+"_namespaces(7)" && !(k.Name == "mnt" && k.ManPage == "mount_namespaces(7)") &&
			!(k.Name == "net" && k.ManPage == "network_namespaces(7)") {
			t.Errorf("%s: man page %s", k.Name, k.ManPage)
		}
	}
}

func TestFlagString(t *testing.T) {
	cases := []struct {
		flags uintptr
		want  string
	}{
		{0, "0"},
		{CloneNewUTS, "CLONE_NEWUTS"},
		{CloneNewUTS | CloneNewPID, "CLONE_NEWUTS|CLONE_NEWPID"},
		{CloneNewPID | CloneNewUTS, "CLONE_NEWUTS|CLONE_NEWPID"},
		{CloneNewTime, "CLONE_NEWTIME"},
		{CloneNewNS | 0x4000 | 0x100, "CLONE_NEWNS|CLONE_VM|CLONE_VFORK"},
		{1 << 40, "0x10000000000"},
		{AllFlags(), "CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWNS|CLONE_NEWNET|CLONE_NEWPID|CLONE_NEWUSER|CLONE_NEWCGROUP|CLONE_NEWTIME"},
	}
	for _, c := range cases {
		if got := FlagString(c.flags); got != c.want {
			t.Errorf("%#x: %q, want %q", c.flags, got, c.want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	f, err := ParseFlags("uts, PID|CLONE_NEWNET mount")
	if err != nil || f != CloneNewUTS|CloneNewPID|CloneNewNet|CloneNewNS {
		t.Errorf("got %#x %v", f, err)
	}
	if f, _ := ParseFlags("all"); f != AllFlags() {
		t.Errorf("all: %#x", f)
	}
	if _, err := ParseFlags("uts,bogus"); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("bogus: %v", err)
	}
}

func TestEventString(t *testing.T) {
	cases := []struct {
		e    Event
		want string
	}{
		{Event{Syscall: "unshare", Args: []string{"CLONE_NEWUTS"}}, "unshare(CLONE_NEWUTS) = 0"},
		{Event{Syscall: "setns", Args: []string{"7", "CLONE_NEWNET"}, Ret: -1, Errno: "EINVAL"}, "setns(7, CLONE_NEWNET) = -1 EINVAL (Invalid argument)"},
		{Event{Syscall: "clone", Args: []string{"child_stack=NULL", "flags=SIGCHLD"}, Ret: 4242}, "clone(child_stack=NULL, flags=SIGCHLD) = 4242"},
		{Event{Syscall: "x", Ret: -1, Errno: "EWEIRD"}, "x() = -1 EWEIRD"},
	}
	for _, c := range cases {
		if got := c.e.String(); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
	d := Event{Kind: "uts", Before: NSID{1, 10}, After: NSID{1, 11}}.Detail()
	if d != "uts:[10] → uts:[11]" {
		t.Errorf("detail %q", d)
	}
	if d := (Event{Kind: "pid_for_children", Before: NSID{1, 10}}).Detail(); !strings.Contains(d, "empty until the first child") {
		t.Errorf("detail of a not-yet-populated namespace: %q", d)
	}
}

func TestErrnoRoundTripAndAdvice(t *testing.T) {
	for _, e := range []unix.Errno{unix.EPERM, unix.EINVAL, unix.ENOSPC, unix.EUSERS, unix.EACCES} {
		name := errnoName(e)
		if back := errnoFromName(name); back != e {
			t.Errorf("%v → %q → %v", e, name, back)
		}
		if ErrnoAdvice(name) == "" {
			t.Errorf("%s: no advice for learners", name)
		}
		err := syscallErr("unshare(CLONE_NEWUTS)", e)
		if !errors.Is(err, e) {
			t.Errorf("errors.Is lost the errno: %v", err)
		}
		// Across the agent pipe too.
		w := toWire("op", err)
		if !errors.Is(w.errorOf(), e) {
			t.Errorf("errors.Is lost %s across the wire", name)
		}
	}
	if !strings.Contains(syscallErr("unshare", unix.EPERM).Error(), "sudo") {
		t.Error("EPERM must tell a learner what to do")
	}
	for _, sentinel := range []error{ErrSameNamespace, ErrBadInput} {
		w := toWire("op", errors.Join(errors.New("context"), sentinel))
		if !errors.Is(w.errorOf(), sentinel) {
			t.Errorf("sentinel %v lost across the wire", sentinel)
		}
	}
}

func TestLineReader(t *testing.T) {
	var buf bytes.Buffer
	_ = writeLine(&buf, reply{ID: 3, Text: "hi"})
	buf.WriteString("{not json}\n")
	lr := newLineReader(&buf)
	var r reply
	if err := lr.next(&r); err != nil || r.ID != 3 || r.Text != "hi" {
		t.Fatalf("%+v %v", r, err)
	}
	if err := lr.next(&r); !errors.Is(err, ErrAgent) {
		t.Errorf("malformed line: want ErrAgent, got %v", err)
	}
	long := strings.NewReader(`{"text":"` + strings.Repeat("x", maxLine+10) + `"}` + "\n")
	if err := newLineReader(long).next(&r); !errors.Is(err, ErrAgent) {
		t.Errorf("over-long line: want ErrAgent, got %v", err)
	}
	if err := newLineReader(strings.NewReader("")).next(&r); !errors.Is(err, io.EOF) {
		t.Errorf("empty: want EOF, got %v", err)
	}
}

func TestValidateHostname(t *testing.T) {
	ok := []string{"lab", "a", "nslab.test", "x-1", strings.Repeat("a", 64)}
	bad := []string{"", strings.Repeat("a", 65), "a b", "-a", "a-", ".a", "a.", "ä", "a/b", "a\x00"}
	for _, n := range ok {
		if err := ValidateHostname(n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
	for _, n := range bad {
		if err := ValidateHostname(n); !errors.Is(err, ErrBadInput) {
			t.Errorf("%q accepted", n)
		}
	}
}

// FuzzAgentProtocol: whatever bytes an agent sends, the engine's decoder
// returns a value or an error wrapping ErrAgent, and never panics.
func FuzzAgentProtocol(f *testing.F) {
	f.Add([]byte(`{"id":1,"events":[{"syscall":"unshare","args":["CLONE_NEWUTS"]}]}` + "\n"))
	f.Add([]byte(`{"id":0,"pid":1,"ids":{"uts":{"dev":4,"ino":1}}}` + "\n"))
	f.Add([]byte(`{"id":2,"err":{"op":"x","errno":"EPERM","msg":"m"}}` + "\n"))
	f.Add([]byte(`{"id":2,"err":{"op":"x","refused":"same-namespace","msg":"m"}}` + "\n"))
	f.Add([]byte("\x00\xff{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lr := newLineReader(bytes.NewReader(data))
		for i := 0; i < 100; i++ {
			var r reply
			err := lr.next(&r)
			if err == io.EOF {
				return
			}
			if err != nil {
				if !errors.Is(err, ErrAgent) {
					t.Fatalf("decoder error does not wrap ErrAgent: %v", err)
				}
				return
			}
			_ = r.Err.errorOf()
			for _, e := range r.Events {
				_ = e.String()
				_ = e.Detail()
			}
		}
	})
}

func TestDiffEscapesControlCharacters(t *testing.T) {
	host := Snapshot{Hostname: "vm", Views: []View{ViewUTS}}
	sb := Snapshot{Hostname: "evil\x1b]0;pwned\x07\x1b[2J", Views: []View{ViewUTS}}
	for _, d := range Diff(host, sb, ViewUTS) {
		for _, s := range []string{d.Key, d.Host, d.Sandbox, d.Label} {
			if strings.ContainsAny(s, "\x1b\x07") {
				t.Errorf("control character reaches the terminal: %q", s)
			}
		}
		if d.Key == "hostname" && d.Sandbox != `evil\x1b]0;pwned\a\x1b[2J` {
			t.Errorf("escaped as %q", d.Sandbox)
		}
	}
	if Printable("héllo wörld") != "héllo wörld" {
		t.Error("printable text must stay as it is")
	}
}
