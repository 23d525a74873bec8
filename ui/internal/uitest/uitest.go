// Package uitest holds the ui's test fixtures: a deterministic lesson
// session, a fixed observation and trace, a small catalogue and an
// in-memory progress store. Only tests import it.
package uitest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"sync"
	"time"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// Session is a deterministic lesson session: fixed snapshots and
// events, a challenge that passes once "solved".
type Session struct {
	// Set before the ui uses the session:
	PanicInObserve bool            // Observe panics
	PerformErr     error           // Perform fails with it
	PerformWait    chan struct{}   // if set, Perform waits for it
	ExtraEvents    []sandbox.Event // Perform adds them after Events()
	Confinement    string          // ConfinementNote: a class learner's session

	mu        sync.Mutex
	lesson    lessons.Lesson
	index     int
	performed bool
	solved    bool
	closed    int
	observes  int
	obs       lessons.Observation
	events    []sandbox.Event
}

// NewSession is a session of l whose observations have 5 host processes
// and 6 mounts.
func NewSession(l lessons.Lesson) *Session {
	return &Session{lesson: l, obs: Observation(5, 6)}
}

// SetObservation makes o what Observe returns from now on.
func (f *Session) SetObservation(o lessons.Observation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.obs = o
}

// Observes is how many observations were made.
func (f *Session) Observes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.observes
}

func (f *Session) Lesson() lessons.Lesson { return f.lesson }
func (f *Session) Part() lessons.Part {
	f.mu.Lock()
	defer f.mu.Unlock()
	return lessons.Parts()[f.index]
}
func (f *Session) Index() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.index
}
func (f *Session) Next() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.index >= len(lessons.Parts())-1 {
		return false
	}
	f.index++
	return true
}
func (f *Session) Prev() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.index == 0 {
		return false
	}
	f.index--
	return true
}
func (f *Session) Goto(p lessons.Part) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, q := range lessons.Parts() {
		if q == p {
			f.index = i
			return true
		}
	}
	return false
}
func (f *Session) Perform(ctx context.Context) error {
	if f.PerformWait != nil {
		select {
		case <-f.PerformWait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.performed = true
	if f.PerformErr != nil {
		return f.PerformErr
	}
	f.events = append(Events(), f.ExtraEvents...)
	return nil
}
func (f *Session) Performed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.performed
}
func (f *Session) Observe(ctx context.Context) (lessons.Observation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.PanicInObserve {
		panic("fake observe exploded")
	}
	if !f.performed {
		return lessons.Observation{}, lessons.ErrNotPerformed
	}
	f.observes++
	return f.obs, nil
}
func (f *Session) Facts(o lessons.Observation) []lessons.Fact {
	return []lessons.Fact{
		{Text: "the sandbox has its own uts namespace", OK: true, Got: "uts:[4026532201]"},
		{Text: "the host kept its hostname", OK: true, Got: o.Host.Hostname},
	}
}
func (f *Session) Answer(choice int, o lessons.Observation) (bool, int, string) {
	if answer := f.lesson.Logic.Answer; answer != nil {
		right, why := answer(o)
		return choice == right, right, why
	}
	return choice == 1, 1, "the sandbox reads " + o.Sandbox.Hostname + ", the host still " + o.Host.Hostname
}
func (f *Session) Check(ctx context.Context) (bool, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.performed {
		return false, "", lessons.ErrNotPerformed
	}
	if f.solved {
		return true, "hostname lab, domain nslab.test", nil
	}
	return false, "hostname is still box", nil
}
func (f *Session) Solve(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.solved = true
	return nil
}
func (f *Session) ShellCommand() (*exec.Cmd, error) {
	return nil, errors.New("no shell in the fake")
}
func (f *Session) Events() []sandbox.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sandbox.Event(nil), f.events...)
}
func (f *Session) ConfinementNote() string { return f.Confinement }
func (f *Session) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed++
	return nil
}
func (f *Session) ClosedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

var FixedTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func nsid(ino uint64) sandbox.NSID { return sandbox.NSID{Dev: 4, Ino: ino} }

// Observation is a uts lesson's observation with hostProcs processes
// and mounts mounts on the host.
func Observation(hostProcs, mounts int) lessons.Observation {
	kinds := []string{"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts"}
	hostIDs, sbIDs := sandbox.IDs{}, sandbox.IDs{}
	for i, k := range kinds {
		hostIDs[k] = nsid(4026531835 + uint64(i))
		sbIDs[k] = nsid(4026531835 + uint64(i))
	}
	sbIDs["uts"] = nsid(4026532201)
	host := sandbox.Snapshot{Side: "host", PID: 1, Taken: FixedTime, IDs: hostIDs, Hostname: "devbox", Domainname: "(none)"}
	sb := sandbox.Snapshot{Side: "sandbox", PID: 4242, Taken: FixedTime, IDs: sbIDs, Hostname: "lab", Domainname: "(none)"}
	comms := []string{"systemd", "sshd", "bash", "cron", "journald", "udevd", "nslab"}
	for i := 0; i < hostProcs; i++ {
		pid := i + 1
		host.Procs = append(host.Procs, sandbox.Proc{HostPID: pid, PID: pid, PPID: max(pid-1, 0), NSpid: []int{pid}, Comm: comms[i%len(comms)]})
	}
	sb.Procs = append(sb.Procs, sandbox.Proc{HostPID: 4242, PID: 1, NSpid: []int{4242, 1}, Comm: "nslab"})
	host.Procs = append(host.Procs, sandbox.Proc{HostPID: 4242, PID: 4242, PPID: 1, NSpid: []int{4242, 1}, Comm: "nslab"})
	for i := 0; i < mounts; i++ {
		m := sandbox.Mount{ID: 20 + i, Parent: 1, Mountpoint: fmt.Sprintf("/mnt/m%03d", i), FSType: "tmpfs", Source: "tmpfs", Propagation: "private"}
		if i == 0 {
			m.Mountpoint, m.FSType, m.Source = "/", "ext4", "/dev/sda1"
		}
		host.Mounts = append(host.Mounts, m)
		sb.Mounts = append(sb.Mounts, m)
	}
	sb.Mounts = append(sb.Mounts, sandbox.Mount{ID: 900, Parent: 20, Mountpoint: "/tmp/lab", FSType: "tmpfs", Source: "tmpfs", Propagation: "private"})
	host.Links = []sandbox.Link{{Index: 1, Name: "lo", Type: "loopback", State: "UP", Addrs: []string{"127.0.0.1/8"}}, {Index: 2, Name: "eth0", Type: "device", State: "UP", Addrs: []string{"10.0.0.5/24"}}}
	sb.Links = host.Links
	views := []sandbox.View{sandbox.ViewIDs, sandbox.ViewUTS, sandbox.ViewPIDs, sandbox.ViewMount, sandbox.ViewNet}
	host.Views, sb.Views = views, views
	return lessons.Observation{Host: host, Sandbox: sb, Diffs: sandbox.DiffAll(host, sb), Extra: map[string]string{}}
}

// WithHostname is o with the sandbox's hostname row saying name: a
// refresh that observed the learner's hostname command. o is not changed.
func WithHostname(o lessons.Observation, name string) lessons.Observation {
	o.Diffs = maps.Clone(o.Diffs)
	ds := slices.Clone(o.Diffs[sandbox.ViewUTS])
	for i := range ds {
		if ds[i].Key == "hostname" {
			ds[i].Sandbox = name
		}
	}
	o.Diffs[sandbox.ViewUTS] = ds
	return o
}

func Events() []sandbox.Event {
	return []sandbox.Event{
		{Seq: 1, Time: FixedTime, Syscall: "clone3", Args: []string{"{flags=0}"}, Ret: 4242, PID: 4000, TID: 4000, Note: "the agent starts, sharing every namespace"},
		{Seq: 2, Time: FixedTime, Syscall: "unshare", Args: []string{"CLONE_NEWUTS"}, Ret: 0, PID: 4242, TID: 4242, Kind: "uts", Before: nsid(4026531838), After: nsid(4026532201)},
		{Seq: 3, Time: FixedTime, Syscall: "sethostname", Args: []string{`"lab"`, "3"}, Ret: 0, PID: 4242, TID: 4242},
		{Seq: 4, Time: FixedTime, Syscall: "setns", Args: []string{"7", "CLONE_NEWNET"}, Ret: -1, Errno: "EPERM", PID: 4242, TID: 4242},
	}
}

// Lessons is a small catalogue with the uts lesson's text and fake
// logic (prediction, challenge) for the ui's tests.
func Lessons() []lessons.Lesson {
	md := `# UTS namespaces

## Concept: one kernel, two hostnames

A **UTS namespace** isolates two strings the kernel keeps: the *hostname*
and the *NIS domain name* (` + "`uname -n`" + `, ` + "`domainname`" + `).

` + "```c\nint unshare(int flags);\n```" + `

- ` + "`flags`" + `: a bit mask of what to stop sharing. ` + "`CLONE_NEWUTS`" + ` asks for a
  new UTS namespace, initialised as a **copy** of the caller's.

| flag | isolates |
|---|---|
| ` + "`CLONE_NEWUTS`" + ` | hostname and NIS domain name |
| ` + "`CLONE_NEWPID`" + ` | process IDs |

## Predict

nslab is about to call ` + "`unshare(CLONE_NEWUTS)`" + ` and then ` + "`sethostname(\"lab\")`" + `.

## Perform

The agent calls ` + "`unshare(2)`" + ` on its main thread, then ` + "`sethostname(2)`" + `.

## Observe

Compare the two columns: only the ` + "`uts`" + ` row differs.

## Experiment

Open a shell inside the sandbox and try ` + "`hostname`" + `.

## Challenge

Give the sandbox the hostname ` + "`lab`" + `.

## Recap

- ` + "`CLONE_NEWUTS`" + ` isolates the hostname and the NIS domain name.
`
	sections, err := lessons.ParseSections(md)
	if err != nil {
		panic(err) // the text above is fixed
	}
	uts := lessons.Lesson{
		Meta:     lessons.Meta{ID: "uts", Number: 2, Title: "UTS namespaces: a hostname of your own", Summary: "unshare(CLONE_NEWUTS), then sethostname inside", Syscalls: []string{"unshare", "sethostname"}, Kinds: []string{"uts"}, Minutes: 8, ManPages: []string{"uts_namespaces(7)", "unshare(2)"}, Command: "unshare --uts sh -c 'hostname lab; hostname'"},
		Sections: sections,
		Prediction: lessons.Prediction{
			Question: "After sethostname(\"lab\") in the sandbox, what does the host's hostname read?",
			Choices:  []string{"lab: there is one hostname", "its old name: the sandbox changed a copy", "nothing: the call fails"},
		},
		Challenge: lessons.Challenge{
			Task:     "Give the sandbox the hostname lab and the NIS domain name nslab.test.",
			Hints:    []string{"hostname NAME sets the hostname.", "domainname NAME sets the NIS domain name."},
			Solution: []string{"hostname lab", "domainname nslab.test"},
		},
		Experiments: []string{"hostname", "readlink /proc/$$/ns/uts"},
		Logic: lessons.Logic{
			Views: []sandbox.View{sandbox.ViewUTS, sandbox.ViewPIDs, sandbox.ViewMount, sandbox.ViewNet},
			// The second choice as written; Lesson.Shuffled moves it.
			Answer: func(o lessons.Observation) (int, string) {
				return 1, "the sandbox reads " + o.Sandbox.Hostname + ", the host still " + o.Host.Hostname
			},
		},
	}
	overview := lessons.Lesson{Meta: lessons.Meta{ID: "overview", Number: 1, Title: "Namespaces: an overview", Summary: "what a namespace is", Syscalls: []string{"clone"}, Kinds: []string{"uts", "pid"}, Minutes: 5}}
	pid := lessons.Lesson{Meta: lessons.Meta{ID: "pid", Number: 3, Title: "PID namespaces: PID 1 again", Summary: "clone(CLONE_NEWPID)", Syscalls: []string{"clone"}, Kinds: []string{"pid"}, Minutes: 10}}
	net := lessons.Lesson{Meta: lessons.Meta{ID: "net", Number: 5, Title: "Network namespaces: a stack of your own", Summary: "veth pairs", Syscalls: []string{"clone", "setns"}, Kinds: []string{"net"}, Minutes: 12}}
	return []lessons.Lesson{overview, uts, pid, net}
}

// Store is an in-memory ProgressStore.
type Store struct {
	// Set before use:
	Warning string // Load's warning
	LoadErr error  // Load fails with it
	SaveErr error  // Save fails with it

	mu    sync.Mutex
	p     lessons.Progress
	saves int
}

// NewStore is a store holding p.
func NewStore(p lessons.Progress) *Store { return &Store{p: p} }

// Saves is how many times Save was called.
func (s *Store) Saves() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saves
}

func (s *Store) Load() (lessons.Progress, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p.Lessons == nil {
		s.p = lessons.NewProgress()
	}
	p := s.p
	p.Lessons = maps.Clone(s.p.Lessons)
	return p, s.Warning, s.LoadErr
}

func (s *Store) Save(p lessons.Progress) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saves++
	if s.SaveErr != nil {
		return s.SaveErr
	}
	s.p = p
	return nil
}

// Get is what the store holds for lesson id.
func (s *Store) Get(id string) lessons.LessonProgress {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.p.Get(id)
}
