package serve

// Test helpers: a class server on a loopback ephemeral port, its events,
// and learners connecting to it (servetest).

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/nslab/nslab/lessons/catalog"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/serve/servetest"
)

func TestMain(m *testing.M) {
	// Learners' engines start agents by re-executing this test binary.
	if sandbox.IsHidden(os.Args) {
		os.Exit(sandbox.RunHidden(os.Args))
	}
	os.Exit(m.Run())
}

const testCode = "right-code-42"

// testServer is a running class server.
type testServer struct {
	*Server
	addr  string
	state string
	key   gossh.PublicKey
	cfg   Config
}

// startServer starts a class server on 127.0.0.1:0 with cfg (the state
// dir, host key, code and lessons filled in when unset); it is shut down
// when the test ends.
func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	if cfg.StateDir == "" {
		cfg.StateDir = filepath.Join(t.TempDir(), "class")
	}
	if err := OpenStateDir(cfg.StateDir); err != nil {
		t.Fatal(err)
	}
	if cfg.HostKey == nil {
		k, err := LoadHostKey(filepath.Join(cfg.StateDir, "host_ed25519"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.HostKey = k
	}
	if cfg.Code == "" && cfg.AuthorizedKeys == "" {
		cfg.Code = testCode
	}
	if cfg.Lessons == nil {
		ls, err := catalog.All()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Lessons = ls
	}
	if cfg.Refresh == 0 {
		cfg.Refresh = 200 * time.Millisecond
	}
	if cfg.NewEngine == nil && os.Geteuid() != 0 {
		// Confining a learner needs root; the tests that run without it
		// test the SSH side, not the sandboxes.
		cfg.NewEngine = func(string) (*sandbox.Engine, error) { return sandbox.NewEngine() }
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx, "the test ended")
		select {
		case <-served:
		case <-time.After(5 * time.Second):
			t.Errorf("Serve did not return after Shutdown")
		}
	})
	return &testServer{Server: srv, addr: ln.Addr().String(), state: cfg.StateDir, key: cfg.HostKey.PublicKey(), cfg: cfg}
}

// events records a server's events.
type events struct {
	mu sync.Mutex
	es []Event
}

func (e *events) add(ev Event) {
	e.mu.Lock()
	e.es = append(e.es, ev)
	e.mu.Unlock()
}

// waitFor waits (bounded) for an event of kind whose line matches re.
func (e *events) waitFor(t *testing.T, kind EventKind, re string) Event {
	t.Helper()
	rx := regexp.MustCompile(re)
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		e.mu.Lock()
		for _, ev := range e.es {
			if ev.Kind == kind && rx.MatchString(ev.String()) {
				e.mu.Unlock()
				return ev
			}
		}
		e.mu.Unlock()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var all []string
	for _, ev := range e.es {
		all = append(all, ev.String())
	}
	t.Fatalf("no %s event matching %q; events:\n%s", kind, re, strings.Join(all, "\n"))
	return Event{}
}

// dialOpts is how a test client connects.
type dialOpts struct {
	name  string
	auth  []gossh.AuthMethod
	from  string // local address to dial from ("": any)
	check func(gossh.PublicKey) error
}

// dial connects to s as name with the right code by password.
func (s *testServer) dial(t *testing.T, name string) *gossh.Client {
	t.Helper()
	c, err := s.dialWith(dialOpts{name: name, auth: []gossh.AuthMethod{gossh.Password(testCode)}})
	if err != nil {
		t.Fatalf("connect as %s: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (s *testServer) dialWith(o dialOpts) (*gossh.Client, error) {
	check := o.check
	if check == nil {
		check = servetest.SameKey(s.key)
	}
	return servetest.Dial{Addr: s.addr, Name: o.name, Auth: o.auth, From: o.from, HostKey: check}.Connect()
}

// run runs cmd in a session without a PTY and returns its exit status,
// stdout and stderr.
func run(t *testing.T, c *gossh.Client, setup func(*gossh.Session) error, start func(*gossh.Session) error) (status int, stdout, stderr string) {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatalf("new session: %v", err)
	}
	defer sess.Close()
	var out, errb servetest.Buffer
	sess.Stdout, sess.Stderr = &out, &errb
	if setup != nil {
		if err := setup(sess); err != nil {
			t.Fatalf("setup: %v", err)
		}
	}
	if err := start(sess); err != nil {
		t.Fatalf("start: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not end")
	}
	var ee *gossh.ExitError
	switch {
	case errors.As(err, &ee):
		status = ee.ExitStatus()
	case err != nil:
		t.Fatalf("wait: %v", err)
	}
	return status, out.String(), errb.String()
}
