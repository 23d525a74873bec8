package serve

import (
	"fmt"
	"strings"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// The refusals' messages: each says what was refused and what works.
const (
	msgExec      = "nslab class server: commands are not run here (you asked for %q). Connect without a command for your nslab terminal: ssh -p PORT NAME@HOST"
	msgSubsystem = "nslab class server: the %q subsystem is refused (no sftp or scp here). Connect without a command for your nslab terminal"
	msgAgent     = "nslab class server: agent forwarding is refused; your SSH agent stays on your machine (connect without -A)"
	msgX11       = "nslab class server: X11 forwarding is refused (connect without -X or -Y)"
	msgLocalFwd  = "nslab class server: port forwarding is refused (connect without -L, -D or -W)"
	msgRemoteFwd = "nslab class server: remote port forwarding is refused (connect without -R)"
	msgNoPTY     = "nslab class server: your nslab terminal needs an interactive terminal, and this session has none. Connect from a terminal without a command (with OpenSSH: ssh -t -p PORT NAME@HOST)"
)

// refusals are the server options that refuse what a class server never
// does. Port forwarding and unknown channel types are refused by
// charm.land/ssh anyway; here they are refused with a message. Session
// requests are filtered before charm.land/ssh sees them (filterSession).
func (s *Server) refusals() []ssh.Option {
	return []ssh.Option{func(srv *ssh.Server) error {
		rejectFwd := func(_ *ssh.Server, _ *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
			s.event(Event{Kind: EventRefused, Name: ctx.User(), Addr: ctx.RemoteAddr().String(), Detail: "port forwarding (" + nc.ChannelType() + ")"})
			_ = nc.Reject(gossh.Prohibited, msgLocalFwd)
		}
		srv.ChannelHandlers = map[string]ssh.ChannelHandler{
			"session": s.filterSession,
			// -L and -D, -W; and their unix-socket twin.
			"direct-tcpip":                   rejectFwd,
			"direct-streamlocal@openssh.com": rejectFwd,
		}
		// -R. A global request's refusal carries no message in the SSH
		// protocol: OpenSSH prints its own warning, the banner says it,
		// and the learner's session prints it too (refusedBefore).
		rejectRemote := func(ctx ssh.Context, _ *ssh.Server, req *gossh.Request) (bool, []byte) {
			s.event(Event{Kind: EventRefused, Name: ctx.User(), Addr: ctx.RemoteAddr().String(), Detail: "remote port forwarding (" + req.Type + ")"})
			noteRefusal(ctx, msgRemoteFwd)
			return false, nil
		}
		srv.RequestHandlers = map[string]ssh.RequestHandler{
			"tcpip-forward":                          rejectRemote,
			"streamlocal-forward@openssh.com":        rejectRemote,
			"cancel-tcpip-forward":                   rejectRemote,
			"cancel-streamlocal-forward@openssh.com": rejectRemote,
		}
		// No subsystem handler at all: filterSession answers them first.
		srv.SubsystemHandlers = map[string]ssh.SubsystemHandler{}
		return nil
	}}
}

// refusedKey holds the connection's refusals that could not carry a
// message of their own, for its session to print.
type refusedKey struct{}

type refusedNotes struct{ msgs []string }

func noteRefusal(ctx ssh.Context, msg string) {
	ctx.Lock()
	defer ctx.Unlock()
	n, _ := ctx.Value(refusedKey{}).(*refusedNotes)
	if n == nil {
		n = &refusedNotes{}
		ctx.SetValue(refusedKey{}, n)
	}
	for _, m := range n.msgs {
		if m == msg {
			return
		}
	}
	n.msgs = append(n.msgs, msg)
}

// refusedBefore is what was refused on the connection before its session
// started, one message per line.
func refusedBefore(ctx ssh.Context) string {
	ctx.Lock()
	defer ctx.Unlock()
	n, _ := ctx.Value(refusedKey{}).(*refusedNotes)
	if n == nil || len(n.msgs) == 0 {
		return ""
	}
	return strings.Join(n.msgs, "\r\n") + "\r\n"
}

// filterSession is the session channel's handler: charm.land/ssh's own,
// with the channel's requests passed through refuse first.
func (s *Server) filterSession(srv *ssh.Server, conn *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
	ssh.DefaultSessionHandler(srv, conn, &filteredChannel{NewChannel: nc, s: s, ctx: ctx}, ctx)
}

type filteredChannel struct {
	gossh.NewChannel
	s   *Server
	ctx ssh.Context
}

// Accept accepts the session and hands charm.land/ssh a request stream
// without what nslab refuses.
func (f *filteredChannel) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, reqs, err := f.NewChannel.Accept()
	if err != nil {
		return ch, reqs, err
	}
	out := make(chan *gossh.Request)
	go func() {
		defer close(out)
		for req := range reqs {
			if f.refuse(ch, req) {
				continue
			}
			out <- req
		}
	}()
	return ch, out, nil
}

// refuse answers a request nslab refuses, with the message on the
// session's stderr (which the client prints), and reports whether it did.
// An exec or subsystem request ends the session with exit status 1 and
// nothing run; agent and X11 forwarding are answered "no" and the
// session goes on.
func (f *filteredChannel) refuse(ch gossh.Channel, req *gossh.Request) bool {
	var msg, what string
	end := false
	switch req.Type {
	case "exec":
		var p struct{ Value string }
		_ = gossh.Unmarshal(req.Payload, &p)
		msg, what, end = fmt.Sprintf(msgExec, p.Value), "exec", true
	case "subsystem":
		var p struct{ Value string }
		_ = gossh.Unmarshal(req.Payload, &p)
		msg, what, end = fmt.Sprintf(msgSubsystem, p.Value), "subsystem "+p.Value, true
	case "auth-agent-req@openssh.com":
		msg, what = msgAgent, "agent forwarding"
	case "x11-req":
		msg, what = msgX11, "X11 forwarding"
	default:
		return false
	}
	f.s.event(Event{Kind: EventRefused, Name: f.ctx.User(), Addr: f.ctx.RemoteAddr().String(), Detail: what})
	if end {
		// Accepted, then answered with the message and exit status 1,
		// and nothing run: OpenSSH exits on a failed exec or subsystem
		// request before it prints what came on stderr.
		if req.WantReply {
			_ = req.Reply(true, nil)
		}
		_, _ = ch.Stderr().Write([]byte(msg + "\r\n"))
		_, _ = ch.SendRequest("exit-status", false, gossh.Marshal(struct{ Status uint32 }{1}))
		_ = ch.Close()
		return true
	}
	_, _ = ch.Stderr().Write([]byte(msg + "\r\n"))
	if req.WantReply {
		_ = req.Reply(false, nil)
	}
	return true
}
