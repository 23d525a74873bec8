package lessons

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nslab/nslab/sandbox"
)

// Sandboxes are a lesson's sandboxes while a learner plays it: the lesson's
// own (Box), any further agents it starts, and the values it keeps between
// parts. A Session owns them; lesson logic receives them.
type Sandboxes struct {
	Lesson Lesson
	Engine *sandbox.Engine
	// Box is the lesson's sandbox, started from Logic.Spec by Start.
	Box *sandbox.Sandbox
	// OnEvent receives every trace event of every sandbox of the lesson.
	OnEvent func(sandbox.Event)

	mu      sync.Mutex
	others  []*sandbox.Sandbox
	vars    map[string]string
	atClose []func() error
}

// NewSandboxes prepares a run; nothing is started until Start.
func NewSandboxes(eng *sandbox.Engine, l Lesson, onEvent func(sandbox.Event)) *Sandboxes {
	return &Sandboxes{Lesson: l, Engine: eng, OnEvent: onEvent, vars: map[string]string{}}
}

func (r *Sandboxes) spec(s sandbox.Spec) sandbox.Spec {
	if s.Label == "" {
		s.Label = r.Lesson.ID
	}
	if r.OnEvent != nil {
		prev := s.OnEvent
		s.OnEvent = func(e sandbox.Event) {
			if prev != nil {
				prev(e)
			}
			r.OnEvent(e)
		}
	}
	return s
}

// Start starts the lesson's sandbox (Logic.Spec). Calling it twice is an
// error.
func (r *Sandboxes) Start(ctx context.Context) error {
	if r.Box != nil {
		return errors.New("lesson sandbox already started")
	}
	b, err := r.Engine.Start(ctx, r.spec(r.Lesson.Logic.Spec))
	if err != nil {
		return fmt.Errorf("lesson %s: %w", r.Lesson.ID, err)
	}
	r.Box = b
	return nil
}

// StartOther starts a further agent (the setns lesson's joiner, a host-side
// witness); it is closed with the run.
func (r *Sandboxes) StartOther(ctx context.Context, s sandbox.Spec) (*sandbox.Sandbox, error) {
	b, err := r.Engine.Start(ctx, r.spec(s))
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.others = append(r.others, b)
	r.mu.Unlock()
	return b, nil
}

// Set keeps a value between parts; Get reads it back.
func (r *Sandboxes) Set(key, val string) {
	r.mu.Lock()
	r.vars[key] = val
	r.mu.Unlock()
}

// Get reads a value kept with Set ("" when unset).
func (r *Sandboxes) Get(key string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.vars[key]
}

// Observe looks at both sides for the lesson's views (and always the
// namespace identities) and computes the diffs.
func (r *Sandboxes) Observe(ctx context.Context) (Observation, error) {
	if r.Box == nil {
		return Observation{}, errors.New("observe: the lesson's sandbox is not started")
	}
	views := r.Lesson.Views()
	sb, err := r.Box.Observe(ctx, views)
	if err != nil {
		return Observation{}, fmt.Errorf("observe the sandbox: %w", err)
	}
	host := r.Engine.ObserveHost(ctx, views)
	o := Observation{Host: host, Sandbox: sb, Diffs: sandbox.DiffAll(host, sb), Extra: map[string]string{},
		Confinement: r.Engine.ConfinementNote(), OnBehalf: r.HostOps()}
	if f := r.Lesson.Logic.Joiner; f != nil {
		if j, jviews := f(r); j != nil {
			js, err := j.Observe(ctx, jviews)
			if err != nil {
				return Observation{}, fmt.Errorf("observe the joiner: %w", err)
			}
			// Its namespaces as the host sees them in /proc/PID/ns, like
			// setns's facts read them.
			if js.Has(sandbox.ViewIDs) {
				if js.IDs, err = j.IDs(); err != nil {
					return Observation{}, fmt.Errorf("the joiner's namespaces: %w", err)
				}
			}
			o.Joiner = &js
		}
	}
	return o, nil
}

// AtClose registers f to run first when the sandboxes close: it ends
// what a lesson started in a sandbox on the learner's behalf (a process
// that outlives the command that started it, where the sandbox has no
// PID namespace whose end would take it along).
func (r *Sandboxes) AtClose(f func() error) {
	r.mu.Lock()
	r.atClose = append(r.atClose, f)
	r.mu.Unlock()
}

// Close closes every sandbox of the lesson. Idempotent.
func (r *Sandboxes) Close() error {
	r.mu.Lock()
	others, atClose := r.others, r.atClose
	r.others, r.atClose = nil, nil
	r.mu.Unlock()
	var errs []error
	for _, f := range atClose {
		errs = append(errs, f())
	}
	for _, o := range others {
		errs = append(errs, o.Close())
	}
	if r.Box != nil {
		errs = append(errs, r.Box.Close())
	}
	return errors.Join(errs...)
}

// Vars returns a copy of every value kept with Set.
func (r *Sandboxes) Vars() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]string, len(r.vars))
	for k, v := range r.vars {
		out[k] = v
	}
	return out
}

// Others returns the further agents started with StartOther, in order.
func (r *Sandboxes) Others() []*sandbox.Sandbox {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*sandbox.Sandbox(nil), r.others...)
}

// Events is the trace of the sandboxes so far: the lesson's sandbox
// first, then the others in the order they started.
func (r *Sandboxes) Events() []sandbox.Event {
	var out []sandbox.Event
	if r.Box != nil {
		out = append(out, r.Box.Events(0)...)
	}
	for _, o := range r.Others() {
		out = append(out, o.Events(0)...)
	}
	return out
}

// HostOps are the privileged operations the engine did on the host for
// the sandboxes so far (sandbox.Sandbox.HostOps): the lesson's sandbox's
// first, then the others' in the order they started.
func (r *Sandboxes) HostOps() []sandbox.HostOp {
	var out []sandbox.HostOp
	if r.Box != nil {
		out = append(out, r.Box.HostOps()...)
	}
	for _, o := range r.Others() {
		out = append(out, o.HostOps()...)
	}
	return out
}
