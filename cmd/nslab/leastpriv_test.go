package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lessons"
)

// Least privilege under sudo, end to end: a real unprivileged user made
// for the test, the real nslab binary run as root with the environment
// sudo gives (SUDO_USER, SUDO_UID, SUDO_GID, and the learner's HOME as
// with `sudo -E`), and a root-only directory R that every attack aims at.

// learner is a real user made with useradd for one test.
type learner struct {
	name     string
	uid, gid int
	base     string // 0755, root's: holds home and R
	home     string // the learner's home (from the password database)
	r        string // root's 0700 directory, the attacks' target
}

func newLearner(t *testing.T) *learner {
	t.Helper()
	needRoot(t)
	useradd, err := exec.LookPath("useradd")
	if err != nil {
		t.Fatal("useradd is missing (Debian package passwd; .ci/run installs it):", err)
	}
	base, err := os.MkdirTemp("", "nslab-leastpriv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	l := &learner{name: "nslt" + hex.EncodeToString(rnd[:]), base: base,
		home: filepath.Join(base, "home"), r: filepath.Join(base, "R")}
	if out, err := exec.Command(useradd, "-M", "-U", "-d", l.home, "-s", "/bin/sh", l.name).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v\n%s", l.name, err, out)
	}
	t.Cleanup(func() {
		out, err := exec.Command("userdel", "-r", l.name).CombinedOutput()
		if _, lerr := user.Lookup(l.name); lerr == nil {
			t.Errorf("userdel -r %s left the user: %v\n%s", l.name, err, out)
		}
	})
	u, err := user.Lookup(l.name)
	if err != nil {
		t.Fatal(err)
	}
	l.uid, _ = strconv.Atoi(u.Uid)
	l.gid, _ = strconv.Atoi(u.Gid)
	// R: root's, 0700, with a file and a subdirectory to keep unchanged.
	if err := os.MkdirAll(filepath.Join(l.r, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	for p, c := range map[string]string{"secret": "root's own\n", "sub/file": "also root's\n"} {
		if err := os.WriteFile(filepath.Join(l.r, p), []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	l.freshHome(t)
	return l
}

// freshHome empties the learner's home (0700, theirs).
func (l *learner) freshHome(t *testing.T) {
	t.Helper()
	if err := os.RemoveAll(l.home); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(l.home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(l.home, l.uid, l.gid); err != nil {
		t.Fatal(err)
	}
}

// sh runs script as the learner (their uid, gid and groups, through
// setpriv), in their home: what the learner can do themselves.
func (l *learner) sh(t *testing.T, script string, stdin []byte) {
	t.Helper()
	cmd := exec.Command("setpriv", "--reuid="+strconv.Itoa(l.uid), "--regid="+strconv.Itoa(l.gid), "--init-groups", "--", "/bin/sh", "-euc", script)
	cmd.Env = []string{"HOME=" + l.home, "PATH=/usr/bin:/bin", "R=" + l.r}
	cmd.Dir = l.home
	cmd.Stdin = bytes.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("as %s: %s: %v\n%s", l.name, script, err, out)
	}
}

// sudoEnv is what sudo sets for the learner, plus the learner's HOME (as
// `sudo -E` keeps it) and no XDG_STATE_HOME unless extra sets one.
func (l *learner) sudoEnv(extra ...string) []string {
	return append([]string{"HOME=" + l.home, "XDG_STATE_HOME", "SUDO_USER=" + l.name,
		"SUDO_UID=" + strconv.Itoa(l.uid), "SUDO_GID=" + strconv.Itoa(l.gid)}, extra...)
}

// nslab runs the binary as root, as `sudo nslab` would for the learner.
func (l *learner) nslab(t *testing.T, env []string, args ...string) biOut {
	t.Helper()
	return biRun(t, needBinary(t), l.home, env, nil, args...)
}

// earlierProgress is what the learner had before: overview done.
func earlierProgress(t *testing.T) []byte {
	t.Helper()
	p := lessons.NewProgress()
	p.Mark("overview", lessons.StatusDone, lessons.PartRecap)
	p.RecordChallenge("overview", true, 1)
	b, err := lessons.EncodeProgress(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dirTree lists a directory recursively, byte for byte: names, modes,
// owners, sizes, contents, and every mtime (a file made and removed again
// still shows in its directory's mtime).
func dirTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		fmt.Fprintf(&b, "%s %v %d:%d %d %d.%d", p, fi.Mode(), st.Uid, st.Gid, fi.Size(), st.Mtim.Sec, st.Mtim.Nsec)
		if fi.Mode().IsRegular() {
			c, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " %q", c)
		}
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func owner(t *testing.T, p string) (uid, gid uint32, perm uint32) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Uid, st.Gid, st.Mode & 0o7777
}

// The checks can fail: nslab run by root itself (no SUDO_*), pointed at
// R, does write there (root's own call), and dirTree sees it.
func TestLeastPrivChecksSeeAWrite(t *testing.T) {
	l := newLearner(t)
	before := dirTree(t, l.r)
	r := l.nslab(t, []string{"HOME=" + l.home, "XDG_STATE_HOME=" + l.r}, "progress", "--reset", "--yes")
	if r.code != 0 {
		t.Fatalf("root for itself: %s", r)
	}
	if dirTree(t, l.r) == before {
		t.Fatal("dirTree did not see nslab's write into R")
	}
}

// Under sudo without any attack: progress lands in the learner's home,
// every directory nslab made is theirs and 0700, the file theirs and
// 0600, and the earlier record is kept.
func TestLeastPrivPlainSudo(t *testing.T) {
	l := newLearner(t)
	biLesson(t, "uts")
	l.sh(t, `mkdir -p "$HOME/.local" && chmod 700 "$HOME/.local"`, nil)
	r := l.nslab(t, l.sudoEnv(), "run", "uts", "--plain", "--solve")
	if r.code != 0 || strings.Contains(r.stderr, "progress not recorded") {
		t.Fatalf("%s", r)
	}
	path := filepath.Join(l.home, ".local", "state", "nslab", "progress.json")
	for _, p := range []string{filepath.Dir(filepath.Dir(path)), filepath.Dir(path), path} {
		uid, gid, perm := owner(t, p)
		want := uint32(0o700)
		if p == path {
			want = 0o600
		}
		if uid != uint32(l.uid) || gid != uint32(l.gid) || perm != want {
			t.Errorf("%s: %d:%d %o, want %d:%d %o", p, uid, gid, perm, l.uid, l.gid, want)
		}
	}
	// Keeps what was there: the learner's earlier record survives a run.
	l.sh(t, `cat > "$HOME/.local/state/nslab/progress.json"`, earlierProgress(t))
	if r := l.nslab(t, l.sudoEnv(), "run", "uts", "--plain", "--solve"); r.code != 0 {
		t.Fatalf("%s", r)
	}
	p, warning, err := lessons.LoadProgress(path)
	if err != nil || warning != "" || p.Get("overview").Status != lessons.StatusDone || p.Get("uts").Status != lessons.StatusInProgress {
		t.Errorf("after the run: %+v %q %v", p.Lessons, warning, err)
	}
}

// attack is one way a learner points nslab at R. setup runs as the learner
// and returns where their earlier progress now is.
type attack struct {
	name  string
	setup string   // shell script, run as the learner
	env   []string // besides sudo's
	// kept is the earlier progress file, relative to the home, after setup.
	kept string
	// want is in every message; fix is the advice.
	want, fix string
}

// Every attack, met by `nslab run`, `nslab progress` and `nslab progress
// --reset --yes`: R byte for byte unchanged, exit codes as documented
// (run: the lesson's 0 and "progress not recorded"; progress and reset:
// 3), a message naming the problem and the fix, and the earlier progress
// still where the learner left it.
func TestLeastPrivAttacks(t *testing.T) {
	biLesson(t, "uts")
	l := newLearner(t)
	const mk = `mkdir -p "$HOME/.local/state/nslab" && cat > "$HOME/.local/state/nslab/progress.json" && `
	st := func(rel string) string { return filepath.Join(l.home, rel) }
	attacks := []attack{
		// Issue 14's three, then a symlink at every component of
		// ~/.local/state/nslab/progress.json (the home included), a FIFO
		// in place of a directory.
		{name: "1-state-nslab-symlink", setup: mk + `mv .local/state/nslab .local/state/nslab.mine && ln -s "$R" .local/state/nslab`,
			kept: ".local/state/nslab.mine/progress.json", want: st(".local/state/nslab") + ` is a symlink (to "` + l.r + `")`, fix: "mkdir -p " + st(".local/state/nslab")},
		{name: "2-state-symlink", setup: mk + `mv .local/state .local/state.mine && ln -s "$R" .local/state`,
			kept: ".local/state.mine/nslab/progress.json", want: st(".local/state") + ` is a symlink (to "` + l.r + `")`, fix: "mkdir -p " + st(".local/state")},
		{name: "3-xdg-sudo-E", setup: mk + `true`, env: []string{"XDG_STATE_HOME=" + l.r},
			kept: ".local/state/nslab/progress.json", want: "permission denied", fix: "XDG_STATE_HOME"},
		{name: "3-xdg-env_keep", setup: mk + `true`, env: []string{"XDG_STATE_HOME=" + l.r, "HOME=/root"},
			kept: ".local/state/nslab/progress.json", want: "permission denied", fix: "XDG_STATE_HOME"},
		{name: "symlink-local", setup: mk + `mv .local .local.mine && ln -s "$R" .local`,
			kept: ".local.mine/state/nslab/progress.json", want: st(".local") + " is a symlink", fix: "mkdir -p " + st(".local")},
		{name: "symlink-progress.json", setup: mk + `mv .local/state/nslab/progress.json .local/state/nslab/mine.json && ln -s "$R/progress.json" .local/state/nslab/progress.json`,
			kept: ".local/state/nslab/mine.json", want: st(".local/state/nslab/progress.json") + " is a symlink", fix: "rm " + st(".local/state/nslab/progress.json")},
		{name: "fifo-for-nslab-dir", setup: mk + `mv .local/state/nslab .local/state/nslab.mine && mkfifo .local/state/nslab`,
			kept: ".local/state/nslab.mine/progress.json", want: st(".local/state/nslab") + " is a FIFO, not a directory", fix: "mv " + st(".local/state/nslab")},
		{name: "fifo-for-local", setup: mk + `mv .local .local.mine && mkfifo .local`,
			kept: ".local.mine/state/nslab/progress.json", want: st(".local") + " is a FIFO, not a directory", fix: "mv " + st(".local")},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			l.freshHome(t)
			l.sh(t, a.setup, earlierProgress(t))
			l.check(t, a)
		})
	}
	// The home itself a symlink (the password database names base/home,
	// which now points elsewhere): made by root, since base is root's.
	t.Run("symlink-home", func(t *testing.T) {
		l.freshHome(t)
		l.sh(t, mk+`true`, earlierProgress(t))
		mine := l.home + ".mine"
		if err := os.Rename(l.home, mine); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(l.home); os.Rename(mine, l.home) })
		if err := os.Symlink(l.r, l.home); err != nil {
			t.Fatal(err)
		}
		l.check(t, attack{kept: "../home.mine/.local/state/nslab/progress.json",
			want: l.home + " is a symlink", fix: "XDG_STATE_HOME"})
	})
}

// check runs the three commands against attack a and checks R, the
// messages, the exit codes and the earlier progress.
func (l *learner) check(t *testing.T, a attack) {
	t.Helper()
	before := dirTree(t, l.r)
	kept := filepath.Join(l.home, a.kept)
	earlier, err := os.ReadFile(kept)
	if err != nil {
		t.Fatal(err)
	}
	env := l.sudoEnv(a.env...)
	for _, c := range []struct {
		args []string
		code int
		say  string
	}{
		{[]string{"run", "uts", "--plain", "--solve"}, 0, "progress not recorded"},
		{[]string{"progress"}, exitMachine, "kept in memory"},
		{[]string{"progress", "--reset", "--yes"}, exitMachine, "kept in memory"},
		{[]string{"progress", "--reset", "uts", "--yes"}, exitMachine, "kept in memory"},
	} {
		r := l.nslab(t, env, c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, a.want) || !strings.Contains(r.stderr, a.fix) || !strings.Contains(r.stderr, c.say) {
			t.Errorf("nslab %s: want exit %d and %q, %q, %q:\n%s", strings.Join(c.args, " "), c.code, a.want, a.fix, c.say, r)
		}
		if after := dirTree(t, l.r); after != before {
			t.Fatalf("nslab %s changed R:\n%s\n---\n%s", strings.Join(c.args, " "), before, after)
		}
	}
	if b, err := os.ReadFile(kept); err != nil || !bytes.Equal(b, earlier) {
		t.Errorf("the earlier progress at %s changed: %v", kept, err)
	}
}

// Moving a damaged file aside and resetting run as the learner too: in a
// directory the learner made read-only, root could rename and replace,
// the learner cannot, so nslab does neither and says so; once the learner
// makes it writable again, both work and what they make is the learner's.
func TestLeastPrivMoveAsideAndReset(t *testing.T) {
	biLesson(t, "uts")
	l := newLearner(t)
	dir := filepath.Join(l.home, ".local", "state", "nslab")
	path := filepath.Join(dir, "progress.json")
	env := l.sudoEnv()

	t.Run("move-aside", func(t *testing.T) {
		l.freshHome(t)
		l.sh(t, `mkdir -p .local/state/nslab && printf '{"version":1,"lessons":{"uts":{"status":"do' > .local/state/nslab/progress.json && chmod 500 .local/state/nslab`, nil)
		damaged, _ := os.ReadFile(path)
		r := l.nslab(t, env, "run", "uts", "--plain", "--solve")
		if r.code != 0 || !strings.Contains(r.stderr, "could not be moved aside (as "+l.name) || !strings.Contains(r.stderr, "permission denied") || !strings.Contains(r.stderr, "progress not recorded") {
			t.Errorf("read-only directory: %s", r)
		}
		if r := l.nslab(t, env, "progress"); r.code != exitMachine || !strings.Contains(r.stderr, "move or remove it yourself") {
			t.Errorf("progress, read-only directory: %s", r)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Errorf("the read-only directory now holds %v", ents)
		}
		biSame(t, "damaged file", path, damaged)
		l.sh(t, `chmod 700 .local/state/nslab`, nil)
		r = l.nslab(t, env, "run", "uts", "--plain", "--solve")
		if r.code != 0 || !strings.Contains(r.stderr, "moved it to") || strings.Contains(r.stderr, "progress not recorded") {
			t.Errorf("writable again: %s", r)
		}
		aside, _ := filepath.Glob(path + ".corrupt-*")
		if len(aside) != 1 {
			t.Fatalf("moved aside: %v", aside)
		}
		biSame(t, "moved-aside copy", aside[0], damaged)
		for _, p := range []string{aside[0], path} {
			if uid, gid, _ := owner(t, p); uid != uint32(l.uid) || gid != uint32(l.gid) {
				t.Errorf("%s belongs to %d:%d", p, uid, gid)
			}
		}
	})

	t.Run("reset", func(t *testing.T) {
		l.freshHome(t)
		earlier := earlierProgress(t)
		l.sh(t, `mkdir -p .local/state/nslab && cat > .local/state/nslab/progress.json && chmod 500 .local/state/nslab`, earlier)
		r := l.nslab(t, env, "progress", "--reset", "--yes")
		if r.code != exitMachine || !strings.Contains(r.stderr, "permission denied") || !strings.Contains(r.stderr, "as "+l.name) {
			t.Errorf("reset in a read-only directory: %s", r)
		}
		biSame(t, "reset refused", path, earlier)
		l.sh(t, `chmod 700 .local/state/nslab`, nil)
		if r := l.nslab(t, env, "progress", "--reset", "--yes"); r.code != 0 {
			t.Fatalf("reset: %s", r)
		}
		p, _, err := lessons.LoadProgress(path)
		if err != nil || len(p.Lessons) != 0 {
			t.Errorf("after reset: %+v %v", p.Lessons, err)
		}
		if uid, gid, perm := owner(t, path); uid != uint32(l.uid) || gid != uint32(l.gid) || perm != 0o600 {
			t.Errorf("reset file: %d:%d %o", uid, gid, perm)
		}
	})

	t.Run("xdg-of-the-learner", func(t *testing.T) {
		// XDG_STATE_HOME kept through sudo is honoured where the learner
		// may write: their own directory outside the home.
		l.freshHome(t)
		own := filepath.Join(l.base, "own")
		if err := os.Mkdir(own, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(own, l.uid, l.gid); err != nil {
			t.Fatal(err)
		}
		if r := l.nslab(t, l.sudoEnv("XDG_STATE_HOME="+own), "progress", "--reset", "--yes"); r.code != 0 {
			t.Fatalf("%s", r)
		}
		if uid, _, _ := owner(t, filepath.Join(own, "nslab", "progress.json")); uid != uint32(l.uid) {
			t.Errorf("progress in the learner's XDG_STATE_HOME belongs to %d", uid)
		}
	})
}

// A symlink swapped in between check and use: while ~/.local/state/nslab
// is exchanged with a symlink to R (renameat2 RENAME_EXCHANGE) as fast as
// the machine allows, nslab runs again and again for a bounded time. R
// never changes, every run exits as documented, and the earlier progress
// is never lost (every write landed in the real directory, and kept it).
func TestLeastPrivSwapRace(t *testing.T) {
	biLesson(t, "uts")
	l := newLearner(t)
	l.sh(t, `mkdir -p .local/state/nslab && cat > .local/state/nslab/progress.json && ln -s "$R" .local/state/swap`, earlierProgress(t))
	before := dirTree(t, l.r)
	state := filepath.Join(l.home, ".local", "state")
	stop := make(chan struct{})
	var swaps int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := unix.Renameat2(unix.AT_FDCWD, filepath.Join(state, "nslab"), unix.AT_FDCWD, filepath.Join(state, "swap"), unix.RENAME_EXCHANGE); err != nil {
				t.Error(err)
				return
			}
			swaps++
			if swaps%64 == 0 {
				time.Sleep(time.Microsecond) // let nslab's threads in on 2 cores
			}
		}
	}()
	var runs, refused, recorded int
	for end := time.Now().Add(6 * time.Second); time.Now().Before(end) && !t.Failed(); runs++ {
		args := []string{"run", "uts", "--plain", "--solve"}
		if runs%2 == 1 {
			args = []string{"progress"}
		}
		r := l.nslab(t, l.sudoEnv(), args...)
		bad := strings.Contains(r.stderr, "is a symlink") || strings.Contains(r.stderr, "does not exist")
		switch {
		case args[0] == "run" && r.code == 0 && !strings.Contains(r.stderr, "progress not recorded"):
			recorded++
		case args[0] == "run" && r.code == 0 && bad:
			refused++
		case args[0] == "progress" && r.code == 0:
		case args[0] == "progress" && r.code == exitMachine && bad:
			refused++
		default:
			t.Errorf("unexpected outcome of nslab %v: %s", args, r)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d runs during %d swaps: %d recorded, %d refused", runs, swaps, recorded, refused)
	if after := dirTree(t, l.r); after != before {
		t.Fatalf("R changed:\n%s\n---\n%s", before, after)
	}
	// Wherever the real directory ended up, it holds the earlier record.
	real := filepath.Join(state, "nslab")
	if fi, _ := os.Lstat(real); fi == nil || !fi.IsDir() {
		real = filepath.Join(state, "swap")
	}
	p, warning, err := lessons.LoadProgress(filepath.Join(real, "progress.json"))
	if err != nil || warning != "" || p.Get("overview").Status != lessons.StatusDone {
		t.Errorf("the earlier progress: %+v %q %v", p.Lessons, warning, err)
	}
	if refused == 0 {
		t.Error("no run met the symlink: the race was not exercised")
	}
}

// The TUI's store: once Load met a symlink, Save keeps the progress in
// memory for the rest of the run, even after the link is gone (writing
// then would replace an earlier file that was never read).
func TestProgressStoreHoldsAfterAFailedLoad(t *testing.T) {
	state := t.TempDir()
	elsewhere := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	if err := os.Symlink(elsewhere, filepath.Join(state, "nslab")); err != nil {
		t.Fatal(err)
	}
	a := newApp()
	s, err := a.progressStore()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Load(); err == nil || !strings.Contains(err.Error(), "is a symlink") {
		t.Fatalf("load: %v", err)
	}
	os.Remove(filepath.Join(state, "nslab"))
	p := lessons.NewProgress()
	p.Mark("uts", lessons.StatusDone, lessons.PartRecap)
	if err := s.Save(p); err == nil || !strings.Contains(err.Error(), "kept in memory") {
		t.Errorf("save after a failed load: %v", err)
	}
	if ents, _ := os.ReadDir(state); len(ents) != 0 {
		t.Errorf("the state directory got %v", ents)
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
		t.Errorf("the link's target got %v", ents)
	}
	// Control: a fresh store (a new run) saves.
	s2, _ := a.progressStore()
	if _, _, err := s2.Load(); err != nil {
		t.Fatal(err)
	}
	if err := s2.Save(p); err != nil {
		t.Errorf("a new run's save: %v", err)
	}
}
