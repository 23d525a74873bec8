// Package serve is nslab's class server: an SSH server (charm.land/wish/v2
// over charm.land/ssh and golang.org/x/crypto/ssh) that gives every
// learner of a class their own nslab TUI, one bubbletea program per
// session through ui.RunProgram, with their own progress under the class's
// state directory and their own sandbox engine.
//
// Only an interactive session with a PTY gets the TUI. Commands (exec),
// subsystems (sftp), port forwarding both ways, agent forwarding and X11
// are refused, each with a message saying so. Learners authenticate with
// the class code (password or keyboard-interactive) or a key listed in an
// authorized_keys file; failed logins are rate-limited per source
// address. Every learner's sandboxes are confined: a user namespace
// mapped to the learner's own unprivileged host id range, new namespaces
// of every kind, and a cgroup with pids, memory and CPU limits
// (sandbox.NewConfinedEngine). Every learner's sandboxes are closed when their connection
// ends, however it ends, and Shutdown tells every learner and closes them
// all.
package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"time"

	"charm.land/ssh"
	"charm.land/wish/v2"
	gossh "golang.org/x/crypto/ssh"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/class"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/sandbox/idrange"
	"github.com/nslab/nslab/ui"
)

// Defaults of the command line contract (CLASSROOM.md).
const (
	DefaultMaxLearners = 60
	DefaultIdleTimeout = 30 * time.Minute
	// DefaultEndGrace: the learner's program shows the reason for 5 s
	// before it quits on its own.
	DefaultEndGrace = 8 * time.Second
)

// Config configures a class server.
type Config struct {
	// StateDir is the class's state directory (see OpenStateDir): each
	// learner's progress is StateDir/learners/NAME/progress.json.
	StateDir string
	// HostKey signs the server's side of every handshake (LoadHostKey).
	HostKey gossh.Signer
	// Code is the class code; "" accepts no code (AuthorizedKeys only).
	Code string
	// AuthorizedKeys, if set, is an authorized_keys file: a key listed
	// there logs in without the code.
	AuthorizedKeys string
	// MaxLearners is how many learners may be connected at once (0: the
	// default).
	MaxLearners int
	// IdleTimeout ends a session with no keystroke for that long (0: the
	// default; negative: never).
	IdleTimeout time.Duration
	// Lessons are the curriculum, Locks why this machine cannot perform
	// some of them (computed once for the whole class).
	Lessons []lessons.Lesson
	Locks   map[string]string
	// OnEvent is told of every event (a learner joined, left, was refused;
	// a failed or blocked login). It must not block: it is called from the
	// sessions' goroutines. nil drops them.
	OnEvent func(Event)
	// NewEngine makes a learner's sandbox engine; nil is the confined
	// engine (sandbox.NewConfinedEngine): the learner's own host id range
	// from sandbox/idrange, recorded in StateDir, and a cgroup with
	// Limits. With the confined engine, the lessons not shown to play
	// confined are locked (lessons.ConfinedLocks) besides Locks.
	NewEngine func(name string) (*sandbox.Engine, error)
	// Limits bound each learner's processes under the confined engine
	// (zero fields: sandbox's defaults).
	Limits sandbox.Limits
	// Class, if set, is the class every learner joins: their program
	// reports to their seat and takes the instructor's notices; the seat
	// is left when the session ends, and Shutdown ends every seat first.
	Class *class.Class
	// EndGrace is how long a learner whose session the class ended (the
	// instructor's end key) has to quit on their own before the server
	// cuts the session short (0: DefaultEndGrace). A program busy with a
	// full-screen shell reads no notice until the shell ends.
	EndGrace time.Duration
	// Attach, if set, is called for every learner before their program
	// starts, with the options it will run with (Class's Events and
	// Notices set already), and may change them. leave is called when
	// the session ends.
	Attach func(ctx context.Context, name string, opts *ui.Options) (leave func(), err error)
	// Refresh is the live views' period (0: ui's default).
	Refresh time.Duration
	// Logins limits failed logins per source address (nil: the default,
	// DefaultLoginLimit()).
	Logins *LoginLimit
}

// NameRule says which learner names are valid (ValidName).
const NameRule = "a lowercase letter, then up to 31 lowercase letters, digits, '-' or '_'"

// ValidName reports whether name can be a learner's name:
// ^[a-z][a-z0-9_-]{0,31}$. It is the SSH user name and a directory name
// under the state directory. (A loop, not a regexp: nslab's packages
// build nothing at init.)
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > 32 || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for _, c := range []byte(name[1:]) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("the class server was shut down")

// Server is a running class server.
type Server struct {
	cfg    Config
	ssh    *ssh.Server
	logins *loginLimiter

	mu       sync.Mutex
	learners map[string]*learner // by name, while connected
	closing  string              // why the server is shutting down ("": it is not)
	wg       sync.WaitGroup      // one per learner session running
}

// learner is one connected session.
type learner struct {
	name, addr string
	since      time.Time
	// end ends the learner's program; why is shown to them afterwards.
	mu   sync.Mutex
	why  string
	stop context.CancelFunc
}

// endWith ends the learner's program with a reason for the learner (the
// first reason wins).
func (l *learner) endWith(why string) {
	l.mu.Lock()
	if l.why == "" {
		l.why = why
	}
	stop := l.stop
	l.mu.Unlock()
	if stop != nil {
		stop()
	}
}

func (l *learner) reason() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.why
}

// New makes a class server from cfg; Serve starts it.
func New(cfg Config) (*Server, error) {
	if cfg.HostKey == nil {
		return nil, errors.New("serve: no host key")
	}
	if cfg.Code == "" && cfg.AuthorizedKeys == "" {
		return nil, errors.New("serve: no way to log in: give a class code or an authorized_keys file")
	}
	if cfg.MaxLearners <= 0 {
		cfg.MaxLearners = DefaultMaxLearners
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.EndGrace <= 0 {
		cfg.EndGrace = DefaultEndGrace
	}
	if cfg.NewEngine == nil {
		if cfg.StateDir == "" {
			return nil, errors.New("serve: no state directory for the learners' id ranges")
		}
		ids, err := idrange.Open(cfg.StateDir)
		if err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
		cfg.NewEngine = newLearnerEngine(ids, cfg.Limits)
		locks := lessons.ConfinedLocks(cfg.Lessons)
		// The machine's own reasons win: they say what the host lacks. ("":
		// not locked, which must not unlock a confined lock.)
		for id, why := range cfg.Locks {
			if why != "" {
				locks[id] = why
			}
		}
		cfg.Locks = locks
	}
	if cfg.OnEvent == nil {
		cfg.OnEvent = func(Event) {}
	}
	lim := DefaultLoginLimit()
	if cfg.Logins != nil {
		lim = *cfg.Logins
	}
	s := &Server{cfg: cfg, learners: map[string]*learner{}, logins: newLoginLimiter(lim)}
	opts := []ssh.Option{
		func(srv *ssh.Server) error {
			srv.AddHostKey(cfg.HostKey)
			return nil
		},
		wish.WithBannerHandler(s.banner),
		wish.WithMiddleware(s.middleware),
	}
	opts = append(opts, s.authOptions()...)
	opts = append(opts, s.refusals()...)
	srv, err := wish.NewServer(opts...)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	s.ssh = srv
	return s, nil
}

// newLearnerEngine makes the sandbox engines of learners: each confined
// to their own host id range (the same one on every reconnect and
// restart: ids records it in the state directory) and their own cgroup
// with lim.
func newLearnerEngine(ids *idrange.Allocator, lim sandbox.Limits) func(string) (*sandbox.Engine, error) {
	return func(name string) (*sandbox.Engine, error) {
		r, err := ids.For(name)
		if err != nil {
			return nil, err
		}
		return sandbox.NewConfinedEngine(sandbox.Confinement{Name: name, IDs: r, Limits: lim})
	}
}

// Serve accepts learners on ln until Shutdown; it then returns
// ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	err := s.ssh.Serve(ln)
	if errors.Is(err, ssh.ErrServerClosed) {
		return ErrServerClosed
	}
	return err
}

// Shutdown stops accepting learners, ends every learner's program and
// tells them why, closes every learner's sandboxes, waits for their
// sessions to end (at most until ctx ends), then closes every connection.
func (s *Server) Shutdown(ctx context.Context, why string) error {
	s.mu.Lock()
	if s.closing == "" {
		s.closing = why
	}
	ls := make([]*learner, 0, len(s.learners))
	for _, l := range s.learners {
		ls = append(ls, l)
	}
	s.mu.Unlock()
	s.cfg.OnEvent(Event{Kind: EventShutdown, Detail: why})
	if s.cfg.Class != nil {
		// Every seat ended first: the records say so, and a program
		// that sees the notice before its context ends shows it.
		s.cfg.Class.EndAll(why)
	}
	// Stop the listeners first: no new learner while the others leave.
	stopped := make(chan error, 1)
	go func() { stopped <- s.ssh.Shutdown(ctx) }()
	for _, l := range ls {
		l.endWith(why)
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("serve: learners' sessions still ending: %w", ctx.Err())
	}
	// Every session has had its last word; drop the connections.
	cerr := s.ssh.Close()
	<-stopped
	if err == nil && cerr != nil {
		err = fmt.Errorf("serve: close: %w", cerr)
	}
	return err
}

// Learners returns the names of the learners connected now.
func (s *Server) Learners() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.learners))
	for n := range s.learners {
		names = append(names, n)
	}
	return names
}

// progressPath is where a learner's progress is kept.
func (s *Server) progressPath(name string) string {
	return filepath.Join(s.cfg.StateDir, "learners", name, "progress.json")
}

// join claims name for a new session, or says why not.
func (s *Server) join(name, addr string) (*learner, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing != "":
		return nil, "the class server is shutting down (" + s.closing + ")"
	case s.learners[name] != nil:
		// Refused, not replaced: anyone with the class code could
		// otherwise end another learner's session by taking their name.
		// A lost connection frees its name as soon as the server sees it
		// gone (a killed client at once; a silent network within a
		// minute, keepalives).
		return nil, fmt.Sprintf("%q is already connected (from %s). If that is you on a lost connection, wait a minute and connect again; otherwise choose another name", name, s.learners[name].addr)
	case len(s.learners) >= s.cfg.MaxLearners:
		return nil, fmt.Sprintf("the class is full (%d learners are connected, the most this server takes). Ask the instructor, or try again when someone leaves", s.cfg.MaxLearners)
	}
	l := &learner{name: name, addr: addr, since: time.Now()}
	s.learners[name] = l
	s.wg.Add(1)
	return l, ""
}

// leave frees l's name.
func (s *Server) leave(l *learner) {
	s.unlist(l)
	s.wg.Done()
}

// unlist frees l's name. It is called before the "left" event too, so that
// whoever reads that event finds the name free; a second call is a no-op.
func (s *Server) unlist(l *learner) {
	s.mu.Lock()
	if s.learners[l.name] == l {
		delete(s.learners, l.name)
	}
	s.mu.Unlock()
}
