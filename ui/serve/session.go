package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	bubbletea "charm.land/wish/v2/bubbletea"
	gossh "golang.org/x/crypto/ssh"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/ui"
)

// keepAlive is how often the server asks a silent client whether it is
// still there; a client that does not answer within the same time is
// gone, and its session ends (a network that drops without a FIN would
// otherwise keep the learner's name and sandboxes until TCP gives up).
const keepAlive = 20 * time.Second

// middleware serves every session that reaches the handler: wish's
// bubbletea middleware would run a tea.Program of its own, but a
// learner's program is ui.RunProgram's, which also closes every lesson
// it opened; wish's bubbletea.MakeOptions supplies the session's input,
// output, environment, window size and colour profile.
func (s *Server) middleware(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		s.serveLearner(sess)
		next(sess)
	}
}

// refuseSession ends a session before any TUI, with a message.
func (s *Server) refuseSession(sess ssh.Session, detail, msg string) {
	s.event(Event{Kind: EventRefused, Name: sess.User(), Addr: sess.RemoteAddr().String(), Detail: detail})
	_, _ = io.WriteString(sess.Stderr(), msg+"\r\n")
	_ = sess.Exit(1)
}

// serveLearner runs one learner's TUI for the life of their session.
func (s *Server) serveLearner(sess ssh.Session) {
	name, addr := sess.User(), sess.RemoteAddr().String()
	if notes := refusedBefore(sess.Context()); notes != "" {
		_, _ = io.WriteString(sess.Stderr(), notes)
	}
	pty, winch, ok := sess.Pty()
	if !ok {
		s.refuseSession(sess, "no PTY", msgNoPTY)
		return
	}
	if !ValidName(name) {
		s.refuseSession(sess, "invalid name", fmt.Sprintf("nslab class server: %q cannot be a learner name: use %s as your SSH user name, e.g. ssh -p PORT alice@HOST", name, NameRule))
		return
	}
	l, why := s.join(name, addr)
	if l == nil {
		s.refuseSession(sess, why, "nslab class server: "+why)
		return
	}
	defer s.leave(l)

	ctx, cancel := context.WithCancel(sess.Context())
	defer cancel()
	l.mu.Lock()
	l.stop = cancel
	if l.why != "" { // Shutdown came first
		cancel()
	}
	l.mu.Unlock()

	eng, err := s.cfg.NewEngine(name)
	if err != nil {
		s.refuseSession(sess, "engine: "+err.Error(), "nslab class server: your sandboxes cannot start: "+err.Error()+". Tell the instructor")
		return
	}
	// Closed on every way out, the panic recovered by charm.land/ssh
	// included; a second Close (below) is a no-op.
	defer eng.Close()

	in := &activeInput{r: sess}
	in.last.Store(time.Now().UnixNano())
	if s.cfg.IdleTimeout > 0 {
		go watchIdle(ctx, l, in, s.cfg.IdleTimeout)
	}
	if c, ok := sess.Context().Value(ssh.ContextKeyConn).(gossh.Conn); ok {
		go keepConnAlive(ctx, c, keepAlive)
	}
	resize := make(chan tea.WindowSizeMsg)
	go func() {
		for w := range winch {
			select {
			case resize <- tea.WindowSizeMsg{Width: w.Width, Height: w.Height}:
			case <-ctx.Done():
				return
			}
		}
	}()

	env := append(sess.Environ(), "TERM="+pty.Term)
	opts := ui.Options{
		Engine:   eng,
		Lessons:  s.cfg.Lessons,
		Locks:    s.cfg.Locks,
		Progress: lessons.ProgressFile{Path: s.progressPath(name), AsSelf: true},
		Input:    in,
		Output:   sess,
		Environ:  env,
		Refresh:  s.cfg.Refresh,
		Served:   true,
		// The session's own options; its input is Input, through
		// activeInput (which sees every keystroke for the idle timeout),
		// and RunProgram shares it with the full-screen shell.
		ProgramOptions: bubbletea.MakeOptions(sess),
		Resize:         resize,
	}
	if s.cfg.Class != nil {
		seat, err := s.cfg.Class.Join(name)
		if err != nil {
			s.refuseSession(sess, "class: "+err.Error(), "nslab class server: "+err.Error())
			return
		}
		defer seat.Leave()
		opts.Events, opts.Notices = seat.Report, seat.Notices()
		go cutShort(ctx, l, seat.Ended(), s.cfg.EndGrace)
	}
	if s.cfg.Attach != nil {
		leave, err := s.cfg.Attach(ctx, name, &opts)
		if err != nil {
			s.refuseSession(sess, "attach: "+err.Error(), "nslab class server: "+err.Error())
			return
		}
		if leave != nil {
			defer leave()
		}
	}
	s.event(Event{Kind: EventJoined, Name: name, Addr: addr})
	runErr := ui.RunProgram(ctx, opts)

	why = l.reason()
	gone := sess.Context().Err() != nil
	switch {
	case why != "":
	case gone:
		why = "connection closed"
	case errors.Is(runErr, ui.ErrSessionEnded):
		why = runErr.Error()
	case runErr != nil && !errors.Is(runErr, context.Canceled):
		why = "error: " + runErr.Error()
	default:
		why = "quit"
	}
	cerr := eng.Close()
	detail := why
	if cerr != nil {
		detail += "; closing the sandboxes: " + cerr.Error()
	}
	s.unlist(l)
	s.event(Event{Kind: EventLeft, Name: name, Addr: addr, Detail: detail})
	if gone {
		return
	}
	code := 0
	switch {
	case l.reason() != "":
		code = 1
		wish.Printf(sess, "\r\nnslab class server: %s.\r\nYour sandboxes are closed and your progress is saved; connect again with the same name to go on.\r\n", l.reason())
	case errors.Is(runErr, ui.ErrSessionEnded):
		code = 1
		wish.Printf(sess, "\r\nnslab class server: %v.\r\nYour sandboxes are closed and your progress is saved; connect again with the same name to go on.\r\n", runErr)
	case runErr != nil && !errors.Is(runErr, context.Canceled):
		code = 1
		wish.Printf(sess, "\r\nnslab: %v\r\nYour sandboxes are closed and your progress is saved.\r\n", runErr)
	default:
		wish.Printf(sess, "Bye, %s: your sandboxes are closed and your progress is saved; connect again with the same name to go on.\r\n", name)
	}
	_ = sess.Exit(code)
}

// activeInput is the session's input, remembering when the learner last
// typed.
type activeInput struct {
	r    io.Reader
	last atomic.Int64 // unix nanoseconds
}

func (a *activeInput) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.last.Store(time.Now().UnixNano())
	}
	return n, err
}

// watchIdle ends l's program once nothing was typed for idle.
func watchIdle(ctx context.Context, l *learner, in *activeInput, idle time.Duration) {
	period := min(max(idle/8, 50*time.Millisecond), 30*time.Second)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if time.Since(time.Unix(0, in.last.Load())) >= idle {
				l.endWith(fmt.Sprintf("nothing was typed for %s, so the server ended your session", idle))
				return
			}
		}
	}
}

// cutShort ends l's program grace after the class ended the session, if
// it has not quit on its own by then.
func cutShort(ctx context.Context, l *learner, ended <-chan struct{}, grace time.Duration) {
	select {
	case <-ctx.Done():
		return
	case <-ended:
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
		l.endWith("the instructor ended your session")
	}
}

// keepConnAlive closes c when the client stops answering.
func keepConnAlive(ctx context.Context, c gossh.Conn, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res := make(chan error, 1)
		go func() {
			// A client answers an unknown global request with a failure:
			// an answer is all this asks for.
			_, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
			res <- err
		}()
		select {
		case <-ctx.Done():
			return
		case err := <-res:
			if err != nil {
				_ = c.Close()
				return
			}
		case <-time.After(every):
			_ = c.Close()
			return
		}
	}
}
