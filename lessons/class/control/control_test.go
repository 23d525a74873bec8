package control_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/class"
	"github.com/nslab/nslab/lessons/class/classtest"
	"github.com/nslab/nslab/lessons/class/control"
	"github.com/nslab/nslab/sandbox/sandboxtest"
)

// clientEnv makes TestNobodyClient a client of the socket it names (the
// copy of this test binary that sandboxtest.AsNobody runs as nobody);
// endEnv, if set, makes it ask to end that learner's session instead of
// the status.
const (
	clientEnv = "NSLAB_CONTROL_TEST_CLIENT"
	endEnv    = "NSLAB_CONTROL_TEST_END"
)

// What the client prints: refused as not root, answered, or another error.
const (
	markRefused  = "CLIENT-REFUSED"
	markAnswered = "CLIENT-ANSWERED"
	markFailed   = "CLIENT-FAILED"
)

// TestNobodyClient is the client, run as nobody by the tests below.
func TestNobodyClient(t *testing.T) {
	path := os.Getenv(clientEnv)
	if path == "" {
		t.Skip("the unprivileged client of TestNobodyRefused*")
	}
	var err error
	if name := os.Getenv(endEnv); name != "" {
		err = control.End(context.Background(), path, name, "")
	} else {
		_, err = control.Status(context.Background(), path)
	}
	switch {
	case errors.Is(err, control.ErrNotRoot):
		fmt.Println(markRefused, err)
	case err == nil:
		fmt.Println(markAnswered)
	default:
		fmt.Println(markFailed, err)
	}
}

// serve runs a control socket over a class in dir until the test ends.
func serve(t *testing.T, dir string, cls *class.Class) string {
	t.Helper()
	path := control.Path(dir)
	ln, err := control.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- control.ServeListener(ctx, ln, cls) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the socket outlived the server: %v", err)
		}
	})
	return path
}

func openClass(t *testing.T, dir string) *class.Class {
	t.Helper()
	cls, err := class.Open(dir, class.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cls.Close() })
	return cls
}

func TestStatusOfTwoLearners(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the control socket answers root only; run as root")
	}
	dir := t.TempDir()
	cls := openClass(t, dir)
	path := serve(t, dir, cls)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want 0600", fi.Mode().Perm())
	}
	ann, _ := cls.Join("ann")
	bob, _ := cls.Join("bob")
	ann.Report(class.Event{Kind: class.LessonOpened, Lesson: "uts", Part: lessons.PartChallenge})
	ann.Report(class.Event{Kind: class.ChallengeSolved, Lesson: "uts"})
	bob.Report(class.Event{Kind: class.LessonOpened, Lesson: "pid", Part: lessons.PartPredict})
	bob.Report(class.Event{Kind: class.PredictionAnswered, Lesson: "pid", Right: true})
	cls.Follow("uts", lessons.PartPerform)

	resp, err := control.Status(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Rows) != 2 {
		t.Fatalf("rows: %+v", resp.Rows)
	}
	a, b := resp.Rows[0], resp.Rows[1]
	if a.Name != "ann" || a.Lesson != "uts" || a.Part != lessons.PartChallenge || !a.Solved || !a.Connected {
		t.Errorf("ann: %+v", a)
	}
	if b.Name != "bob" || b.Lesson != "pid" || b.Part != lessons.PartPredict || b.Prediction != "right" {
		t.Errorf("bob: %+v", b)
	}
	if resp.Follow == nil || resp.Follow.Lesson != "uts" {
		t.Errorf("follow: %+v", resp.Follow)
	}
	bob.Leave()
	resp, err = control.Status(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Rows[1].Connected {
		t.Errorf("bob left: %+v", resp.Rows[1])
	}
}

// raw sends lines to the socket at path as they are, and returns all the
// server answered until it hung up (after the client's end of input).
func raw(t *testing.T, path, lines string) string {
	t.Helper()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, lines); err != nil {
		t.Fatal(err)
	}
	_ = c.CloseWrite()
	out, _ := io.ReadAll(c)
	return string(out)
}

func TestOneRequestPerLineAndBadRequests(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the control socket answers root only; run as root")
	}
	dir := t.TempDir()
	path := serve(t, dir, openClass(t, dir))
	out := raw(t, path, "{\"op\":\"status\"}\n{\"op\":\"reboot\"}\nnot json\n")
	want := "{\"ok\":true,\"rows\":[]}\n{\"ok\":false,\"error\":\"unknown op \\\"reboot\\\" (known: status, end)\"}\n"
	if got := out; len(got) < len(want) || got[:len(want)] != want {
		t.Errorf("got %q, want %q then a bad request", got, want)
	}
}

func TestNoServer(t *testing.T) {
	dir := t.TempDir()
	if _, err := control.Status(context.Background(), control.Path(dir)); !errors.Is(err, control.ErrNoServer) {
		t.Errorf("no socket: %v", err)
	}
	// A socket left by a server that died: still no server...
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: control.Path(dir), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	_ = ln.Close()
	if _, err := control.Status(context.Background(), control.Path(dir)); !errors.Is(err, control.ErrNoServer) {
		t.Errorf("stale socket: %v", err)
	}
	// ...and a new server replaces it; a second one is refused.
	serve(t, dir, openClass(t, dir))
	if _, err := control.Listen(control.Path(dir)); !errors.Is(err, control.ErrRunning) {
		t.Errorf("a second server: %v", err)
	}
}

// nobodyClient asks path for the status as nobody (or, with env
// endEnv=NAME, to end NAME's session) and returns what the client
// printed, the host compared before and after.
func nobodyClient(t *testing.T, path string, env ...string) string {
	t.Helper()
	defer sandboxtest.Unchanged(t)()
	out, err := sandboxtest.AsNobody(t, "TestNobodyClient", append([]string{clientEnv + "=" + path}, env...)...)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return out
}

// worldDir is a directory anyone may enter (t.TempDir's parent is 0700).
func worldDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nslab-control-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A non-root peer is refused by the socket's mode.
func TestNobodyRefusedByMode(t *testing.T) {
	dir := worldDir(t)
	path := serve(t, dir, openClass(t, filepath.Join(dir, "state")))
	if out := nobodyClient(t, path); !strings.Contains(out, markRefused) {
		t.Errorf("nobody was not refused: %s", out)
	}
}

// A non-root peer is refused by its credentials even when the socket's
// mode lets it connect (an instructor chmodded it, or a directory above
// was opened up).
func TestNobodyRefusedByPeerCredentials(t *testing.T) {
	dir := worldDir(t)
	cls := openClass(t, filepath.Join(dir, "state"))
	ann, err := cls.Join("ann")
	if err != nil {
		t.Fatal(err)
	}
	ann.Report(class.Event{Kind: class.LessonOpened, Lesson: "uts", Part: lessons.PartConcept})
	path := serve(t, dir, cls)
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if out := nobodyClient(t, path); !strings.Contains(out, markRefused) {
		t.Errorf("nobody through an opened socket was not refused by SO_PEERCRED: %s", out)
	}
	// Nor may nobody end ann's session.
	if out := nobodyClient(t, path, endEnv+"=ann"); !strings.Contains(out, markRefused) {
		t.Errorf("nobody's end through an opened socket was not refused by SO_PEERCRED: %s", out)
	}
	if n := classtest.Notice(ann); n != nil {
		t.Errorf("ann got %#v after nobody asked to end her session", n)
	}
	// Root, through the same socket, is answered.
	if resp, err := control.Status(context.Background(), path); err != nil || len(resp.Rows) != 1 {
		t.Errorf("root: %+v %v", resp, err)
	}
}

// TestEnd: root ends one learner's session, who is told why (the reason
// given, or the default); the other learner is not; an unknown learner,
// one who left, and a reason that cannot be shown are refused with
// errors a caller can tell apart.
func TestEnd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the control socket answers root only; run as root")
	}
	dir := t.TempDir()
	cls := openClass(t, dir)
	path := serve(t, dir, cls)
	ann, _ := cls.Join("ann")
	bob, _ := cls.Join("bob")
	cid, _ := cls.Join("cid")
	ctx := context.Background()

	if err := control.End(ctx, path, "ann", "the room closes at six"); err != nil {
		t.Fatal(err)
	}
	if n := classtest.Notice(ann); n != (class.EndSession{Why: "the room closes at six"}) {
		t.Errorf("ann got %#v", n)
	}
	if n := classtest.Notice(bob); n != nil {
		t.Errorf("bob got %#v when ann's session was ended", n)
	}
	if err := control.End(ctx, path, "cid", ""); err != nil {
		t.Fatal(err)
	}
	if n := classtest.Notice(cid); n != (class.EndSession{Why: control.DefaultEndReason}) {
		t.Errorf("cid got %#v", n)
	}

	if err := control.End(ctx, path, "zoe", ""); !errors.Is(err, class.ErrNoLearner) {
		t.Errorf("an unknown learner: %v, want class.ErrNoLearner", err)
	}
	bob.Leave()
	if err := control.End(ctx, path, "bob", ""); !errors.Is(err, class.ErrNoLearner) {
		t.Errorf("a learner who left: %v, want class.ErrNoLearner", err)
	}
	for _, why := range []string{" ", "two\nlines", "\x1b[2Jcleared", strings.Repeat("x", 201)} {
		if err := control.End(ctx, path, "ann", why); !errors.Is(err, control.ErrBadReason) {
			t.Errorf("reason %q: %v, want ErrBadReason", why, err)
		}
	}
	// The server checks the reason too, not only the client.
	line := raw(t, path, "{\"op\":\"end\",\"name\":\"ann\",\"why\":\"\\u001b[2J\"}\n")
	if !strings.Contains(line, `"ok":false`) || !strings.Contains(line, "printable") {
		t.Errorf("an escape sequence as the reason, sent raw: %q", line)
	}
	if n := classtest.Notice(ann); n != nil {
		t.Errorf("ann got %#v from a refused end", n)
	}
}

func TestEndNoServer(t *testing.T) {
	if err := control.End(context.Background(), control.Path(t.TempDir()), "ann", ""); !errors.Is(err, control.ErrNoServer) {
		t.Errorf("no server: %v", err)
	}
}
