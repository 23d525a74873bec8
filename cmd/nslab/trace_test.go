package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/catalog"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/sandbox/sandboxtest"
)

// TestTraceMatchesStrace plays every lesson with `nslab run ID --json
// --solve` under `strace -f` and holds each trace event to the kernel's
// record: one strace line with the event's tid, syscall, return value or
// errno and arguments, under the one normalisation of
// sandboxtest.SameArg. Each syscall a lesson's lesson.toml lists must be in
// its events.
func TestTraceMatchesStrace(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("strace"); err != nil {
		t.Skip("strace is not installed")
	}
	path := needBinary(t)
	ls, err := catalog.All()
	if err != nil {
		t.Fatal(err)
	}
	before := readHost(t)
	for _, l := range ls {
		t.Run(l.ID, func(t *testing.T) { checkLessonTrace(t, path, l, false) })
		if l.Rootless {
			// The rootless path: the engine as nobody, with a user namespace.
			t.Run(l.ID+"/nobody", func(t *testing.T) { checkLessonTrace(t, path, l, true) })
		}
	}
	checkHostUnchanged(t, before)
}

func checkLessonTrace(t *testing.T, path string, l lessons.Lesson, asNobody bool) {
	events, calls := straceLesson(t, path, l.ID, asNobody)
	if len(events) == 0 {
		t.Fatal("the lesson printed no trace event")
	}
	for _, bad := range sandboxtest.MatchTrace(events, calls) {
		t.Error(bad)
	}
	var names []string
	for _, e := range events {
		names = append(names, e.Syscall)
		if e.Syscall == "clone3" {
			// lesson.toml names the call; the engine issues clone3 for a
			// clone into a cgroup (the cgroup lesson as root), clone
			// otherwise (the same lesson as nobody).
			names = append(names, "clone")
		}
	}
	for _, sc := range l.Syscalls {
		if !slices.Contains(names, sc) {
			t.Errorf("lesson.toml lists %s, which no event of the lesson shows (events: %v)", sc, names)
		}
	}
	if l.ID == "nesting" {
		// The promise: strace of nesting shows the ioctl_ns(2)
		// requests, answered, and the refused one.
		for _, want := range []struct{ req, errno string }{
			{"NS_GET_USERNS", ""}, {"NS_GET_PARENT", ""}, {"NS_GET_OWNER_UID", ""}, {"NS_GET_PARENT", "EPERM"},
		} {
			if !slices.ContainsFunc(calls, func(c sandboxtest.StraceCall) bool {
				return c.Name == "ioctl" && len(c.Args) >= 2 && c.Args[1] == want.req && c.Errno == want.errno
			}) {
				t.Errorf("strace shows no ioctl(…, %s) = %s", want.req, cmp.Or(want.errno, "a result"))
			}
		}
	}
	// The check itself can fail: every event, doctored with a wrong return
	// value or a wrong tid, finds no line.
	for _, ev := range events {
		wrongRet, wrongTID := ev, ev
		wrongRet.Ret, wrongRet.Errno = ev.Ret+1_000_003, ""
		wrongTID.TID += 1_000_003
		for _, e := range []sandboxtest.TraceEvent{wrongRet, wrongTID} {
			if len(sandboxtest.MatchTrace([]sandboxtest.TraceEvent{e}, calls)) == 0 {
				t.Errorf("a doctored event matched strace: %s", e)
			}
		}
	}
	if !t.Failed() {
		t.Logf("%d events, each matched to its own strace line", len(events))
	}
}

// straceLesson runs one lesson under strace and returns its trace events
// and strace's calls.
func straceLesson(t *testing.T, path, id string, asNobody bool) ([]sandboxtest.TraceEvent, []sandboxtest.StraceCall) {
	t.Helper()
	log := filepath.Join(t.TempDir(), "strace.log")
	home := t.TempDir()
	var user []string
	if asNobody {
		// strace -u runs the command as nobody; its progress file needs a
		// home nobody may write.
		if err := os.Chmod(home, 0o777); err != nil {
			t.Fatal(err)
		}
		user = []string{"-u", "nobody"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// -s: whole strings, so quoting is the only difference left.
	args := append([]string{"-f", "-qq", "-s", "65535", "-o", log, "-e", "trace=" + strings.Join(sandbox.TraceSyscalls(), ",")}, user...)
	cmd := exec.CommandContext(ctx, "strace", append(args, path, "run", id, "--json", "--solve")...)
	cmd.Env = baseEnv(home)
	cmd.Dir = os.TempDir()
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nslab run %s --json --solve under strace: %v\n%s", id, err, out)
	}
	var events []sandboxtest.TraceEvent
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var line struct {
			Type  string                  `json:"type"`
			Event *sandboxtest.TraceEvent `json:"event"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("not JSON: %v: %s", err, sc.Text())
		}
		if line.Type == "event" && line.Event != nil {
			events = append(events, *line.Event)
		}
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	return events, sandboxtest.ParseStrace(string(b))
}
