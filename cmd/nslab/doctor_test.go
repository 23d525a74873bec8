package main

import (
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/doctor/doctortest"
	"github.com/nslab/nslab/sandbox"
)

// The doctor's decisions are tested in lessons/doctor on doctortest's
// fixture machines; here only what cmd adds: the exit code.
func TestDiagnoseExitCode(t *testing.T) {
	ls := doctortest.Catalog(t)
	if r := diagnose(doctortest.Root(), ls); !r.OK || r.ExitCode != exitOK {
		t.Errorf("root VM: ok %v exit %d: %s", r.OK, r.ExitCode, r.Summary)
	}
	// Every lesson runs in some way (rootless or with sudo): exit 0.
	if r := diagnose(doctortest.RootlessAllowed(), ls); r.ExitCode != exitOK {
		t.Errorf("uid 1000 with user namespaces: exit %d: %s", r.ExitCode, r.Summary)
	}
	blocked := doctortest.Root()
	blocked.Probes = doctortest.Probes(doctortest.AttemptEPERM(), doctortest.AttemptEPERM())
	if r := diagnose(blocked, ls); r.OK || r.ExitCode != exitMachine {
		t.Errorf("root refused every clone: ok %v exit %d: %s", r.OK, r.ExitCode, r.Summary)
	}
}

// testCatalog and userVM serve the CLI's message tests (engine_test.go).
func testCatalog(t *testing.T) []lessons.Lesson { return doctortest.Catalog(t) }

func userVM() sandbox.Machine { return doctortest.RootlessAllowed() }
