// Package servetest is for tests only: learners of a class server
// (ui/serve, `nslab serve`) connecting with golang.org/x/crypto/ssh, each
// with a real VT emulator (charmbracelet/x/vt) as their terminal, so that
// a test reads the screen the learner would see and types as they would.
// Production code must not import it.
package servetest

import (
	"bytes"
	"errors"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/vt"
	gossh "golang.org/x/crypto/ssh"
)

// Dial is how a learner connects.
type Dial struct {
	Addr string // the server's host:port
	Name string // the learner (SSH user) name
	Auth []gossh.AuthMethod
	From string // the loopback address to dial from ("": any)
	// HostKey checks the server's host key (nil: any key).
	HostKey func(gossh.PublicKey) error
	// Banner receives the server's banner (nil: dropped).
	Banner func(string)
}

// Connect logs in as d describes.
func (d Dial) Connect() (*gossh.Client, error) {
	nd := net.Dialer{Timeout: 5 * time.Second}
	if d.From != "" {
		nd.LocalAddr = &net.TCPAddr{IP: net.ParseIP(d.From)}
	}
	conn, err := nd.Dial("tcp", d.Addr)
	if err != nil {
		return nil, err
	}
	cfg := &gossh.ClientConfig{
		User: d.Name, Auth: d.Auth, Timeout: 5 * time.Second,
		HostKeyCallback: func(_ string, _ net.Addr, k gossh.PublicKey) error {
			if d.HostKey == nil {
				return nil
			}
			return d.HostKey(k)
		},
		BannerCallback: func(m string) error {
			if d.Banner != nil {
				d.Banner(m)
			}
			return nil
		},
	}
	sc, chans, reqs, err := gossh.NewClientConn(conn, d.Addr, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return gossh.NewClient(sc, chans, reqs), nil
}

// SameKey is a HostKey check for exactly want.
func SameKey(want gossh.PublicKey) func(gossh.PublicKey) error {
	return func(k gossh.PublicKey) error {
		if !bytes.Equal(k.Marshal(), want.Marshal()) {
			return errors.New("not the server's host key")
		}
		return nil
	}
}

// Buffer is a bytes.Buffer safe for a writer and a reader.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Len is how many bytes were written.
func (l *Buffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

// From is what was written from byte i on.
func (l *Buffer) From(i int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b.Bytes()[min(i, l.b.Len()):])
}

func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Terminal is a learner's interactive session: a PTY request, a shell,
// and a VT emulator drawing what the server sends (and answering the
// program's terminal queries, as a real terminal does).
type Terminal struct {
	t      testing.TB
	sess   *gossh.Session
	stdin  io.WriteCloser
	mu     sync.Mutex // guards screen's cells: x/vt's SafeEmulator has no locked String
	screen *vt.Emulator
	raw    Buffer        // everything received, for the messages after the TUI
	got    chan struct{} // a receive after Echo armed it
	stderr Buffer
	ended  chan struct{}
	err    error // Wait's, once ended
}

// Width and Height are the learners' terminal size.
const Width, Height = 120, 40

// Open opens an interactive session on c, Width×Height; it is closed
// when the test ends.
func Open(t testing.TB, c *gossh.Client) *Terminal {
	t.Helper()
	return OpenSize(t, c, Width, Height)
}

// OpenSize opens an interactive session on c whose terminal is w×h.
func OpenSize(t testing.TB, c *gossh.Client, w, h int) *Terminal {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatalf("new session: %v", err)
	}
	tm := &Terminal{t: t, sess: sess, screen: vt.NewEmulator(w, h), ended: make(chan struct{})}
	if err := sess.RequestPty("xterm-256color", h, w, gossh.TerminalModes{}); err != nil {
		t.Fatalf("pty-req: %v", err)
	}
	tm.stdin, err = sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	tm.got = make(chan struct{}, 1)
	sess.Stdout = io.MultiWriter(lockedWriter{&tm.mu, tm.screen}, &tm.raw, notifier(tm.got))
	sess.Stderr = &tm.stderr
	// The emulator's answers to queries go back as the terminal's input.
	go func() { _, _ = io.Copy(tm.stdin, tm.screen) }()
	if err := sess.Shell(); err != nil {
		t.Fatalf("shell: %v", err)
	}
	go func() {
		tm.err = sess.Wait()
		close(tm.ended)
	}()
	t.Cleanup(func() {
		sess.Close()
		// Ends the copy of the emulator's answers. Not screen.Close: x/vt
		// v0.1.0 sets its closed flag without a lock, which races the
		// copy's Read; the pipe's own Close is safe.
		if c, ok := tm.screen.InputPipe().(io.Closer); ok {
			_ = c.Close()
		}
	})
	return tm
}

// Screen is what the terminal shows now.
func (tm *Terminal) Screen() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.screen.String()
}

// Resize makes the terminal w×h, as a learner resizing their window: the
// emulator first, then a window-change request to the server.
func (tm *Terminal) Resize(w, h int) {
	tm.t.Helper()
	tm.mu.Lock()
	tm.screen.Resize(w, h)
	tm.mu.Unlock()
	if err := tm.sess.WindowChange(h, w); err != nil {
		tm.t.Fatalf("window-change to %d×%d: %v", w, h, err)
	}
}

// lockedWriter writes under mu.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// notifier tells ch of every write without blocking.
type notifier chan struct{}

func (n notifier) Write(p []byte) (int, error) {
	select {
	case n <- struct{}{}:
	default:
	}
	return len(p), nil
}

// Ended is closed when the session has ended.
func (tm *Terminal) Ended() <-chan struct{} { return tm.ended }

// WaitScreen waits (at most 15 s) until the screen matches re and
// returns it; else it fails the test with the screen.
func (tm *Terminal) WaitScreen(what, re string) string {
	tm.t.Helper()
	rx := regexp.MustCompile(re)
	var s string
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(30 * time.Millisecond) {
		if s = tm.Screen(); rx.MatchString(s) {
			return s
		}
	}
	tm.t.Fatalf("waiting for %s (%q); the screen:\n%s\nstderr: %s", what, re, s, tm.stderr.String())
	return ""
}

// WaitEnd waits (at most 15 s) for the session to end and returns
// everything it printed (stdout, then stderr).
func (tm *Terminal) WaitEnd() string {
	tm.t.Helper()
	select {
	case <-tm.ended:
	case <-time.After(15 * time.Second):
		tm.t.Fatalf("the session did not end; the screen:\n%s", tm.Screen())
	}
	return tm.raw.String() + tm.stderr.String()
}

// Keys types each string, a moment apart ("Enter" is the return key).
func (tm *Terminal) Keys(keys ...string) {
	tm.t.Helper()
	for _, k := range keys {
		if k == "Enter" {
			k = "\r"
		}
		if _, err := io.WriteString(tm.stdin, k); err != nil {
			tm.t.Fatalf("type %q: %v", k, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Type sends s as one write, at once: the keys a learner types without
// waiting (Keys types them a moment apart).
func (tm *Terminal) Type(s string) {
	tm.t.Helper()
	if _, err := io.WriteString(tm.stdin, s); err != nil {
		tm.t.Fatalf("type %q: %v", s, err)
	}
}

// Echo types c (a printable byte the shell echoes) and returns how long
// its echo took to come back over SSH (at most limit; a later echo
// counts as limit).
func (tm *Terminal) Echo(c byte, limit time.Duration) time.Duration {
	tm.t.Helper()
	mark := tm.raw.Len()
	select { // a notice left from earlier output
	case <-tm.got:
	default:
	}
	start := time.Now()
	if _, err := tm.stdin.Write([]byte{c}); err != nil {
		tm.t.Fatalf("type %q: %v", c, err)
	}
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		if strings.IndexByte(tm.raw.From(mark), c) >= 0 {
			return time.Since(start)
		}
		select {
		case <-tm.got:
		case <-deadline.C:
			return limit
		}
	}
}

// Say runs cmd in the shell the terminal shows, as
// `echo R:key=$(cmd)`, and returns what it printed (newlines as spaces),
// waiting at most 15 s. The line read starts with R:, which the typed
// command line (after a prompt) never does.
func (tm *Terminal) Say(key, cmd string) string {
	tm.t.Helper()
	tm.Keys(`echo "R:`+key+`=$({ `+cmd+`; } 2>&1 | tr '\n' ' ')"`, "Enter")
	s := tm.WaitScreen("the answer to "+cmd, `(?m)^R:`+regexp.QuoteMeta(key)+`=`)
	m := regexp.MustCompile(`(?m)^R:`+regexp.QuoteMeta(key)+`=(.*)$`).FindAllStringSubmatch(s, -1)
	return strings.TrimSpace(m[len(m)-1][1])
}

// PerformUTS drives the TUI from the lesson list to the uts lesson
// performed (its unshare in the syscall log).
func (tm *Terminal) PerformUTS() {
	tm.t.Helper()
	tm.WaitScreen("the lesson list", `UTS namespaces`)
	tm.Keys("j", "Enter")
	tm.WaitScreen("the uts lesson", `\[CONCEPT\]`)
	tm.Keys("n", "n")
	tm.WaitScreen("the perform part", `\[PERFORM\]`)
	tm.Keys("Enter")
	tm.WaitScreen("the unshare in the syscall log", `unshare\(CLONE_NEWUTS\) = 0`)
}

// Request opens a session channel, sends one request, and returns the
// exit status the server sent (-1: none) and what came on stderr until
// the channel closed (x/crypto's Session cannot Wait after a subsystem).
func Request(t testing.TB, c *gossh.Client, typ string, payload []byte) (int, string) {
	t.Helper()
	ch, reqs, err := c.OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	status := -1
	done := make(chan struct{})
	go func() {
		defer close(done)
		for r := range reqs {
			if r.Type == "exit-status" && len(r.Payload) == 4 {
				status = int(r.Payload[3]) | int(r.Payload[2])<<8
			}
			if r.WantReply {
				_ = r.Reply(false, nil)
			}
		}
	}()
	if _, err := ch.SendRequest(typ, true, payload); err != nil {
		t.Fatal(err)
	}
	var errb Buffer
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(&errb, ch.Stderr())
		close(copied)
	}()
	go func() { _, _ = io.Copy(io.Discard, ch) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("the %s channel did not close", typ)
	}
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
	}
	return status, errb.String()
}

// LearnerCgroups are the cgroups a confined engine made for the learner
// name and has not removed (v2: right below the root; v1: below each
// controller's root).
func LearnerCgroups(name string) []string {
	var out []string
	for _, g := range []string{"/sys/fs/cgroup/nslab-learner-" + name + "-*", "/sys/fs/cgroup/*/nslab-learner-" + name + "-*"} {
		m, _ := filepath.Glob(g)
		out = append(out, m...)
	}
	return out
}
