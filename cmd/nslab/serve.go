package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lessons/class"
	"github.com/nslab/nslab/lessons/class/control"
	"github.com/nslab/nslab/lessons/doctor"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/dashboard"
	"github.com/nslab/nslab/ui/serve"
)

// Defaults of `nslab serve` (the command line contract other parts of
// the classroom rely on: the Kubernetes manifest, `nslab class`).
const (
	serveListen    = ":2222"
	serveStateDir  = "/var/lib/nslab/class"
	serveCodeEnv   = "NSLAB_CLASS_CODE"
	serveStopGrace = 10 * time.Second // SIGTERM: every learner told and their sandboxes closed, at most this
)

type serveFlags struct {
	listen, stateDir, code, codeFile, authKeys, hostKey string
	maxLearners                                         int
	idle                                                time.Duration
}

func (a *app) serveCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a class over SSH: every learner gets their own nslab and sandboxes",
		Long: `serve runs an SSH server (as root, on the workshop machine). Every learner
connects with one line, ` + "`ssh -p PORT NAME@HOST`" + `, types the class code, and gets
their own nslab: their own sandboxes, closed when they disconnect, and
their own progress, kept under the state directory by name
(STATE/learners/NAME/progress.json), so reconnecting with the same name
goes on where they were. NAME is ` + serve.NameRule + `.

At start it prints the join line and the class code. The code is
--code, or the first line of --code-file, or $` + serveCodeEnv + `, or else a
new random one. With --authorized-keys and no code, only those keys log in.
Five wrong codes in a row block an address for a minute.

Only an interactive terminal gets nslab: commands, sftp, port forwarding,
agent forwarding and X11 are refused with a message. A second session
under a name already connected is refused. A learner idle for
--idle-timeout is disconnected (progress kept). SIGTERM or SIGINT tells
every learner, closes every sandbox and exits 143 or 130.

With stdout not a terminal, serve logs one line per event.`,
		Example: `  sudo nslab serve
  sudo nslab serve --listen :2222 --max-learners 30 --code-file /etc/nslab/code
  sudo nslab serve --authorized-keys ~/class_keys`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("serve takes no arguments (got %q); see `nslab serve --help`", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runServe(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", serveListen, "address to listen on (host:port; port 0 picks a free one)")
	fl.StringVar(&f.stateDir, "state-dir", serveStateDir, "the class's state directory (created 0700): host key, learners' progress")
	fl.StringVar(&f.code, "code", "", "the class code learners type (default: $"+serveCodeEnv+", else a random one)")
	fl.StringVar(&f.codeFile, "code-file", "", "read the class code from the first line of this file")
	fl.StringVar(&f.authKeys, "authorized-keys", "", "an authorized_keys file: its keys log in without the code")
	fl.StringVar(&f.hostKey, "host-key", "", "the server's host key (default STATE/host_ed25519; generated once, 0600)")
	fl.IntVar(&f.maxLearners, "max-learners", serve.DefaultMaxLearners, "learners connected at once, at most")
	fl.DurationVar(&f.idle, "idle-timeout", serve.DefaultIdleTimeout, "disconnect a learner after this long without a keystroke (0: never)")
	return cmd
}

// classCode finds the class code (see serveCmd's help); keysOnly is true
// when only authorized keys log in.
func (a *app) classCode(f serveFlags) (code string, generated bool, err error) {
	switch {
	case f.code != "" && f.codeFile != "":
		return "", false, usageErrorf("give --code or --code-file, not both")
	case f.code != "":
		code = f.code
	case f.codeFile != "":
		b, err := os.ReadFile(f.codeFile)
		if err != nil {
			return "", false, withCode(exitMachine, fmt.Errorf("read the class code: %w", err))
		}
		code, _, _ = strings.Cut(string(b), "\n")
		code = strings.TrimSpace(code)
		if code == "" {
			return "", false, usageErrorf("the code file %s is empty: write the class code on its first line", f.codeFile)
		}
	case a.getenv(serveCodeEnv) != "":
		code = strings.TrimSpace(a.getenv(serveCodeEnv))
	case f.authKeys != "":
		return "", false, nil
	default:
		code, err = newClassCode()
		return code, true, err
	}
	if len(code) < 6 || strings.ContainsAny(code, "\r\n") {
		return "", false, usageErrorf("the class code must be one line of at least 6 characters")
	}
	return code, false, nil
}

// newClassCode is 12 random letters and digits in three groups, without
// the ones people confuse (0/o, 1/l/i): 31^12, about 2^59.
func newClassCode() (string, error) {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	var b strings.Builder
	for i := range 12 {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", withCode(exitInternal, fmt.Errorf("make a class code: %w", err))
		}
		b.WriteByte(alphabet[n.Int64()])
	}
	return b.String(), nil
}

func (a *app) runServe(ctx context.Context, f serveFlags) error {
	if os.Geteuid() != 0 {
		return withCode(exitMachine, errors.New("nslab serve runs as root: it makes every learner's namespaces. Run it with sudo on the workshop machine"))
	}
	if f.maxLearners <= 0 {
		return usageErrorf("--max-learners must be at least 1")
	}
	if f.idle < 0 {
		return usageErrorf("--idle-timeout cannot be negative (0 turns it off)")
	}
	idle := f.idle
	if idle == 0 {
		idle = -1 // serve.Config: negative is never
	}
	code, _, err := a.classCode(f)
	if err != nil {
		return err
	}
	if f.authKeys != "" {
		if _, err := os.Stat(f.authKeys); err != nil {
			return withCode(exitMachine, fmt.Errorf("--authorized-keys: %w", err))
		}
	}
	if err := serve.OpenStateDir(f.stateDir); err != nil {
		return withCode(exitMachine, err)
	}
	if f.hostKey == "" {
		f.hostKey = filepath.Join(f.stateDir, "host_ed25519")
	}
	key, err := serve.LoadHostKey(f.hostKey)
	if err != nil {
		return withCode(exitMachine, err)
	}
	ls, err := allLessons()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return withCode(exitMachine, fmt.Errorf("listen on %s: %w (another server there? choose another with --listen)", f.listen, err))
	}
	defer ln.Close()
	cls, err := class.Open(f.stateDir, class.Options{})
	if err != nil {
		return withCode(exitMachine, err)
	}
	defer func() {
		if err := cls.Close(); err != nil {
			a.warn("saving the class's state: %v", err)
		}
	}()
	// The control socket first: a second server for the same state
	// directory is refused before it takes any learner.
	ctl, err := control.Listen(control.Path(f.stateDir))
	if err != nil {
		return withCode(exitMachine, err)
	}
	ctlCtx, stopCtl := context.WithCancel(context.WithoutCancel(ctx))
	ctlDone := make(chan error, 1)
	go func() { ctlDone <- control.ServeListener(ctlCtx, ctl, cls) }()
	defer func() {
		stopCtl()
		<-ctlDone
	}()
	// One probe for the whole class (a second of throwaway clones).
	locks := doctor.Locks(sandbox.ProbeMachine(ctx), ls)

	join := joinText(ln.Addr(), code, f.authKeys)
	board := "join: " + joinCmd(ln.Addr())
	if code != "" {
		board += "   class code: " + code
	}
	view, err := a.classView(f.stateDir)
	if err != nil {
		return withCode(exitMachine, err)
	}
	defer view.close()
	srv, err := serve.New(serve.Config{
		StateDir: f.stateDir, HostKey: key, Code: code, AuthorizedKeys: f.authKeys,
		MaxLearners: f.maxLearners, IdleTimeout: idle,
		Lessons: ls, Locks: locks, Class: cls,
		OnEvent: view.event,
	})
	if err != nil {
		return withCode(exitInternal, err)
	}
	fmt.Fprint(a.out, join)

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	dashCtx, stopDash := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDash()
	dashDone := make(chan error, 1)
	if view.dashboard {
		go func() {
			dashDone <- dashboard.RunWith(dashCtx, cls, ls, a.in, a.out, nil, dashboard.Options{Join: board})
		}()
	}
	stop := func() error {
		sctx, cancel := context.WithTimeout(context.Background(), serveStopGrace)
		defer cancel()
		serr := srv.Shutdown(sctx, "the instructor stopped the class server")
		<-served
		stopDash()
		if view.dashboard {
			<-dashDone
		}
		return serr
	}
	select {
	case err := <-served:
		return withCode(exitInternal, fmt.Errorf("the class server stopped: %w", err))
	case err := <-dashDone:
		// ctrl+c on the dashboard stops the class.
		view.dashboard = false
		if serr := stop(); serr != nil {
			a.warn("%v", serr)
		}
		if err != nil {
			return withCode(exitInternal, fmt.Errorf("the dashboard: %w", err))
		}
		return nil
	case s := <-sigs:
		if serr := stop(); serr != nil {
			a.warn("%v", serr)
		}
		sig, _ := s.(syscall.Signal)
		return signalError{sig: sig}
	}
}

// joinText is what the instructor writes on the board: the join line and
// the class code.
func joinText(addr net.Addr, code, authKeys string) string {
	var b strings.Builder
	join := joinCmd(addr)
	fmt.Fprintf(&b, "nslab class server listening on %s\n", addr)
	fmt.Fprintf(&b, "Join:       %s   (NAME: your name, %s)\n", join, serve.NameRule)
	switch {
	case code != "" && authKeys != "":
		fmt.Fprintf(&b, "Class code: %s   (or a key in %s)\n", code, authKeys)
	case code != "":
		fmt.Fprintf(&b, "Class code: %s\n", code)
	default:
		fmt.Fprintf(&b, "Class code: none: only the keys in %s log in\n", authKeys)
	}
	return b.String()
}

// joinCmd is the ssh line a learner types to join at addr.
func joinCmd(addr net.Addr) string {
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = publicHost()
	} else if ip.To4() == nil {
		host = "[" + host + "]"
	}
	if port == "22" {
		return "ssh NAME@" + host
	}
	return "ssh -p " + port + " NAME@" + host
}

// publicHost is the address learners most likely reach this machine at:
// its first global unicast IPv4 address, else its host name.
func publicHost() string {
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
				return n.IP.String()
			}
		}
	}
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return "HOST"
}

// serveView is how the instructor sees the class: on a terminal the
// dashboard (ui/dashboard), with the server's events written to
// STATE/serve.log; otherwise one line per event on stdout.
type serveView struct {
	dashboard bool
	event     func(serve.Event)
	close     func()
}

func (a *app) classView(stateDir string) (serveView, error) {
	var mu sync.Mutex
	if !a.interactive() {
		return serveView{event: lineLog(a.out, &mu), close: func() {}}, nil
	}
	f, err := os.OpenFile(filepath.Join(stateDir, "serve.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return serveView{}, fmt.Errorf("the server's log: %w", err)
	}
	return serveView{dashboard: true, event: lineLog(f, &mu), close: func() { _ = f.Close() }}, nil
}

// lineLog writes each event as one line; it never blocks on a learner.
func lineLog(w io.Writer, mu *sync.Mutex) func(serve.Event) {
	return func(e serve.Event) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(w, e.String())
	}
}
