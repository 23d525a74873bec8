package lessons

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/sandbox/userfs"
)

func sampleProgress() Progress {
	p := NewProgress()
	p.Mark("uts", StatusInProgress, PartObserve)
	p.RecordPrediction("uts", true)
	p.Mark("pid", StatusDone, PartRecap)
	p.RecordChallenge("pid", true, 2)
	return p
}

func progressEqual(t *testing.T, got, want Progress) {
	t.Helper()
	a, err := EncodeProgress(got)
	if err != nil {
		t.Fatal(err)
	}
	b, err := EncodeProgress(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("progress differs:\n got %s\nwant %s", a, b)
	}
}

func TestProgressMarkKeepsDone(t *testing.T) {
	p := NewProgress()
	if got := p.Get("uts").Status; got != StatusNotStarted {
		t.Fatalf("untouched lesson: %q", got)
	}
	p.Mark("uts", StatusDone, PartRecap)
	p.Mark("uts", StatusInProgress, PartConcept)
	if lp := p.Get("uts"); lp.Status != StatusDone || lp.Part != PartConcept {
		t.Fatalf("revisiting a done lesson: %+v", lp)
	}
	p.Reset("uts")
	if got := p.Get("uts").Status; got != StatusNotStarted {
		t.Fatalf("after Reset: %q", got)
	}
	p.Mark("a", StatusDone, "")
	p.Mark("b", StatusInProgress, "")
	if p.Done() != 1 {
		t.Fatalf("Done() = %d", p.Done())
	}
	p.ResetAll()
	if len(p.Lessons) != 0 {
		t.Fatalf("after ResetAll: %v", p.Lessons)
	}
}

func TestProgressSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state", "nslab", "progress.json")
	p, warn, err := LoadProgress(path)
	if err != nil || warn != "" || len(p.Lessons) != 0 {
		t.Fatalf("missing file: %v %q %v", p, warn, err)
	}
	want := sampleProgress()
	if err := SaveProgress(path, want); err != nil {
		t.Fatal(err)
	}
	got, warn, err := LoadProgress(path)
	if err != nil || warn != "" {
		t.Fatalf("load: %q %v", warn, err)
	}
	progressEqual(t, got, want)
	if !got.Get("uts").Updated.Equal(want.Get("uts").Updated) {
		t.Fatalf("time changed: %v vs %v", got.Get("uts").Updated, want.Get("uts").Updated)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
	for _, d := range []string{filepath.Dir(path), filepath.Dir(filepath.Dir(path))} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s mode %v: readable by others", d, fi.Mode().Perm())
		}
	}
}

// An atomic save replaces the file by rename: a reader holding the old
// file keeps its complete old contents, the path shows the complete new
// ones, and no temporary file is left.
func TestProgressSaveAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "progress.json")
	old := sampleProgress()
	if err := SaveProgress(path, old); err != nil {
		t.Fatal(err)
	}
	oldBytes, _ := os.ReadFile(path)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var before, after unix.Stat_t
	if err := unix.Stat(path, &before); err != nil {
		t.Fatal(err)
	}
	next := old
	next.Lessons = map[string]LessonProgress{}
	next.Mark("net", StatusDone, PartRecap)
	if err := SaveProgress(path, next); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(path, &after); err != nil {
		t.Fatal(err)
	}
	if before.Ino == after.Ino {
		t.Errorf("the file was rewritten in place (inode %d), not replaced", after.Ino)
	}
	var held bytes.Buffer
	if _, err := held.ReadFrom(f); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(held.Bytes(), oldBytes) {
		t.Errorf("the old file changed under its reader")
	}
	got, _, err := LoadProgress(path)
	if err != nil {
		t.Fatal(err)
	}
	progressEqual(t, got, next)
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("left in the directory: %v", names)
	}

	// A record that cannot be encoded leaves the old file as it was.
	bad := NewProgress()
	bad.Lessons["../etc"] = LessonProgress{Status: StatusDone}
	if err := SaveProgress(path, bad); !errors.Is(err, ErrProgressCorrupt) {
		t.Fatalf("bad record saved: %v", err)
	}
	got, _, _ = LoadProgress(path)
	progressEqual(t, got, next)
}

func corruptFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.Contains(e.Name(), ".corrupt-") {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestProgressBadFilesMovedAside(t *testing.T) {
	good, err := EncodeProgress(sampleProgress())
	if err != nil {
		t.Fatal(err)
	}
	huge := append([]byte(`{"version":1,"lessons":{}`), bytes.Repeat([]byte(" "), MaxProgressSize)...)
	huge = append(huge, '}')
	cases := []struct {
		name  string
		make  func(t *testing.T, path string)
		words string // in the warning
	}{
		{"corrupt", func(t *testing.T, p string) { write(t, p, []byte("{not json")) }, "not valid"},
		{"truncated", func(t *testing.T, p string) { write(t, p, good[:len(good)/2]) }, "not valid"},
		{"empty", func(t *testing.T, p string) { write(t, p, nil) }, "empty"},
		{"trailing", func(t *testing.T, p string) { write(t, p, append(append([]byte{}, good...), "{}"...)) }, "not valid"},
		{"bad-status", func(t *testing.T, p string) {
			write(t, p, []byte(`{"version":1,"lessons":{"uts":{"status":"maybe"}}}`))
		}, "not valid"},
		{"old-version", func(t *testing.T, p string) { write(t, p, []byte(`{"version":0,"lessons":{}}`)) }, "not valid"},
		{"huge", func(t *testing.T, p string) { write(t, p, huge) }, "bigger than"},
		{"future", func(t *testing.T, p string) {
			write(t, p, []byte(`{"version":7,"lessons":[{"id":"uts","parts":{}}]}`))
		}, "newer nslab"},
		{"directory", func(t *testing.T, p string) {
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
		{"fifo", func(t *testing.T, p string) {
			if err := unix.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "progress.json")
			tc.make(t, path)
			done := make(chan struct{})
			var p Progress
			var warn string
			go func() {
				defer close(done)
				p, warn, err = LoadProgress(path)
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("LoadProgress hung")
			}
			if err != nil {
				t.Fatalf("error instead of a warning: %v", err)
			}
			if !strings.Contains(warn, tc.words) || !strings.Contains(warn, "moved it to") {
				t.Errorf("warning %q lacks %q", warn, tc.words)
			}
			if len(p.Lessons) != 0 || p.Version != ProgressVersion {
				t.Errorf("progress after a bad file: %+v", p)
			}
			if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the bad file is still at %s: %v", path, err)
			}
			if c := corruptFiles(t, dir); len(c) != 1 {
				t.Errorf("moved-aside files: %v", c)
			}
			// A fresh save works afterwards.
			if err := SaveProgress(path, sampleProgress()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A symlink at the file is refused with what to do: nothing is read
// through it, moved or written, and the caller keeps its progress in
// memory. (Directories on the way: sandbox/userfs and cmd/nslab's tests.)
func TestProgressSymlinkRefused(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	good, _ := EncodeProgress(sampleProgress())
	write(t, target, good)
	path := filepath.Join(dir, "progress.json")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	p, warn, err := LoadProgress(path)
	if !errors.Is(err, userfs.ErrSymlink) || !strings.Contains(err.Error(), "kept in memory") || !strings.Contains(err.Error(), "rm "+path) {
		t.Fatalf("err = %v", err)
	}
	if warn != "" || len(p.Lessons) != 0 {
		t.Fatalf("warning %q, progress %+v", warn, p)
	}
	if c := corruptFiles(t, dir); len(c) != 0 {
		t.Fatalf("moved aside: %v", c)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link was touched: %v %v", fi, err)
	}
	if b, err := os.ReadFile(target); err != nil || !bytes.Equal(b, good) {
		t.Errorf("the link's target changed: %v", err)
	}
	// Saving replaces the link itself with a regular file, never writing
	// through it.
	if err := SaveProgress(path, NewProgress()); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(path); !fi.Mode().IsRegular() {
		t.Errorf("save left %v at the path", fi.Mode())
	}
	if b, _ := os.ReadFile(target); !bytes.Equal(b, good) {
		t.Errorf("save wrote through the symlink")
	}
}

// A state directory that cannot be created gives an error saying what to
// do, and leaves no file behind.
func TestProgressUnwritableDir(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "state")
	write(t, blocker, []byte("a file where the directory should be"))
	path := filepath.Join(blocker, "nslab", "progress.json")
	err := SaveProgress(path, sampleProgress())
	if !errors.Is(err, userfs.ErrNotDir) || !strings.Contains(err.Error(), blocker+" is a regular file, not a directory") || !strings.Contains(err.Error(), "mv "+blocker) {
		t.Fatalf("err = %v", err)
	}
	// Read-only: /proc/sys refuses to create files even for root.
	err = SaveProgress("/proc/sys/nslab-test/progress.json", sampleProgress())
	if err == nil || !strings.Contains(err.Error(), "XDG_STATE_HOME") && !strings.Contains(err.Error(), "check the directory") {
		t.Fatalf("err = %v", err)
	}
}

func TestProgressPath(t *testing.T) {
	t.Setenv("SUDO_UID", "")
	t.Setenv("SUDO_GID", "")
	t.Setenv("SUDO_USER", "")
	t.Setenv("XDG_STATE_HOME", "/xdg/state")
	if p, err := ProgressPath(); err != nil || p != "/xdg/state/nslab/progress.json" {
		t.Fatalf("XDG: %q %v", p, err)
	}
	t.Setenv("XDG_STATE_HOME", "relative/state") // invalid per the XDG spec
	t.Setenv("HOME", "/home/learner")
	if p, err := ProgressPath(); err != nil || p != "/home/learner/.local/state/nslab/progress.json" {
		t.Fatalf("HOME: %q %v", p, err)
	}
	t.Setenv("XDG_STATE_HOME", "")
	os.Unsetenv("HOME")
	p, err := ProgressPath()
	if !errors.Is(err, ErrNoHome) || !strings.Contains(err.Error(), "set HOME") {
		t.Fatalf("HOME unset: %q %v", p, err)
	}
	t.Setenv("XDG_STATE_HOME", "/xdg")
	if p, err := ProgressPath(); err != nil || p != "/xdg/nslab/progress.json" {
		t.Fatalf("HOME unset, XDG set: %q %v", p, err)
	}
}

func TestProgressPathUnderSudo(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("sudo is recognised only with euid 0; this test runs as uid", os.Geteuid())
	}
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/root")
	t.Setenv("SUDO_USER", "nobody")
	t.Setenv("SUDO_UID", "65534")
	t.Setenv("SUDO_GID", "65534")
	p, err := ProgressPath()
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(p, "/root") || !strings.HasSuffix(p, "/.local/state/nslab/progress.json") {
		t.Fatalf("under sudo the path is %q, want nobody's home", p)
	}
	t.Setenv("SUDO_USER", "no-such-user-nslab")
	if _, err := ProgressPath(); !errors.Is(err, userfs.ErrInvoker) || !strings.Contains(err.Error(), "kept in memory") {
		t.Fatalf("SUDO_USER naming another user than SUDO_UID: %v", err)
	}
	t.Setenv("SUDO_USER", "")
	t.Setenv("SUDO_UID", "not-a-number")
	if _, err := ProgressPath(); !errors.Is(err, userfs.ErrInvoker) {
		t.Fatalf("bad SUDO_UID: %v", err)
	}
}

// Under sudo every file and directory nslab creates in the learner's home
// belongs to the learner (their credentials made it), what existed keeps
// its owner, and a directory the learner could not write refuses root too.
func TestProgressSudoOwnership(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("acting as another user needs root; this test runs as uid", os.Geteuid())
	}
	const nobody = 65534
	t.Setenv("SUDO_USER", "")
	t.Setenv("SUDO_UID", "65534")
	t.Setenv("SUDO_GID", "65534")
	base, err := os.MkdirTemp("", "nslab-progress-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	// root's own 0700 directory: root could write it, the learner not.
	rootOnly := filepath.Join(base, "R")
	if err := os.Mkdir(rootOnly, 0o700); err != nil {
		t.Fatal(err)
	}
	err = SaveProgress(filepath.Join(rootOnly, "nslab", "progress.json"), sampleProgress())
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "as nobody (uid 65534)") {
		t.Errorf("save into root's 0700 directory: %v", err)
	}
	if ents, _ := os.ReadDir(rootOnly); len(ents) != 0 {
		t.Errorf("root's directory got %v", ents)
	}
	home := filepath.Join(base, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(home, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(home, ".local", "state", "nslab", "progress.json")
	if err := SaveProgress(path, sampleProgress()); err != nil {
		t.Fatal(err)
	}
	// Saving twice exercises the replace path as well as the create path.
	if err := SaveProgress(path, sampleProgress()); err != nil {
		t.Fatal(err)
	}
	owner := func(p string) (uint32, uint32, os.FileMode) {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		return st.Uid, st.Gid, os.FileMode(st.Mode & 0o777)
	}
	for _, p := range []string{path, filepath.Dir(path), filepath.Join(home, ".local", "state"), filepath.Join(home, ".local")} {
		uid, gid, mode := owner(p)
		if uid != nobody || gid != nobody {
			t.Errorf("%s owned by %d:%d, want %d:%d", p, uid, gid, nobody, nobody)
		}
		if mode&0o022 != 0 {
			t.Errorf("%s mode %v: writable by others", p, mode)
		}
	}
	if uid, _, _ := owner(home); uid != nobody {
		t.Errorf("the existing home changed owner to %d", uid)
	}
	// A corrupt file moved aside keeps its owner: rename never makes root
	// the owner of anything.
	write(t, path, []byte("junk"))
	if err := os.Chown(path, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	if _, warn, err := LoadProgress(path); err != nil || warn == "" {
		t.Fatalf("%q %v", warn, err)
	}
	for _, c := range corruptFiles(t, filepath.Dir(path)) {
		if uid, _, _ := owner(filepath.Join(filepath.Dir(path), c)); uid != nobody {
			t.Errorf("%s owned by %d", c, uid)
		}
	}
}

func TestDecodeProgressTimes(t *testing.T) {
	// An offset is read as the same instant in UTC.
	p, err := DecodeProgress([]byte(`{"version":1,"lessons":{"uts":{"status":"done","updated":"2026-01-02T03:04:05+02:00"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Get("uts").Updated; got.Location() != time.UTC || got.Hour() != 1 {
		t.Fatalf("time %v", got)
	}
	// Year 1 pushed below by an offset cannot be written back: refused.
	if _, err := DecodeProgress([]byte(`{"version":1,"lessons":{"uts":{"status":"done","updated":"0001-01-01T00:00:00+01:00"}}}`)); !errors.Is(err, ErrProgressCorrupt) {
		t.Fatalf("err = %v", err)
	}
}

// TestProgressPartKept: the part the learner was at survives a save and
// a load, and a file written before parts were kept (no "part") still
// loads, with no part, so the lesson opens at its beginning.
func TestProgressPartKept(t *testing.T) {
	p := NewProgress()
	p.Mark("uts", StatusInProgress, PartExperiment)
	b, err := EncodeProgress(p)
	if err != nil {
		t.Fatal(err)
	}
	q, err := DecodeProgress(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Get("uts").Part; got != PartExperiment {
		t.Errorf("part after a round trip: %q, want %q", got, PartExperiment)
	}
	old := []byte(`{"version":1,"lessons":{"uts":{"status":"in-progress","updated":"2026-01-02T03:04:05Z","predicted":true}}}`)
	q, err = DecodeProgress(old)
	if err != nil {
		t.Fatalf("a file without parts: %v", err)
	}
	if lp := q.Get("uts"); lp.Part != "" || lp.Status != StatusInProgress || !lp.Predicted {
		t.Errorf("a file without parts read as %+v", lp)
	}
}

// ProgressFile.AsSelf (the class server's learners) works as this process
// even under sudo, whose user may not enter the server's state dir; the
// default works as that user and is refused there.
func TestProgressFileAsSelf(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("sudo is recognised only with euid 0; this test runs as uid", os.Geteuid())
	}
	t.Setenv("SUDO_USER", "nobody")
	t.Setenv("SUDO_UID", "65534")
	t.Setenv("SUDO_GID", "65534")
	dir := t.TempDir() // root's, 0700
	path := filepath.Join(dir, "learners", "alice", "progress.json")
	p := NewProgress()
	p.Mark("uts", StatusInProgress, PartPredict)
	if err := (ProgressFile{Path: path}).Save(p); err == nil {
		t.Fatal("the learner's own permissions wrote into root's 0700 directory")
	}
	self := ProgressFile{Path: path, AsSelf: true}
	if err := self.Save(p); err != nil {
		t.Fatalf("AsSelf: %v", err)
	}
	got, warning, err := self.Load()
	if err != nil || warning != "" || got.Get("uts").Part != PartPredict {
		t.Fatalf("AsSelf load: %+v %q %v", got.Get("uts"), warning, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("the file is uid %d mode %04o, want root's 0600", st.Uid, fi.Mode().Perm())
	}
}
