package userfs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// modes runs f with openat2 and with the component-by-component walk
// older kernels get.
func modes(t *testing.T, f func(t *testing.T, fsys FS)) {
	t.Run("openat2", func(t *testing.T) { f(t, FS{}) })
	t.Run("nofollow-walk", func(t *testing.T) { f(t, FS{NoOpenat2: true}) })
}

func TestSplitAbs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{"/", nil, false},
		{"/a/b", []string{"a", "b"}, false},
		{"/a//b/./c/../d/", []string{"a", "b", "d"}, false},
		{"/../a", []string{"a"}, false},
		{"a/b", nil, true},
		{"", nil, true},
	} {
		got, err := splitAbs(tc.in)
		if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
			t.Errorf("splitAbs(%q) = %q, %v; want %q (error %v)", tc.in, got, err, tc.want, tc.err)
		}
		if tc.err && !errors.Is(err, ErrRelative) {
			t.Errorf("splitAbs(%q): %v is not ErrRelative", tc.in, err)
		}
	}
}

func TestPathErrorMessage(t *testing.T) {
	err := error(&PathError{Path: "/h/.local", Found: `is a symlink (to "/R")`, Err: ErrSymlink})
	if err.Error() != `/h/.local is a symlink (to "/R")` || !errors.Is(err, ErrSymlink) {
		t.Errorf("%v", err)
	}
	var pe *PathError
	if !errors.As(fmt.Errorf("wrapped: %w", err), &pe) || pe.Path != "/h/.local" {
		t.Errorf("errors.As: %+v", pe)
	}
}

func TestWriteReadRename(t *testing.T) {
	modes(t, func(t *testing.T, fsys FS) {
		base := t.TempDir()
		path := filepath.Join(base, "a", "b", "f.json")
		if _, err := fsys.ReadFile(path, 10); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("missing: %v", err)
		}
		if err := fsys.WriteFileAtomic(path, []byte("one")); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{filepath.Join(base, "a"), filepath.Join(base, "a", "b")} {
			if fi, err := os.Lstat(d); err != nil || fi.Mode().Perm() != 0o700 || !fi.IsDir() {
				t.Errorf("%s: %v %v, want a 0700 directory", d, fi.Mode(), err)
			}
		}
		if fi, err := os.Lstat(path); err != nil || fi.Mode() != 0o600 {
			t.Errorf("file mode %v %v", fi.Mode(), err)
		}
		if err := fsys.WriteFileAtomic(path, []byte("two!")); err != nil {
			t.Fatal(err)
		}
		b, err := fsys.ReadFile(path, 10)
		if err != nil || string(b) != "two!" {
			t.Fatalf("read %q %v", b, err)
		}
		// limit+1 bytes at most.
		if b, err := fsys.ReadFile(path, 2); err != nil || string(b) != "two" {
			t.Errorf("limited read %q %v", b, err)
		}
		// No temporary file left behind.
		if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
			t.Errorf("directory holds %v", ents)
		}
		dst, err := fsys.RenameAside(path, ".old")
		if err != nil || dst != path+".old" {
			t.Fatalf("aside %q %v", dst, err)
		}
		if err := os.WriteFile(path, []byte("three"), 0o600); err != nil {
			t.Fatal(err)
		}
		// The earlier copy is not replaced.
		if dst, err := fsys.RenameAside(path, ".old"); err != nil || dst != path+".old-1" {
			t.Fatalf("second aside %q %v", dst, err)
		}
		if b, _ := os.ReadFile(path + ".old"); string(b) != "two!" {
			t.Errorf("first copy now %q", b)
		}
	})
}

// tree lists a directory recursively: name, mode, owner, size, content,
// and the directories' mtimes (a file made and removed again shows).
func tree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		fmt.Fprintf(&b, "%s %v %d:%d %d %d", p, fi.Mode(), st.Uid, st.Gid, fi.Size(), fi.ModTime().UnixNano())
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

// The checker itself: a tree that changed is seen as changed.
func TestTreeSeesAChange(t *testing.T) {
	d := t.TempDir()
	before := tree(t, d)
	time.Sleep(10 * time.Millisecond)
	if err := os.WriteFile(filepath.Join(d, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(d, "x"))
	if tree(t, d) == before {
		t.Fatal("a file made and removed left the tree listing equal")
	}
}

// A symlink at any component of base/a/b/c/f — to a copy of the same
// structure elsewhere — is refused by read, write and move-aside, names
// that component, and leaves the target as it was.
func TestSymlinkAtEveryComponent(t *testing.T) {
	modes(t, func(t *testing.T, fsys FS) {
		comps := []string{"a", "b", "c", "f"}
		for i := range comps {
			t.Run(strings.Join(comps[:i+1], "/"), func(t *testing.T) {
				base, elsewhere := t.TempDir(), t.TempDir()
				path := filepath.Join(base, "a", "b", "c", "f")
				// Elsewhere holds what the link would lead to: the rest of
				// the path, with a file at its end.
				rest := filepath.Join(append([]string{elsewhere}, comps[i+1:]...)...)
				if i == len(comps)-1 {
					rest = filepath.Join(elsewhere, "f")
				}
				if i < len(comps)-1 {
					if err := os.MkdirAll(filepath.Dir(rest), 0o700); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.WriteFile(rest, []byte("theirs"), 0o600); err != nil {
					t.Fatal(err)
				}
				link := filepath.Join(append([]string{base}, comps[:i+1]...)...)
				if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
					t.Fatal(err)
				}
				target := elsewhere
				if i == len(comps)-1 {
					target = rest
				}
				if err := os.Symlink(target, link); err != nil {
					t.Fatal(err)
				}
				// Control: following links, the file is reachable.
				if b, err := os.ReadFile(path); err != nil || string(b) != "theirs" {
					t.Fatalf("control: %q %v", b, err)
				}
				before := tree(t, elsewhere)
				_, rerr := fsys.ReadFile(path, 100)
				werr := fsys.WriteFileAtomic(path, []byte("mine"))
				_, aerr := fsys.RenameAside(path, ".x")
				for what, err := range map[string]error{"read": rerr, "write": werr, "aside": aerr} {
					if i == len(comps)-1 && what != "read" {
						continue // the file itself: replaced or moved as an entry, below
					}
					var pe *PathError
					if !errors.Is(err, ErrSymlink) || !errors.As(err, &pe) || pe.Path != link || !strings.Contains(err.Error(), target) {
						t.Errorf("%s: %v, want ErrSymlink at %s naming %s", what, err, link, target)
					}
				}
				if i == len(comps)-1 {
					// Write replaced the link itself; aside moved the new file.
					if werr != nil || aerr != nil {
						t.Errorf("file as link: write %v, aside %v", werr, aerr)
					}
				}
				if after := tree(t, elsewhere); after != before {
					t.Errorf("the link's target changed:\n%s\n---\n%s", before, after)
				}
			})
		}
	})
}

// A FIFO where a directory belongs, or where the file belongs: refused,
// named, and nothing blocks.
func TestFIFO(t *testing.T) {
	modes(t, func(t *testing.T, fsys FS) {
		base := t.TempDir()
		if err := unix.Mkfifo(filepath.Join(base, "d"), 0o600); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, err := fsys.ReadFile(filepath.Join(base, "d", "f"), 10)
			if !errors.Is(err, ErrNotDir) || !strings.Contains(err.Error(), "FIFO") {
				t.Errorf("read under a FIFO: %v", err)
			}
			if err := fsys.WriteFileAtomic(filepath.Join(base, "d", "f"), nil); !errors.Is(err, ErrNotDir) {
				t.Errorf("write under a FIFO: %v", err)
			}
			if _, err := fsys.ReadFile(filepath.Join(base, "d"), 10); !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "FIFO") {
				t.Errorf("read a FIFO: %v", err)
			}
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("blocked on a FIFO")
		}
	})
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("needs root to act as another user (uid %d)", os.Geteuid())
	}
}

// sharedTempDir is a temporary directory other users can reach (mode
// 0755, under /tmp; t.TempDir's parent is 0700).
func sharedTempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "userfs-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// nobody is uid/gid 65534 acting through FS.Do.
var nobody = Identity{UID: 65534, GID: 65534, Groups: []int{65534}, Name: "nobody", Switch: true}

// As another user, the kernel's permission checks apply: root's 0700
// directory refuses, a root-group 0770 directory refuses (root's groups
// are dropped), and what is created belongs to that user. The control
// (root, no switch) succeeds in the same places.
func TestDoAsAnotherUser(t *testing.T) {
	needRoot(t)
	base := sharedTempDir(t)
	private := filepath.Join(base, "R")
	group := filepath.Join(base, "G")
	open := filepath.Join(base, "open")
	for d, mode := range map[string]os.FileMode{private: 0o700, group: 0o770, open: 0o777} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
	}
	before := tree(t, private) + tree(t, group)
	as := FS{As: nobody}
	for _, dir := range []string{private, group} {
		err := as.WriteFileAtomic(filepath.Join(dir, "nslab", "p.json"), []byte("x"))
		if !errors.Is(err, fs.ErrPermission) {
			t.Errorf("as nobody in %s: %v, want permission denied", dir, err)
		}
	}
	if after := tree(t, private) + tree(t, group); after != before {
		t.Errorf("root's directories changed:\n%s\n---\n%s", before, after)
	}
	// Groups matter: with group 0 kept, the 0770 directory lets in.
	withRootGroup := FS{As: Identity{UID: 65534, GID: 65534, Groups: []int{0}, Switch: true}}
	if err := withRootGroup.WriteFileAtomic(filepath.Join(group, "g"), []byte("x")); err != nil {
		t.Errorf("control, group 0 kept: %v", err)
	}
	if err := as.WriteFileAtomic(filepath.Join(open, "nslab", "p.json"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(open, "nslab"), filepath.Join(open, "nslab", "p.json")} {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 || st.Gid != 65534 {
			t.Errorf("%s belongs to %d:%d, want 65534:65534", p, st.Uid, st.Gid)
		}
	}
	// Control: root itself writes where nobody could not.
	if err := (FS{}).WriteFileAtomic(filepath.Join(private, "p.json"), []byte("x")); err != nil {
		t.Errorf("control as root: %v", err)
	}
}

// fsuids lists the fsuid of every thread of this process.
func fsuids(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
		if err != nil {
			continue // the thread ended meanwhile
		}
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
				f := strings.Fields(rest)
				out[task.Name()], _ = strconv.Atoi(f[3])
			}
		}
	}
	return out
}

// The learner's credentials never outlive Do: during it exactly one
// thread has them, after it none (that thread is gone), and the process's
// own ids never change. Many at once, to give the scheduler every chance.
func TestDoLeavesNoThreadBehind(t *testing.T) {
	needRoot(t)
	as := FS{As: nobody}
	var seen sync.Map
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = as.Do(func() error {
				seen.Store(unix.Gettid(), true)
				if uid, _ := unix.SetfsuidRetUid(-1); uid != 65534 {
					t.Errorf("inside Do the fsuid is %d", uid)
				}
				time.Sleep(time.Millisecond)
				return nil
			})
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var bad []string
		for tid, uid := range fsuids(t) {
			if uid != 0 {
				bad = append(bad, fmt.Sprintf("thread %s fsuid %d", tid, uid))
			}
		}
		if len(bad) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("threads kept the learner's fsuid after Do: %v", bad)
		}
		time.Sleep(20 * time.Millisecond)
	}
	n := 0
	seen.Range(func(k, _ any) bool {
		if _, err := os.Stat("/proc/self/task/" + strconv.Itoa(k.(int))); err == nil {
			n++
		}
		return true
	})
	if n != 0 {
		t.Errorf("%d threads that ran as the learner still exist", n)
	}
	if os.Geteuid() != 0 || os.Getuid() != 0 {
		t.Errorf("the process's ids changed: %d %d", os.Getuid(), os.Geteuid())
	}
	// The check can fail: a thread that keeps another fsuid is seen.
	done, release := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		// Locked and never unlocked: this thread ends with the goroutine.
		// (Not on the test's own thread, so the test cannot be affected.)
		setThreadFsuid(65534)
		<-release
	}()
	time.Sleep(50 * time.Millisecond)
	found := false
	for _, uid := range fsuids(t) {
		found = found || uid == 65534
	}
	close(release)
	<-done
	if !found {
		t.Error("control: a thread with fsuid 65534 was not seen")
	}
}

// A panic inside fn reaches the caller, not the whole process.
func TestDoPanics(t *testing.T) {
	needRoot(t)
	defer func() {
		if r := recover(); r != "boom" {
			t.Errorf("recovered %v", r)
		}
	}()
	_ = FS{As: nobody}.Do(func() error { panic("boom") })
}

// While the state directory is swapped for a symlink to a root-only
// directory and back as fast as possible, writes either land in the real
// directory or are refused; the root-only directory never changes.
func TestSwapRace(t *testing.T) {
	needRoot(t)
	modes(t, func(t *testing.T, fsys FS) {
		base := sharedTempDir(t)
		r := filepath.Join(base, "R")
		if err := os.Mkdir(r, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(r, "secret"), []byte("root's"), 0o600); err != nil {
			t.Fatal(err)
		}
		home := filepath.Join(base, "home")
		for _, d := range []string{home, filepath.Join(home, "nslab")} {
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(d, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(r, filepath.Join(home, "swap")); err != nil {
			t.Fatal(err)
		}
		before := tree(t, r)
		fsys.As = nobody
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
				if err := unix.Renameat2(unix.AT_FDCWD, filepath.Join(home, "nslab"), unix.AT_FDCWD, filepath.Join(home, "swap"), unix.RENAME_EXCHANGE); err != nil {
					t.Error(err)
					return
				}
				swaps++
			}
		}()
		var ok, refused int
		for end := time.Now().Add(time.Second); time.Now().Before(end); {
			err := fsys.WriteFileAtomic(filepath.Join(home, "nslab", "p.json"), []byte("mine"))
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrSymlink), errors.Is(err, fs.ErrNotExist):
				refused++
			default:
				t.Errorf("unexpected: %v", err)
			}
			if t.Failed() {
				break
			}
		}
		close(stop)
		wg.Wait()
		t.Logf("%d swaps; %d writes landed, %d refused", swaps, ok, refused)
		if after := tree(t, r); after != before {
			t.Errorf("the root-only directory changed:\n%s\n---\n%s", before, after)
		}
		if refused == 0 {
			t.Error("no write met the symlink: the race was not exercised")
		}
	})
}

// setThreadFsuid locks the calling goroutine to its thread for good and
// changes that thread's fsuid (a test's control).
func setThreadFsuid(uid int) {
	runtime.LockOSThread()
	unix.Setfsuid(uid)
}

// What acting as the learner costs: one progress-sized save, as this
// process and through a fresh thread with the learner's credentials.
func BenchmarkWriteFileAtomic(b *testing.B) {
	data := bytes.Repeat([]byte("x"), 2048)
	for _, tc := range []struct {
		name string
		fsys FS
	}{{"self", FS{}}, {"self-nofollow-walk", FS{NoOpenat2: true}}, {"as-nobody", FS{As: nobody}}} {
		b.Run(tc.name, func(b *testing.B) {
			if tc.fsys.As.Switch && os.Geteuid() != 0 {
				b.Skip("needs root")
			}
			d, err := os.MkdirTemp("", "userfs-bench-")
			if err != nil {
				b.Fatal(err)
			}
			defer os.RemoveAll(d)
			if err := os.Chmod(d, 0o777); err != nil {
				b.Fatal(err)
			}
			path := filepath.Join(d, "state", "nslab", "progress.json")
			for b.Loop() {
				if err := tc.fsys.WriteFileAtomic(path, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The credential switch alone: a new locked thread, setgroups, setfsgid,
// setfsuid, and the thread's end.
func BenchmarkDo(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	as := FS{As: nobody}
	for b.Loop() {
		if err := as.Do(func() error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
