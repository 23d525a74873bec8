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
	"github.com/nslab/nslab/lessons/class/control"
	"github.com/nslab/nslab/sandbox/sandboxtest"
)

// clientEnv makes TestNobodyClient a client of the socket it names (the
// copy of this test binary that sandboxtest.AsNobody runs as nobody).
const clientEnv = "NSLAB_CONTROL_TEST_CLIENT"

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
	_, err := control.Status(context.Background(), path)
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

func TestOneRequestPerLineAndBadRequests(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the control socket answers root only; run as root")
	}
	dir := t.TempDir()
	path := serve(t, dir, openClass(t, dir))
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "{\"op\":\"status\"}\n{\"op\":\"reboot\"}\nnot json\n"); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(c)
	want := "{\"ok\":true,\"rows\":[]}\n{\"ok\":false,\"error\":\"unknown op \\\"reboot\\\" (known: status)\"}\n"
	if got := string(out); len(got) < len(want) || got[:len(want)] != want {
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

// nobodyClient asks path for the status as nobody and returns what the
// client printed, the host compared before and after.
func nobodyClient(t *testing.T, path string) string {
	t.Helper()
	defer sandboxtest.Unchanged(t)()
	out, err := sandboxtest.AsNobody(t, "TestNobodyClient", clientEnv+"="+path)
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
	if s, err := cls.Join("ann"); err == nil {
		s.Report(class.Event{Kind: class.LessonOpened, Lesson: "uts", Part: lessons.PartConcept})
	}
	path := serve(t, dir, cls)
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if out := nobodyClient(t, path); !strings.Contains(out, markRefused) {
		t.Errorf("nobody through an opened socket was not refused by SO_PEERCRED: %s", out)
	}
	// Root, through the same socket, is answered.
	if resp, err := control.Status(context.Background(), path); err != nil || len(resp.Rows) != 1 {
		t.Errorf("root: %+v %v", resp, err)
	}
}
