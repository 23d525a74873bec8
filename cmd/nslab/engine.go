package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/nslab/nslab/sandbox"
)

// signalGrace is how long a lesson gets, after a signal closed its
// sandboxes, to finish its output. It never waits longer: the lesson may be
// blocked reading the learner's stdin, which no signal interrupts.
const signalGrace = 2 * time.Second

// withEngine runs fn with a new sandbox engine and closes the engine
// afterwards, whatever happens. SIGINT, SIGTERM and SIGHUP (the terminal
// closed) cancel fn's context and close the engine, and with it every
// sandbox, at once; withEngine then returns a signalError. A panic in fn is
// recovered, the engine closed, and returned as a panicError.
func (a *app) withEngine(ctx context.Context, fn func(ctx context.Context, eng *sandbox.Engine) error) error {
	eng, err := sandbox.NewEngine()
	if err != nil {
		return withCode(exitInternal, fmt.Errorf("start the sandbox engine: %w", err))
	}
	a.track(eng)
	defer eng.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				// Close here too: the caller may be gone already.
				eng.Close()
				done <- panicError{val: r, stack: debug.Stack()}
			}
		}()
		done <- fn(ctx, eng)
	}()
	select {
	case err := <-done:
		return err
	case s := <-sigs:
		cancel()
		eng.Close()
		select {
		case <-done:
		case <-sigs: // a second signal: stop waiting
		case <-time.After(signalGrace):
		}
		sig, _ := s.(syscall.Signal)
		return signalError{sig: sig}
	}
}
