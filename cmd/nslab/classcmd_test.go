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
	return dir, cls
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
