package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lessons/doctor"
	"github.com/nslab/nslab/sandbox"
)

func testApp() (*app, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	a := newApp()
	a.out, a.errOut = &out, &errb
	a.in = strings.NewReader("")
	return a, &out, &errb
}

// A panic while a sandbox is open is recovered, the sandbox closed (its
// agent gone), and reported as exit code 4 with a short message.
func TestWithEnginePanicClosesSandboxes(t *testing.T) {
	needRoot(t)
	a, _, errb := testApp()
	before := readHost(t)
	pid := 0
	err := a.withEngine(context.Background(), func(ctx context.Context, eng *sandbox.Engine) error {
		sb, err := eng.Start(ctx, sandbox.Spec{Flags: sandbox.CloneNewUTS, Label: "panic-test"})
		if err != nil {
			return err
		}
		if err := sb.SetHostname(ctx, "nslab-panic"); err != nil {
			return err
		}
		pid = sb.PID()
		panic("injected")
	})
	var pe panicError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v", err)
	}
	if pid == 0 {
		t.Fatal("the sandbox did not start")
	}
	if err := unix.Kill(pid, 0); !errors.Is(err, unix.ESRCH) {
		t.Errorf("agent %d survived the panic: %v", pid, err)
	}
	if code := a.report(err); code != exitInternal || !strings.Contains(errb.String(), "internal error: injected") ||
		!strings.Contains(errb.String(), "Every sandbox was closed") {
		t.Errorf("code %d, stderr %q", code, errb.String())
	}
	checkHostUnchanged(t, before)
}

func TestReportExitCodes(t *testing.T) {
	a, _, errb := testApp()
	for _, tc := range []struct {
		err  error
		code int
	}{
		{nil, exitOK},
		{withCode(exitFailed, errors.New("lesson uts did not pass")), exitFailed},
		{usageErrorf("bad"), exitUsage},
		{withCode(exitMachine, errSilent), exitMachine},
		{errors.New("something unexpected"), exitInternal},
		{signalError{sig: unix.SIGTERM}, 143},
		{signalError{sig: unix.SIGINT}, 130},
		{signalError{sig: unix.SIGHUP}, 129},
		{panicError{val: "boom"}, exitInternal},
	} {
		errb.Reset()
		if got := a.report(tc.err); got != tc.code {
			t.Errorf("%v: exit %d, want %d", tc.err, got, tc.code)
		}
		if tc.err != nil && errb.Len() == 0 && !errors.Is(tc.err, errSilent) {
			t.Errorf("%v: nothing said", tc.err)
		}
	}
	// A silent error says nothing more: the command already printed why.
	errb.Reset()
	a.report(withCode(exitMachine, errSilent))
	if errb.Len() != 0 {
		t.Errorf("silent error printed %q", errb.String())
	}
}

// An EPERM from the kernel becomes a message naming the missing
// capability and the ways out, never a bare EPERM.
func TestExplainEPERM(t *testing.T) {
	a, _, _ := testApp()
	ls := testCatalog(t)
	var net = ls[0]
	for _, l := range ls {
		if l.ID == "net" {
			net = l
		}
	}
	m := userVM()
	err := a.explainRunError(m, net, &sandbox.SyscallError{Op: "clone", Errno: "EPERM", Err: unix.EPERM})
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitMachine {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"CAP_SYS_ADMIN", "CAP_NET_ADMIN", "sudo nslab run net", "rootless lesson"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
	la := doctor.Assess(m, net)
	if la.Runnable() {
		t.Fatalf("net runnable for uid 1000: %+v", la)
	}
	msg = a.cannotRun(m, net, la).Error()
	for _, want := range []string{"cannot run as uid 1000", "CAP_NET_ADMIN", "sudo nslab run net", "without sudo: overview"} {
		if !strings.Contains(msg, want) {
			t.Errorf("cannotRun lacks %q: %s", want, msg)
		}
	}
}
