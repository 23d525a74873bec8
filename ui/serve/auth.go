package serve

import (
	"crypto/subtle"
	"fmt"
	"net"
	"sync"
	"time"

	"charm.land/ssh"
	"charm.land/wish/v2"
	gossh "golang.org/x/crypto/ssh"
)

// LoginLimit bounds failed logins per source address.
type LoginLimit struct {
	// Failures in a row from one address before it is blocked.
	Failures int
	// Block is how long an address stays blocked after its last failure;
	// a failure older than that is forgotten.
	Block time.Duration
	// Addresses is how many addresses are remembered at most (bounded
	// memory under a scan from many addresses): when full, forgotten
	// entries go first, then the one whose last failure is oldest.
	Addresses int
}

// DefaultLoginLimit is 5 wrong codes in a row, which block an address for
// a minute, and 4096 addresses remembered.
func DefaultLoginLimit() LoginLimit {
	return LoginLimit{Failures: 5, Block: time.Minute, Addresses: 4096}
}

type loginLimiter struct {
	lim LoginLimit
	now func() time.Time

	mu sync.Mutex
	m  map[string]*failures
}

type failures struct {
	n    int
	last time.Time
}

func newLoginLimiter(lim LoginLimit) *loginLimiter {
	def := DefaultLoginLimit()
	if lim.Failures <= 0 {
		lim.Failures = def.Failures
	}
	if lim.Block <= 0 {
		lim.Block = def.Block
	}
	if lim.Addresses <= 0 {
		lim.Addresses = def.Addresses
	}
	return &loginLimiter{lim: lim, now: time.Now, m: map[string]*failures{}}
}

// blocked reports whether addr may not try now, and for how long.
func (l *loginLimiter) blocked(addr string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.m[addr]
	if f == nil {
		return false, 0
	}
	left := l.lim.Block - l.now().Sub(f.last)
	if left <= 0 {
		delete(l.m, addr)
		return false, 0
	}
	return f.n >= l.lim.Failures, left
}

// fail records a failed login from addr.
func (l *loginLimiter) fail(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	f := l.m[addr]
	if f != nil && now.Sub(f.last) >= l.lim.Block {
		f.n = 0
	}
	if f == nil {
		if len(l.m) >= l.lim.Addresses {
			l.evict(now)
		}
		f = &failures{}
		l.m[addr] = f
	}
	f.n++
	f.last = now
}

// succeed forgets addr's failures.
func (l *loginLimiter) succeed(addr string) {
	l.mu.Lock()
	delete(l.m, addr)
	l.mu.Unlock()
}

// evict makes room for one address (l.mu held).
func (l *loginLimiter) evict(now time.Time) {
	var oldest string
	var oldestT time.Time
	for a, f := range l.m {
		if now.Sub(f.last) >= l.lim.Block {
			delete(l.m, a)
			continue
		}
		if oldest == "" || f.last.Before(oldestT) {
			oldest, oldestT = a, f.last
		}
	}
	if len(l.m) >= l.lim.Addresses {
		delete(l.m, oldest)
	}
}

func (l *loginLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// hostOf is the address without its port: the limit is per host.
func hostOf(a net.Addr) string {
	if a == nil {
		return ""
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}

// authOptions are the ways in: the class code (password or
// keyboard-interactive), and the authorized keys.
func (s *Server) authOptions() []ssh.Option {
	var opts []ssh.Option
	if s.cfg.Code != "" {
		opts = append(opts,
			wish.WithPasswordAuth(func(ctx ssh.Context, pw string) bool {
				return s.checkCode(ctx, pw)
			}),
			wish.WithKeyboardInteractiveAuth(func(ctx ssh.Context, ask gossh.KeyboardInteractiveChallenge) bool {
				answers, err := ask("", "nslab class: type the class code the instructor gave you.", []string{"Class code: "}, []bool{false})
				if err != nil || len(answers) != 1 {
					return false
				}
				return s.checkCode(ctx, answers[0])
			}),
		)
	}
	if s.cfg.AuthorizedKeys != "" {
		opts = append(opts, wish.WithAuthorizedKeys(s.cfg.AuthorizedKeys))
	}
	return opts
}

// checkCode compares a code in constant time, unless the address is over
// its failed-login limit: then it is not even compared.
func (s *Server) checkCode(ctx ssh.Context, code string) bool {
	addr := hostOf(ctx.RemoteAddr())
	if b, left := s.logins.blocked(addr); b {
		s.event(Event{Kind: EventBlocked, Name: ctx.User(), Addr: addr, Detail: fmt.Sprintf("too many wrong codes; blocked for %s more", left.Round(time.Second))})
		return false
	}
	if subtle.ConstantTimeCompare([]byte(code), []byte(s.cfg.Code)) == 1 {
		s.logins.succeed(addr)
		return true
	}
	s.logins.fail(addr)
	s.event(Event{Kind: EventLoginFailed, Name: ctx.User(), Addr: addr, Detail: "wrong class code"})
	return false
}

// banner is shown by the client before it logs in: what the server is,
// what it refuses, and, to an address over its limit, how long to wait.
func (s *Server) banner(ctx ssh.Context) string {
	b := "nslab class server: one interactive terminal per learner (your SSH user name is your learner name).\r\n" +
		"Commands, sftp, port forwarding, agent forwarding and X11 are refused here.\r\n"
	if blocked, left := s.logins.blocked(hostOf(ctx.RemoteAddr())); blocked {
		b += fmt.Sprintf("Too many wrong class codes from your address: wait %s, then try again with the code the instructor gave you.\r\n", left.Round(time.Second))
	}
	return b
}
