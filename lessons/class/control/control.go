// Package control is the class server's control socket, STATE/control.sock:
// a unix socket only root may open (mode 0600, and the peer's credentials
// checked with SO_PEERCRED: uid 0 only), speaking one JSON object a line.
// `nslab class status` reads the running class through it.
//
// A request is {"op":"status"}, or {"op":"end","name":"alice","why":"..."}
// to end one learner's session, telling them why (as the dashboard's x
// key does); the answer {"ok":true,...} or {"ok":false,"error":"...",
// "code":"..."}. One connection may send several requests.
package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lessons/class"
)

// SocketName is the socket's name in the class's state directory.
const SocketName = "control.sock"

// Path is the control socket of the class kept in stateDir.
func Path(stateDir string) string { return filepath.Join(stateDir, SocketName) }

// Errors, for errors.Is.
var (
	// ErrNoServer: nothing listens on the socket (no class is running).
	ErrNoServer = errors.New("no nslab serve is running for this state directory")
	// ErrRunning: another server already listens on the socket.
	ErrRunning = errors.New("another nslab serve already runs for this state directory")
	// ErrNotRoot: the peer is not root.
	ErrNotRoot = errors.New("the control socket answers root only")
	// ErrBadReason: an end request's reason is empty of text, too long,
	// or holds control characters (it is printed on the learner's
	// terminal).
	ErrBadReason = errors.New("the reason must be printable text of at most 200 characters")
)

// Codes name an answer's error for the client (Response.Code), which
// maps them back to its errors.Is targets.
const (
	codeNotRoot   = "not-root"
	codeNoLearner = "no-learner"
	codeBadReason = "bad-reason"
)

// DefaultEndReason is what a learner whose session `nslab class end`
// ended reads when the instructor gave no reason.
const DefaultEndReason = "the instructor ended it"

// maxReason bounds an end request's reason, in characters.
const maxReason = 200

// CheckReason returns ErrBadReason unless why can be shown on a
// learner's terminal as it is: printable, one line, short.
func CheckReason(why string) error {
	if strings.TrimSpace(why) == "" || utf8.RuneCountInString(why) > maxReason || !utf8.ValidString(why) {
		return ErrBadReason
	}
	for _, r := range why {
		if !unicode.IsPrint(r) {
			return ErrBadReason
		}
	}
	return nil
}

// maxLine bounds a request line: a status request is a few bytes.
const maxLine = 4096

// ioTimeout bounds every read and write on a connection.
const ioTimeout = 5 * time.Second

// Request is one line from a client.
type Request struct {
	Op string `json:"op"`
	// Name and Why are an end request's learner and reason.
	Name string `json:"name,omitempty"`
	Why  string `json:"why,omitempty"`
}

// Response is one line to a client.
type Response struct {
	OK     bool          `json:"ok"`
	Error  string        `json:"error,omitempty"`
	Code   string        `json:"code,omitempty"`
	Rows   []class.Row   `json:"rows,omitzero"`
	Follow *class.Follow `json:"follow,omitempty"`
}

// Serve listens on path (mode 0600) and answers requests about cls until
// ctx ends; then it removes the socket. A stale socket left by a server
// that died is replaced; a live one is ErrRunning.
func Serve(ctx context.Context, path string, cls *class.Class) error {
	ln, err := Listen(path)
	if err != nil {
		return err
	}
	return ServeListener(ctx, ln, cls)
}

// Listen makes the socket at path, mode 0600.
func Listen(path string) (*net.UnixListener, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		_ = c.Close()
		return nil, fmt.Errorf("%s: %w", path, ErrRunning)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket: remove it or use another --state-dir", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("removing the stale control socket: %w", err)
		}
	}
	// The socket is made with the umask's mode and chmodded after: until
	// the chmod, the state directory (0700) keeps everyone but root out.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return ln, nil
}

// ServeListener answers on ln until ctx ends, then closes it (which
// removes the socket file).
func ServeListener(ctx context.Context, ln *net.UnixListener, cls *class.Class) error {
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	defer wg.Wait()
	for {
		conn, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("control socket: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveConn(ctx, conn, cls)
		}()
	}
}

// PeerUID is the uid of the process at the other end of conn, as the
// kernel recorded it when it connected.
func PeerUID(conn *net.UnixConn) (uint32, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *unix.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if serr != nil {
		return 0, fmt.Errorf("SO_PEERCRED: %w", serr)
	}
	return cred.Uid, nil
}

func serveConn(ctx context.Context, conn *net.UnixConn, cls *class.Class) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	enc := json.NewEncoder(conn)
	reply := func(r Response) bool {
		_ = conn.SetWriteDeadline(time.Now().Add(ioTimeout))
		return enc.Encode(r) == nil
	}
	// The file's mode keeps others out; the peer's credentials are the
	// second lock, should the socket or its directory be opened up.
	uid, err := PeerUID(conn)
	if err != nil || uid != 0 {
		reply(Response{Error: ErrNotRoot.Error() + ": run nslab class as root", Code: codeNotRoot})
		return
	}
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 0, 512), maxLine)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(ioTimeout))
		if !sc.Scan() {
			if sc.Err() != nil {
				reply(Response{Error: "bad request: " + sc.Err().Error()})
			}
			return
		}
		var req Request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			reply(Response{Error: "bad request: " + err.Error()})
			return
		}
		var resp Response
		switch req.Op {
		case "status":
			resp.OK, resp.Rows = true, cls.Rows()
			if resp.Rows == nil {
				resp.Rows = []class.Row{}
			}
			if f, ok := cls.Following(); ok {
				resp.Follow = &f
			}
		case "end":
			resp = end(cls, req)
		default:
			resp.Error = fmt.Sprintf("unknown op %q (known: status, end)", req.Op)
		}
		if !reply(resp) {
			return
		}
	}
}

// end ends req.Name's session with req.Why (DefaultEndReason if none).
func end(cls *class.Class, req Request) Response {
	why := req.Why
	if why == "" {
		why = DefaultEndReason
	}
	if err := CheckReason(why); err != nil {
		return Response{Error: err.Error(), Code: codeBadReason}
	}
	if err := cls.End(req.Name, why); err != nil {
		if errors.Is(err, class.ErrNoLearner) {
			return Response{Error: err.Error(), Code: codeNoLearner}
		}
		return Response{Error: err.Error()}
	}
	return Response{OK: true}
}

// Status asks the server listening on path for the class's rows.
func Status(ctx context.Context, path string) (Response, error) {
	return ask(ctx, path, Request{Op: "status"})
}

// End asks the server listening on path to end name's session, telling
// them why ("" is DefaultEndReason). An unknown or disconnected learner
// is class.ErrNoLearner; a reason that cannot be shown, ErrBadReason.
func End(ctx context.Context, path, name, why string) error {
	if why != "" {
		if err := CheckReason(why); err != nil {
			return err
		}
	}
	_, err := ask(ctx, path, Request{Op: "end", Name: name, Why: why})
	return err
}

// ask sends req to the server listening on path and reads its answer.
func ask(ctx context.Context, path string, req Request) (Response, error) {
	d := net.Dialer{Timeout: ioTimeout}
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return Response{}, fmt.Errorf("%s: %w (start it with nslab serve, or pass its --state-dir)", path, ErrNoServer)
		}
		if errors.Is(err, fs.ErrPermission) {
			return Response{}, fmt.Errorf("%s: %w: run it as root", path, ErrNotRoot)
		}
		return Response{}, fmt.Errorf("control socket: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	// A server that refuses the peer answers at once and hangs up, and
	// the request's write may then fail: the answer is still there to read.
	werr := json.NewEncoder(c).Encode(req)
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		if werr != nil {
			err = werr
		}
		return Response{}, fmt.Errorf("control socket: reading the answer: %w", err)
	}
	if !resp.OK {
		switch {
		case resp.Code == codeNotRoot, strings.HasPrefix(resp.Error, ErrNotRoot.Error()):
			return Response{}, fmt.Errorf("%s: %w", path, ErrNotRoot)
		case resp.Code == codeNoLearner:
			return Response{}, fmt.Errorf("%q: %w (nslab class status lists who is)", req.Name, class.ErrNoLearner)
		case resp.Code == codeBadReason:
			return Response{}, ErrBadReason
		}
		return Response{}, fmt.Errorf("control socket: the server says: %s", resp.Error)
	}
	return resp, nil
}
