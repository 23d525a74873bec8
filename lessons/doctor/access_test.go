package doctor

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/nslab/nslab/lessons/doctor/doctortest"
	"github.com/nslab/nslab/sandbox"
)

// The machines are doctortest's fixtures.

func accessOf(r Report) map[string]LessonAccess {
	out := map[string]LessonAccess{}
	for _, la := range r.Lessons {
		out[la.ID] = la
	}
	return out
}

func TestDiagnoseFixtures(t *testing.T) {
	ls := doctortest.Catalog(t)
	rootless := map[string]bool{}
	for _, l := range ls {
		rootless[l.ID] = l.Rootless
	}
	if rootless["net"] || !rootless["uts"] {
		t.Fatalf("the fixtures assume net needs root and uts does not: %v", rootless)
	}

	t.Run("root", func(t *testing.T) {
		r := Diagnose(doctortest.Root(), ls)
		if !r.OK || len(Locks(doctortest.Root(), ls)) != 0 {
			t.Fatalf("%+v", r.Summary)
		}
		for id, la := range accessOf(r) {
			if la.Access != AccessRoot {
				t.Errorf("%s: %s", id, la.Access)
			}
		}
	})
	t.Run("user with user namespaces", func(t *testing.T) {
		m := doctortest.RootlessAllowed()
		r := Diagnose(m, ls)
		if !r.OK {
			t.Errorf("every lesson runs in some way, yet not OK: %s", r.Summary)
		}
		acc := accessOf(r)
		for id, rl := range rootless {
			want := AccessRootless
			if !rl {
				want = AccessNeedsRoot
			}
			if acc[id].Access != want {
				t.Errorf("%s: %s, want %s (%s)", id, acc[id].Access, want, acc[id].Why)
			}
		}
		locks := Locks(m, ls)
		var needRoot []string
		for _, l := range ls {
			if !l.Rootless {
				needRoot = append(needRoot, l.ID)
				if !strings.Contains(locks[l.ID], "sudo nslab run "+l.ID) {
					t.Errorf("lock of %s: %q", l.ID, locks[l.ID])
				}
			}
		}
		if len(locks) != len(needRoot) {
			t.Errorf("locks %v, want only %v", locks, needRoot)
		}
		if !strings.Contains(r.Summary, "With sudo: "+strings.Join(needRoot, ", ")+".") {
			t.Errorf("summary %q", r.Summary)
		}
	})
	t.Run("user without user namespaces", func(t *testing.T) {
		m := doctortest.RootlessDenied()
		r := Diagnose(m, ls)
		for id, la := range accessOf(r) {
			if la.Access != AccessNeedsRoot || !strings.Contains(la.Why, "sudo") {
				t.Errorf("%s: %s (%s)", id, la.Access, la.Why)
			}
		}
		if r.OK {
			t.Errorf("nothing runs for this user, yet OK: %s", r.Summary)
		}
		if len(Locks(m, ls)) != len(ls) {
			t.Errorf("locks %v", Locks(m, ls))
		}
	})
	t.Run("unprivileged docker", func(t *testing.T) {
		m := doctortest.DockerNoCaps()
		r := Diagnose(m, ls)
		if r.OK {
			t.Fatalf("OK: %s", r.Summary)
		}
		for id, la := range accessOf(r) {
			if la.Access != AccessBlocked {
				t.Errorf("%s: %s", id, la.Access)
			}
		}
		var out bytes.Buffer
		r.WriteText(&out)
		text := out.String()
		for _, want := range []string{"inside docker", "CAP_SYS_ADMIN", "--privileged", "--cap-add SYS_ADMIN",
			"--security-opt seccomp=unconfined", "--security-opt apparmor=unconfined", "✗", "Blocked on this machine"} {
			if !strings.Contains(text, want) {
				t.Errorf("doctor in an unprivileged container lacks %q:\n%s", want, text)
			}
		}
	})
	t.Run("time namespaces refused", func(t *testing.T) {
		m := doctortest.ZeroLimit(doctortest.Root(), "time")
		r := Diagnose(m, ls)
		acc := accessOf(r)
		if acc["time"].Access != AccessBlocked || !strings.Contains(acc["time"].Why, "user.max_time_namespaces") {
			t.Errorf("time: %+v", acc["time"])
		}
		if acc["uts"].Access != AccessRoot || r.OK {
			t.Errorf("uts %s, ok %v", acc["uts"].Access, r.OK)
		}
		// Exactly the lessons that make a time namespace are locked.
		locks := Locks(m, ls)
		for _, l := range ls {
			if (locks[l.ID] != "") != slices.Contains(l.Kinds, "time") {
				t.Errorf("%s (kinds %v) locked %v: %v", l.ID, l.Kinds, locks[l.ID] != "", locks)
			}
		}
		if locks["time"] == "" || len(locks) >= len(ls) {
			t.Errorf("locks %v", locks)
		}
	})
}

// Every line of the text report is a check or a lesson, and every failed
// check carries its fix right under it.
func TestPrintDoctorFixUnderEveryFailure(t *testing.T) {
	ls := doctortest.Catalog(t)
	for name, m := range map[string]sandbox.Machine{"docker": doctortest.DockerNoCaps(), "user": doctortest.RootlessDenied(), "time": doctortest.ZeroLimit(doctortest.Root(), "time")} {
		r := Diagnose(m, ls)
		var out bytes.Buffer
		r.WriteText(&out)
		lines := strings.Split(out.String(), "\n")
		failed := 0
		for i, l := range lines {
			if strings.HasPrefix(l, "✗ ") && !strings.Contains(l, " blocked") {
				failed++
				if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "    fix: ") {
					t.Errorf("%s: no fix under %q", name, l)
				}
			}
		}
		if failed == 0 && name != "user" {
			t.Errorf("%s: no ✗ line:\n%s", name, out.String())
		}
	}
}

func TestLessonFlagsIncludeMetaKinds(t *testing.T) {
	for _, l := range doctortest.Catalog(t) {
		f := LessonFlags(l)
		for _, k := range l.Kinds {
			kind, err := sandbox.KindByName(k)
			if err != nil {
				t.Fatalf("%s: %v", l.ID, err)
			}
			if f&kind.Flag == 0 {
				t.Errorf("%s: %s missing from %s", l.ID, k, sandbox.FlagString(f))
			}
		}
		if f&l.Logic.Spec.Flags != l.Logic.Spec.Flags {
			t.Errorf("%s: spec flags missing", l.ID)
		}
	}
}
