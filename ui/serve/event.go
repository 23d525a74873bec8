package serve

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// EventKind is what happened on the class server.
type EventKind string

// The events a class server reports (Config.OnEvent).
const (
	EventJoined      EventKind = "joined"       // a learner's TUI started
	EventLeft        EventKind = "left"         // a learner's session ended (Detail: why), their sandboxes closed
	EventRefused     EventKind = "refused"      // a request or session was refused (Detail: what)
	EventLoginFailed EventKind = "login-failed" // a wrong class code
	EventBlocked     EventKind = "blocked"      // a login from an address over the failed-login limit
	EventShutdown    EventKind = "shutdown"     // the server is shutting down (Detail: why)
)

// Event is one thing that happened, for the instructor's log or dashboard.
type Event struct {
	Time   time.Time
	Kind   EventKind
	Name   string // the learner (SSH user) name, when known
	Addr   string // the client's address, when known
	Detail string
}

// String is the event as one log line: time, kind, then key=value pairs
// (values quoted when they hold spaces), e.g.
//
//	2026-12-02T03:04:05Z joined name=alice addr=10.0.0.7:51234
func (e Event) String() string {
	var b strings.Builder
	t := e.Time
	if t.IsZero() {
		t = time.Now()
	}
	b.WriteString(t.UTC().Format(time.RFC3339))
	b.WriteByte(' ')
	b.WriteString(string(e.Kind))
	for _, kv := range [][2]string{{"name", e.Name}, {"addr", e.Addr}, {"detail", e.Detail}} {
		if kv[1] == "" {
			continue
		}
		v := kv[1]
		if strings.ContainsAny(v, " \t\n\"=") || !strconv.CanBackquote(v) {
			v = strconv.Quote(v)
		}
		fmt.Fprintf(&b, " %s=%s", kv[0], v)
	}
	return b.String()
}

// event reports an event with the time set.
func (s *Server) event(e Event) {
	e.Time = time.Now()
	s.cfg.OnEvent(e)
}
