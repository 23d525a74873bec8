package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/class"
	"github.com/nslab/nslab/lessons/class/classtest"
	"github.com/nslab/nslab/lessons/class/control"
)

// twoLearners is a class in a fresh state directory with ann (uts,
// solved) and bob (pid, at predict), served on its control socket until
// the test ends.
func twoLearners(t *testing.T) (dir string, cls *class.Class) {
	t.Helper()
	dir = t.TempDir()
	cls, err := class.Open(dir, class.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ann, _ := cls.Join("ann")
	bob, _ := cls.Join("bob")
	ann.Report(class.Event{Kind: class.LessonOpened, Lesson: "uts", Part: lessons.PartChallenge})
	ann.Report(class.Event{Kind: class.ChallengeSolved, Lesson: "uts"})
	bob.Report(class.Event{Kind: class.LessonOpened, Lesson: "pid", Part: lessons.PartPredict})
	serveControl(t, dir, cls)
	return dir, cls
}

// serveControl serves cls (kept in dir) on its control socket until the
// test ends, then closes it.
func serveControl(t *testing.T, dir string, cls *class.Class) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ln, err := control.Listen(control.Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	go func() { done <- control.ServeListener(ctx, ln, cls) }()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = cls.Close()
	})
}

// TestClassEnd: `nslab class end` tells the learner the reason given (or
// the default), leaves the others, and fails clearly, non-zero, for an
// unknown learner, a reason that cannot be shown, no server, and a
// caller who is not root.
func TestClassEnd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the control socket answers root only")
	}
	dir := t.TempDir()
	cls, err := class.Open(dir, class.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ann, _ := cls.Join("ann")
	bob, _ := cls.Join("bob")
	serveControl(t, dir, cls)

	r := nslab(t, invocation{args: []string{"class", "end", "zoe", "--state-dir", dir}})
	if r.code != exitUsage || !strings.Contains(r.stderr, `no learner "zoe" is connected`) || !strings.Contains(r.stderr, "nslab class status") {
		t.Errorf("an unknown learner: %v", r)
	}
	r = nslab(t, invocation{args: []string{"class", "end", "ann", "--why", "a\x1b[2J", "--state-dir", dir}})
	if r.code != exitUsage || !strings.Contains(r.stderr, "--why") {
		t.Errorf("an escape in the reason: %v", r)
	}
	r = nslab(t, invocation{args: []string{"class", "end", "--state-dir", dir}})
	if r.code != exitUsage || !strings.Contains(r.stderr, "one learner name") {
		t.Errorf("no name: %v", r)
	}
	r = nslab(t, invocation{args: []string{"class", "end", "ann", "--state-dir", dir}, nobody: true})
	if r.code != exitMachine || !strings.Contains(r.stderr, "root") {
		t.Errorf("as nobody: %v", r)
	}
	if n := classtest.Notice(ann); n != nil {
		t.Errorf("ann got %#v before her session was ended", n)
	}

	r = nslab(t, invocation{args: []string{"class", "end", "ann", "--why", "the room closes at six", "--state-dir", dir}})
	if r.code != 0 || !strings.Contains(r.stdout, "ann's session is ended") {
		t.Errorf("end ann: %v", r)
	}
	if n := classtest.Notice(ann); n != (class.EndSession{Why: "the room closes at six"}) {
		t.Errorf("ann got %#v", n)
	}
	if n := classtest.Notice(bob); n != nil {
		t.Errorf("bob got %#v", n)
	}
	r = nslab(t, invocation{args: []string{"class", "end", "bob", "--state-dir", dir}})
	if n := classtest.Notice(bob); r.code != 0 || n != (class.EndSession{Why: control.DefaultEndReason}) {
		t.Errorf("end bob: %v; bob got %#v", r, n)
	}
}

func TestClassEndWithoutServer(t *testing.T) {
	r := nslab(t, invocation{args: []string{"class", "end", "ann", "--state-dir", t.TempDir()}})
	if r.code != exitMachine || !strings.Contains(r.stderr, "no nslab serve is running") {
		t.Errorf("no server: %v", r)
	}
}

func TestClassStatus(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the control socket answers root only")
	}
	dir, _ := twoLearners(t)
	r := nslab(t, invocation{args: []string{"class", "status", "--json", "--state-dir", dir}})
	if r.code != 0 {
		t.Fatal(r)
	}
	var got struct{ Rows []class.Row }
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(got.Rows) != 2 || got.Rows[0].Name != "ann" || got.Rows[0].Lesson != "uts" || got.Rows[0].Part != lessons.PartChallenge ||
		got.Rows[1].Name != "bob" || got.Rows[1].Lesson != "pid" || got.Rows[1].Part != lessons.PartPredict {
		t.Errorf("rows: %+v", got.Rows)
	}
	r = nslab(t, invocation{args: []string{"class", "status", "--state-dir", dir}})
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[1], "ann ") || !strings.Contains(lines[1], "solved") || !strings.HasPrefix(lines[2], "bob ") {
		t.Errorf("table: %v", r)
	}
	// Not root: refused, and told why.
	r = nslab(t, invocation{args: []string{"class", "status", "--state-dir", dir}, nobody: true})
	if r.code != exitMachine || !strings.Contains(r.stderr, "root") {
		t.Errorf("as nobody: %v", r)
	}
}

func TestClassStatusWithoutServer(t *testing.T) {
	r := nslab(t, invocation{args: []string{"class", "status", "--state-dir", t.TempDir()}})
	if r.code != exitMachine || !strings.Contains(r.stderr, "no nslab serve is running") {
		t.Errorf("no server: %v", r)
	}
}

func TestClassExport(t *testing.T) {
	dir, cls := twoLearners(t)
	if err := cls.Close(); err != nil { // after the class
		t.Fatal(err)
	}
	r := nslab(t, invocation{args: []string{"class", "export", "--csv", "--state-dir", dir}})
	if r.code != 0 {
		t.Fatal(r)
	}
	lines, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || len(lines) != 3 || lines[1][0] != "ann" || lines[1][1] != "uts" || lines[1][6] != "true" || lines[2][0] != "bob" {
		t.Errorf("csv: %q %v", lines, err)
	}
	out := filepath.Join(t.TempDir(), "class.xml")
	r = nslab(t, invocation{args: []string{"class", "export", "--junit", "--state-dir", dir, "-o", out}})
	if r.code != 0 || r.stdout != "" {
		t.Fatal(r)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil || doc.Tests != 2 || doc.Failures != 1 {
		t.Errorf("junit: %+v %v\n%s", doc, err, data)
	}
	for _, args := range [][]string{{"class", "export", "--state-dir", dir}, {"class", "export", "--csv", "--json", "--state-dir", dir}} {
		if r := nslab(t, invocation{args: args}); r.code != exitUsage {
			t.Errorf("%v: %v", args, r)
		}
	}
	if r := nslab(t, invocation{args: []string{"class", "export", "--json", "--state-dir", t.TempDir()}}); r.code != exitMachine || !strings.Contains(r.stderr, "no class state") {
		t.Errorf("no class: %v", r)
	}
}
