package serve

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/nslab/nslab/ui"
	"github.com/nslab/nslab/ui/serve/servetest"
)

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"alice": true, "a": true, "bob-2": true, "x_y": true, "a" + strings.Repeat("b", 31): true,
		"": false, "Alice": false, "2bob": false, "-a": false, "_a": false, "a.b": false, "a/b": false,
		"..": false, "a b": false, "a" + strings.Repeat("b", 32): false, "élise": false, "root\n": false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestLoginLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLoginLimiter(LoginLimit{Failures: 3, Block: time.Minute, Addresses: 4})
	l.now = func() time.Time { return now }
	for i := range 3 {
		if b, _ := l.blocked("10.0.0.1"); b {
			t.Fatalf("blocked after %d failures, the limit is 3", i)
		}
		l.fail("10.0.0.1")
	}
	if b, left := l.blocked("10.0.0.1"); !b || left != time.Minute {
		t.Fatalf("after 3 failures: blocked=%v for %s, want blocked for 1m", b, left)
	}
	if b, _ := l.blocked("10.0.0.2"); b {
		t.Fatal("another address is blocked too")
	}
	now = now.Add(time.Minute)
	if b, _ := l.blocked("10.0.0.1"); b {
		t.Fatal("still blocked after the block time")
	}
	// A success forgets the failures.
	l.fail("10.0.0.3")
	l.fail("10.0.0.3")
	l.succeed("10.0.0.3")
	l.fail("10.0.0.3")
	if b, _ := l.blocked("10.0.0.3"); b {
		t.Fatal("a success did not reset the count")
	}
	// Bounded memory: many addresses keep at most Addresses entries, and
	// the newest failures are the ones kept.
	for i := range 100 {
		now = now.Add(time.Second)
		l.fail("192.0.2." + string(rune('a'+i%26)) + string(rune('a'+i/26)))
	}
	if n := l.size(); n > 4 {
		t.Fatalf("the limiter remembers %d addresses, at most 4 allowed", n)
	}
	for i := range 3 {
		l.fail("198.51.100.9")
		_ = i
	}
	if b, _ := l.blocked("198.51.100.9"); !b {
		t.Fatal("a full table lost the newest address's failures")
	}
}

func TestEventString(t *testing.T) {
	e := Event{Time: time.Date(2026, 12, 2, 3, 4, 5, 0, time.UTC), Kind: EventLeft, Name: "alice", Addr: "10.0.0.7:51234", Detail: "connection closed"}
	want := `2026-12-02T03:04:05Z left name=alice addr=10.0.0.7:51234 detail="connection closed"`
	if got := e.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := (Event{Time: e.Time, Kind: EventRefused, Detail: "a\nb"}).String(); strings.Contains(got, "\n") {
		t.Errorf("an event line holds a newline: %q", got)
	}
}

func TestHostKeyKeptPrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state", "host_ed25519")
	k1, err := LoadHostKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("the host key is %04o, want 0600", fi.Mode().Perm())
	}
	k2, err := LoadHostKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(k1.PublicKey().Marshal()) != string(k2.PublicKey().Marshal()) {
		t.Fatal("a second start made a new host key: learners would be warned on reconnect")
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadHostKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a host key others can read was used (err %v)", err)
	}
	os.Chmod(path, 0o600)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadHostKey(link); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Errorf("a symlinked host key was followed (err %v)", err)
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	if _, err := LoadHostKey(bad); err == nil {
		t.Error("garbage was taken for a host key")
	}
}

// The same host key is served after a restart on the same state dir.
func TestHostKeySameAfterRestart(t *testing.T) {
	state := filepath.Join(t.TempDir(), "class")
	seen := func() string {
		s := startServer(t, Config{StateDir: state})
		var got string
		c, err := s.dialWith(dialOpts{name: "alice", auth: []gossh.AuthMethod{gossh.Password(testCode)},
			check: func(k gossh.PublicKey) error { got = gossh.FingerprintSHA256(k); return nil }})
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		return got
	}
	a, b := seen(), seen()
	if a == "" || a != b {
		t.Fatalf("host key before restart %s, after %s", a, b)
	}
}

func TestCodeAuth(t *testing.T) {
	var ev events
	s := startServer(t, Config{OnEvent: ev.add})
	kbd := func(code string) gossh.AuthMethod {
		return gossh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
			if len(qs) != 1 || !strings.Contains(qs[0], "Class code") {
				t.Errorf("keyboard-interactive asked %q", qs)
			}
			return []string{code}, nil
		})
	}
	for _, tc := range []struct {
		what string
		auth gossh.AuthMethod
		ok   bool
	}{
		{"password, right code", gossh.Password(testCode), true},
		{"keyboard-interactive, right code", kbd(testCode), true},
		{"password, wrong code", gossh.Password("wrong-code"), false},
		{"keyboard-interactive, wrong code", kbd("wrong-code"), false},
		{"password, the code with a space", gossh.Password(testCode + " "), false},
	} {
		c, err := s.dialWith(dialOpts{name: "alice", auth: []gossh.AuthMethod{tc.auth}})
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.what, err, tc.ok)
		}
		if c != nil {
			c.Close()
		}
		// Succeeding logins reset the count; the limit is tested apart.
		s.logins.succeed("127.0.0.1")
	}
	ev.waitFor(t, EventLoginFailed, `name=alice addr=127\.0\.0\.1 detail="wrong class code"`)
}

func TestFailedLoginsLimited(t *testing.T) {
	var ev events
	s := startServer(t, Config{OnEvent: ev.add, Logins: &LoginLimit{Failures: 3, Block: time.Minute}})
	try := func(from, code string) error {
		c, err := s.dialWith(dialOpts{name: "mallory", from: from, auth: []gossh.AuthMethod{
			gossh.Password(code)}})
		if c != nil {
			c.Close()
		}
		return err
	}
	for range 3 {
		if err := try("127.0.0.1", "guess"); err == nil {
			t.Fatal("a wrong code logged in")
		}
	}
	if err := try("127.0.0.1", testCode); err == nil {
		t.Fatal("the right code logged in from an address over its failed-login limit")
	}
	ev.waitFor(t, EventBlocked, `addr=127\.0\.0\.1 detail="too many wrong codes`)
	// The banner says why and for how long.
	if banner := s.banner(t, "127.0.0.1"); !strings.Contains(banner, "Too many wrong class codes") {
		t.Errorf("the banner to a blocked address does not say so:\n%s", banner)
	}
	// Another address is not blocked (127.0.0.2 is loopback too).
	if err := try("127.0.0.2", testCode); err != nil {
		t.Fatalf("another address was blocked too: %v", err)
	}
	if b := s.banner(t, "127.0.0.2"); strings.Contains(b, "Too many") {
		t.Errorf("the banner to an unblocked address says it is blocked:\n%s", b)
	}
}

// banner logs in with a wrong code from `from` and returns the banner.
func (s *testServer) banner(t *testing.T, from string) string {
	t.Helper()
	var banner string
	c, err := servetest.Dial{Addr: s.addr, Name: "mallory", From: from, Auth: []gossh.AuthMethod{gossh.Password("nope")},
		Banner: func(m string) { banner += m }}.Connect()
	if err == nil {
		c.Close()
		t.Fatal("a wrong code logged in")
	}
	return banner
}

func TestAuthorizedKeys(t *testing.T) {
	dir := t.TempDir()
	signer := func() gossh.Signer {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s, err := gossh.NewSignerFromKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	listed, other := signer(), signer()
	ak := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(ak, gossh.MarshalAuthorizedKey(listed.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, Config{AuthorizedKeys: ak})
	c, err := s.dialWith(dialOpts{name: "alice", auth: []gossh.AuthMethod{gossh.PublicKeys(listed)}})
	if err != nil {
		t.Fatalf("a listed key was refused: %v", err)
	}
	c.Close()
	if c, err := s.dialWith(dialOpts{name: "alice", auth: []gossh.AuthMethod{gossh.PublicKeys(other)}}); err == nil {
		c.Close()
		t.Fatal("a key not listed logged in")
	}
	// Keys only: no code is accepted.
	if c, err := s.dialWith(dialOpts{name: "alice", auth: []gossh.AuthMethod{gossh.Password(testCode), gossh.Password("")}}); err == nil {
		c.Close()
		t.Fatal("a password logged in to a keys-only server")
	}
}

func TestRefusals(t *testing.T) {
	var ev events
	s := startServer(t, Config{OnEvent: ev.add})
	c := s.dial(t, "alice")

	status, out, errs := run(t, c, nil, func(s *gossh.Session) error { return s.Start("id; touch /tmp/nslab-serve-exec") })
	if status != 1 || out != "" || !strings.Contains(errs, "commands are not run here") {
		t.Errorf("exec: status %d, stdout %q, stderr %q", status, out, errs)
	}
	if _, err := os.Stat("/tmp/nslab-serve-exec"); err == nil {
		os.Remove("/tmp/nslab-serve-exec")
		t.Error("the exec request's command ran")
	}
	status, errs = servetest.Request(t, c, "subsystem", gossh.Marshal(struct{ Name string }{"sftp"}))
	if status != 1 || !strings.Contains(errs, `"sftp" subsystem is refused`) {
		t.Errorf("sftp: status %d, stderr %q", status, errs)
	}
	// A shell without a PTY.
	status, _, errs = run(t, c, nil, func(s *gossh.Session) error { return s.Shell() })
	if status != 1 || !strings.Contains(errs, "needs an interactive terminal") {
		t.Errorf("no PTY: status %d, stderr %q", status, errs)
	}

	// Local port forwarding (-L): the server's own SSH port as target.
	if conn, err := c.Dial("tcp", s.addr); err == nil {
		conn.Close()
		t.Error("local port forwarding was allowed")
	} else if !strings.Contains(err.Error(), "port forwarding is refused") {
		t.Errorf("local port forwarding refused without the message: %v", err)
	}
	// Remote port forwarding (-R): the protocol's refusal has no message.
	if ln, err := c.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
		t.Error("remote port forwarding was allowed")
	}
	ev.waitFor(t, EventRefused, `detail="remote port forwarding \(tcpip-forward\)"`)

	// Agent and X11 forwarding are answered no, with a message; the
	// session goes on.
	ch, reqs, err := c.OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	go gossh.DiscardRequests(reqs)
	var errb servetest.Buffer
	go func() { _, _ = io.Copy(&errb, ch.Stderr()) }()
	if ok, err := ch.SendRequest("auth-agent-req@openssh.com", true, nil); ok || err != nil {
		t.Errorf("agent forwarding: ok=%v err=%v, want refused", ok, err)
	}
	x11 := gossh.Marshal(struct {
		Single        bool
		Proto, Cookie string
		Screen        uint32
	}{false, "MIT-MAGIC-COOKIE-1", "0123456789abcdef0123456789abcdef", 0})
	if ok, err := ch.SendRequest("x11-req", true, x11); ok || err != nil {
		t.Errorf("x11-req: ok=%v err=%v, want refused", ok, err)
	}
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(errb.String(), "X11 forwarding is refused") {
			break
		}
	}
	if e := errb.String(); !strings.Contains(e, "agent forwarding is refused") || !strings.Contains(e, "X11 forwarding is refused") {
		t.Errorf("stderr after agent and X11 requests: %q", e)
	}
	// x/crypto's own helper asks the same way.
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := agent.RequestAgentForwarding(sess); err == nil {
		t.Error("agent.RequestAgentForwarding was accepted")
	}
	for _, what := range []string{"exec", `"subsystem sftp"`, `"no PTY"`, `"port forwarding \(direct-tcpip\)"`, `"agent forwarding"`, `"X11 forwarding"`} {
		ev.waitFor(t, EventRefused, "detail="+what)
	}
}

func TestInvalidNameRefused(t *testing.T) {
	s := startServer(t, Config{})
	c := s.dial(t, "Root")
	tm := servetest.Open(t, c)
	out := tm.WaitEnd()
	if !strings.Contains(out, `"Root" cannot be a learner name`) {
		t.Errorf("an invalid name got: %q", out)
	}
	if entries, _ := os.ReadDir(filepath.Join(s.state, "learners")); len(entries) != 0 {
		t.Errorf("an invalid name left state: %v", entries)
	}
}

func TestMaxLearnersAndSameName(t *testing.T) {
	s := startServer(t, Config{MaxLearners: 1})
	a := servetest.Open(t, s.dial(t, "alice"))
	a.WaitScreen("alice's lesson list", `UTS namespaces`)

	again := servetest.Open(t, s.dial(t, "alice"))
	if out := again.WaitEnd(); !strings.Contains(out, `"alice" is already connected`) {
		t.Errorf("a second alice got: %q", out)
	}
	bob := servetest.Open(t, s.dial(t, "bob"))
	if out := bob.WaitEnd(); !strings.Contains(out, "the class is full (1 learners") {
		t.Errorf("a learner over the limit got: %q", out)
	}
	// alice is still served.
	a.Keys("j")
	a.WaitScreen("alice's cursor on uts", `▸ 02 UTS`)
}

func TestIdleTimeout(t *testing.T) {
	var ev events
	s := startServer(t, Config{IdleTimeout: 700 * time.Millisecond, OnEvent: ev.add})
	tm := servetest.Open(t, s.dial(t, "alice"))
	tm.WaitScreen("the lesson list", `UTS namespaces`)
	// Typing keeps the session.
	for range 4 {
		time.Sleep(300 * time.Millisecond)
		tm.Keys("j")
	}
	select {
	case <-tm.Ended():
		t.Fatal("a typing learner was disconnected as idle")
	default:
	}
	out := tm.WaitEnd()
	if !strings.Contains(out, "nothing was typed for 700ms") || !strings.Contains(out, "progress is saved") {
		t.Errorf("the idle learner was told: %q", out)
	}
	ev.waitFor(t, EventLeft, `name=alice .*nothing was typed`)
	if n := len(s.Learners()); n != 0 {
		t.Errorf("%d learners still listed", n)
	}
}

func TestReconnectKeepsProgress(t *testing.T) {
	var ev events
	s := startServer(t, Config{OnEvent: ev.add})
	c := s.dial(t, "alice")
	tm := servetest.Open(t, c)
	tm.WaitScreen("the lesson list", `UTS namespaces`)
	tm.Keys("j", "Enter")
	tm.WaitScreen("the uts lesson", `\[CONCEPT\]`)
	tm.Keys("n")
	tm.WaitScreen("the predict part", `\[PREDICT\]`)
	// The connection drops (no quit).
	c.Close()
	ev.waitFor(t, EventLeft, `name=alice .*detail="connection closed"`)
	b, err := os.ReadFile(filepath.Join(s.state, "learners", "alice", "progress.json"))
	if err != nil || !strings.Contains(string(b), `"uts"`) || !strings.Contains(string(b), `"predict"`) {
		t.Fatalf("alice's progress after the drop: %v %s", err, b)
	}
	// Another learner's list knows nothing of it; alice's does.
	bob := servetest.Open(t, s.dial(t, "bob"))
	if scr := bob.WaitScreen("bob's list", `UTS namespaces`); regexp.MustCompile(`UTS namespaces.*in progress`).MatchString(scr) {
		t.Errorf("bob sees alice's progress:\n%s", scr)
	}
	again := servetest.Open(t, s.dial(t, "alice"))
	again.WaitScreen("alice's uts in progress", `UTS namespaces.*in progress`)
}

// Attach is the seam for the class state: it sees the learner's options
// before their program starts, and leave runs when the session ends.
func TestAttach(t *testing.T) {
	var ev events
	left := make(chan string, 1)
	s := startServer(t, Config{OnEvent: ev.add, Attach: func(_ context.Context, name string, opts *ui.Options) (func(), error) {
		if name == "mallory" {
			return nil, errors.New("mallory may not join this class")
		}
		opts.StartLesson = "uts"
		return func() { left <- name }, nil
	}})
	c := s.dial(t, "alice")
	servetest.Open(t, c).WaitScreen("uts opened by Attach's options", `\[CONCEPT\]`)
	c.Close()
	select {
	case name := <-left:
		if name != "alice" {
			t.Errorf("leave for %q", name)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("leave was not called when the session ended")
	}
	if out := servetest.Open(t, s.dial(t, "mallory")).WaitEnd(); !strings.Contains(out, "mallory may not join this class") {
		t.Errorf("a refused Attach told the learner: %q", out)
	}
}

// fakeConn answers keepalives, or not.
type fakeConn struct {
	gossh.Conn
	answer bool
	closed chan struct{}
}

func (f *fakeConn) SendRequest(string, bool, []byte) (bool, []byte, error) {
	if f.answer {
		return false, nil, nil // an unknown request's failure is an answer
	}
	<-f.closed
	return false, nil, io.EOF
}

func (f *fakeConn) Close() error {
	close(f.closed)
	return nil
}

func TestKeepAliveClosesASilentClient(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	silent := &fakeConn{closed: make(chan struct{})}
	start := time.Now()
	go keepConnAlive(ctx, silent, 50*time.Millisecond)
	select {
	case <-silent.closed:
		if d := time.Since(start); d < 100*time.Millisecond {
			t.Errorf("closed after %v: before the answer's time was up", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a client that never answers was not closed")
	}
	answering := &fakeConn{answer: true, closed: make(chan struct{})}
	go keepConnAlive(ctx, answering, 20*time.Millisecond)
	select {
	case <-answering.closed:
		t.Fatal("a client that answers was closed")
	case <-time.After(300 * time.Millisecond):
	}
}
