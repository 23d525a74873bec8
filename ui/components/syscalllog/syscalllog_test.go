package syscalllog

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/common"
)

var fixed = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func events() []sandbox.Event {
	ns := func(ino uint64) sandbox.NSID { return sandbox.NSID{Dev: 4, Ino: ino} }
	return []sandbox.Event{
		{Seq: 1, Time: fixed, Syscall: "clone3", Args: []string{"{flags=0}"}, Ret: 4242, PID: 4000, TID: 4000, Note: "the agent starts, sharing every namespace"},
		{Seq: 2, Time: fixed, Syscall: "unshare", Args: []string{"CLONE_NEWUTS"}, Ret: 0, PID: 4242, TID: 4242, Kind: "uts", Before: ns(4026531838), After: ns(4026532201)},
		{Seq: 3, Time: fixed, Syscall: "sethostname", Args: []string{`"lab"`, "3"}, Ret: 0, PID: 4242, TID: 4242},
		{Seq: 4, Time: fixed, Syscall: "setns", Args: []string{"7", "CLONE_NEWNET"}, Ret: -1, Errno: "EPERM", PID: 4242, TID: 4242},
	}
}

func strip(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = ansi.Strip(l)
	}
	return out
}

// TestKeepsCalls: with room, every call, its identity change and its
// note; short of room, the calls alone, the errno strace-like.
func TestKeepsCalls(t *testing.T) {
	st := common.NewStyles(true, true)
	if full := Render(st, events(), 100, 20); len(full) != 6 { // 4 calls, a note, a detail
		t.Errorf("full trace has %d lines: %q", len(full), full)
	}
	short := strip(Render(st, events(), 100, 4))
	for i, l := range short {
		if !strings.HasPrefix(l, "[pid ") {
			t.Errorf("line %d of a short trace is not a call: %q", i, l)
		}
	}
	if !strings.Contains(short[3], "-1 EPERM (Operation not permitted)") {
		t.Errorf("errno not rendered strace-like: %q", short[3])
	}
}

func TestGolden(t *testing.T) {
	c := common.New(context.Background(), common.NewStyles(true, true))
	empty := New(c).SetSize(60, 3).Lines()
	full := New(c).SetSize(60, 8).SetEvents(events()).Lines()
	if len(empty) != 3 || len(full) != 8 {
		t.Errorf("heights %d and %d, want 3 and 8", len(empty), len(full))
	}
	out := strings.Join(strip(append(append(empty, "---"), full...)), "\n")
	for _, l := range strings.Split(out, "\n") {
		if ansi.StringWidth(l) > 60 {
			t.Errorf("line overruns 60: %q", l)
		}
	}
	golden.RequireEqual(t, []byte(out))
}

// TestLearnerMarked: a call from the learner's shell names the learner
// and the command, in the compact log and the whole one.
func TestLearnerMarked(t *testing.T) {
	st := common.NewStyles(true, true)
	ev := append(events(), sandbox.Event{Seq: 5, Time: fixed, Syscall: "sethostname", Args: []string{`"lab"`, "3"}, PID: 5000, TID: 5000, NSPID: 7, Learner: true, Comm: "hostname"})
	want := `[you: hostname, pid 5000 (7 in sandbox)] sethostname("lab", 3) = 0`
	for name, lines := range map[string][]string{"compact": Render(st, ev, 100, 20), "whole": Wrapped(st, ev, 100)} {
		if got := strip(lines); !strings.Contains(strings.Join(got, "\n"), want) {
			t.Errorf("%s log lacks %q:\n%s", name, want, strings.Join(got, "\n"))
		}
	}
	if strings.Contains(strings.Join(strip(Render(st, events(), 100, 20)), "\n"), "[you") {
		t.Error("nslab's own calls are marked as the learner's")
	}
}

// TestSameTraceNotRedrawn: every live refresh hands the whole trace
// again; the same trace keeps its lines, a longer or changed one is drawn.
func TestSameTraceNotRedrawn(t *testing.T) {
	c := common.New(context.Background(), common.NewStyles(true, true))
	ev := events()
	m := New(c).SetSize(100, 12).SetEvents(ev[:3])
	first := m.Lines()
	if again := m.SetEvents(events()[:3]).Lines(); &again[0] != &first[0] {
		t.Error("the same trace was drawn again")
	}
	if got := strings.Join(strip(m.SetEvents(ev).Lines()), "\n"); !strings.Contains(got, "EPERM") {
		t.Errorf("a new call is not drawn:\n%s", got)
	}
	changed := events()[:3]
	changed[2].Args = []string{`"renamed"`, "7"}
	if got := strings.Join(strip(m.SetEvents(changed).Lines()), "\n"); !strings.Contains(got, "renamed") {
		t.Errorf("a changed call is not drawn:\n%s", got)
	}
}

// TestSameSeesEveryField: two events that differ in any one field are
// not the same (a field added to sandbox.Event and not compared fails
// here).
func TestSameSeesEveryField(t *testing.T) {
	base := events()[1]
	if !Same([]sandbox.Event{base}, []sandbox.Event{events()[1]}) {
		t.Fatal("an event is not the same as its copy")
	}
	rt := reflect.TypeOf(base)
	for i := range rt.NumField() {
		ev := events()[1]
		f := reflect.ValueOf(&ev).Elem().Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(f.String() + "x")
		case reflect.Int, reflect.Int64:
			f.SetInt(f.Int() + 1)
		case reflect.Bool:
			f.SetBool(!f.Bool())
		case reflect.Slice:
			f.Set(reflect.Append(f, reflect.ValueOf("x")))
		case reflect.Struct:
			switch v := f.Addr().Interface().(type) {
			case *time.Time:
				*v = v.Add(time.Second)
			case *sandbox.NSID:
				v.Ino++
			default:
				t.Fatalf("field %s: no change for %T", rt.Field(i).Name, v)
			}
		default:
			t.Fatalf("field %s: no change for kind %s", rt.Field(i).Name, f.Kind())
		}
		if Same([]sandbox.Event{base}, []sandbox.Event{ev}) {
			t.Errorf("events that differ in %s are the same", rt.Field(i).Name)
		}
	}
	if Same(events(), events()[:3]) {
		t.Error("a longer trace is the same")
	}
}
