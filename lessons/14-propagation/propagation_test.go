package propagation

import (
	"encoding/json"
	"fmt"
	"maps"
	"os/exec"
	"strings"
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/lessontest"
	"github.com/nslab/nslab/sandbox"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	lessontest.Play(t, lessontest.Lesson(t, "propagation", Logic), lessontest.Want{Right: 2, Facts: 8, Wrong: []lessontest.Attempt{
		// The trap: --make-shared starts a peer group of its own.
		{Cmd: "mount --make-shared /mnt/private", Says: "making it shared starts a group of its own"},
		// A member now, but nothing mounted under it yet.
		{Cmd: "umount /mnt/private; mount --bind /mnt/src /mnt/private", Says: "nothing is mounted at"},
	}})
}

// TestCheckAndPeersView: the check fails on each half-way state (the
// trap of --make-shared, a peer without the mount, a mount not under the
// group), and the peers view agrees with findmnt's PROPAGATION column read
// inside the sandbox.
func TestCheckAndPeersView(t *testing.T) {
	s, ctx := lessontest.Performed(t, lessontest.Lesson(t, "propagation", Logic))
	box := s.Sandboxes().Box
	sh := func(script string) string {
		t.Helper()
		out, err := lessons.Shell(ctx, box, script)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	fails := func(state string) {
		t.Helper()
		if ok, detail, err := s.Check(ctx); err != nil || ok || detail == "" {
			t.Errorf("%s: the check passes or says nothing: %v %v %q", state, ok, err, detail)
		}
	}

	if _, err := exec.LookPath("findmnt"); err == nil {
		snap, err := box.Observe(ctx, []sandbox.View{sandbox.ViewPeers})
		if err != nil {
			t.Fatal(err)
		}
		var fm struct {
			Filesystems []findmntFS `json:"filesystems"`
		}
		if err := json.Unmarshal([]byte(sh("findmnt -J -o TARGET,PROPAGATION -R "+propagationWork)), &fm); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		var walk func([]findmntFS)
		walk = func(fs []findmntFS) {
			for _, f := range fs {
				want[f.Target] = f.Propagation
				walk(f.Children)
			}
		}
		walk(fm.Filesystems)
		for _, g := range sandbox.PeerGroups(snap.Mounts) {
			for _, m := range g.Members {
				if !strings.Contains(want[m], "shared") {
					t.Errorf("peers view: %s is in group %d; findmnt says %q", m, g.ID, want[m])
				}
			}
			for _, m := range g.Slaves {
				if !strings.Contains(want[m], "slave") {
					t.Errorf("peers view: %s is a slave of group %d; findmnt says %q", m, g.ID, want[m])
				}
			}
		}
		if want[propagationSlave] != "private,slave" && want[propagationSlave] != "slave" || want[propagationSrc] != "shared" || want[propagationPrivate] != "private" {
			t.Errorf("findmnt inside: %v", want)
		}
	}

	sh("mount --make-shared " + propagationPrivate)
	fails("private made shared: a group of its own")
	sh(fmt.Sprintf("mkdir -p %s && mount -t tmpfs c %s", propagationPrivate+propagationChallenge, propagationPrivate+propagationChallenge))
	fails("a mount in a group of its own")
	sh("umount " + propagationPrivate + propagationChallenge + "; umount " + propagationPrivate + "; mount --bind " + propagationSrc + " " + propagationPrivate)
	fails("a peer, nothing mounted")
	sh(fmt.Sprintf("mkdir -p %s && mount -t tmpfs c %s", propagationSrc+propagationChallenge, propagationPrivate+propagationChallenge))
	if ok, detail, err := s.Check(ctx); err != nil || !ok {
		t.Errorf("solved: %v %v %s", ok, err, detail)
	}
}

type findmntFS struct {
	Target      string      `json:"target"`
	Propagation string      `json:"propagation"`
	Children    []findmntFS `json:"children"`
}

// TestLessonConfined plays the lesson as a class learner (nslab serve):
// the sandbox's mount namespace is owned by the learner's user namespace,
// the second one by the same, so the copies stay peers; one more user
// namespace below and the copy is a slave, as mount_namespaces(7) says.
func TestLessonConfined(t *testing.T) {
	s, o := lessontest.PlayConfined(t, lessontest.Lesson(t, "propagation", Logic), lessontest.Want{Right: 2, Facts: 9, Wrong: []lessontest.Attempt{
		{Cmd: "mount --make-shared /mnt/private", Says: "making it shared starts a group of its own"},
		{Cmd: "umount /mnt/private; mount --bind /mnt/src /mnt/private", Says: "nothing is mounted at"},
	}})
	const owners = "in a class both mount namespaces are owned by your user namespace"
	holds := func(o lessons.Observation) bool {
		t.Helper()
		for _, f := range propagationFacts(o) {
			if strings.HasPrefix(f.Text, owners) {
				return f.OK
			}
		}
		t.Fatalf("no fact %q in a class", owners)
		return false
	}
	if !holds(o) {
		t.Fatal("the owners fact does not hold")
	}
	host := map[string]string{}
	lessons.PutIDs(host, "", sandbox.IDs{"user": o.Host.IDs["user"]})
	for name, bend := range map[string]func(o *lessons.Observation){
		"the second namespace owned by the host's user namespace": func(o *lessons.Observation) { o.Extra[propagationOwnerOther] = host["user"] },
		"both owned by the host's user namespace": func(o *lessons.Observation) {
			o.Extra[propagationOwnerOther] = host["user"]
			o.Extra[propagationOwnerSB] = host["user"]
		},
		"the copy a slave": func(o *lessons.Observation) {
			o.Extra[propagationOtherMnts] = strings.ReplaceAll(o.Extra[propagationOtherMnts], "shared:", "master:")
		},
	} {
		bent := o
		bent.Extra = maps.Clone(o.Extra)
		bend(&bent)
		if holds(bent) {
			t.Errorf("the owners fact holds with %s", name)
		}
	}
	// The last experiment, from the learner's shell: in one more user
	// namespace the copy of the shared /mnt/src is reduced to a slave.
	out, err := lessons.Shell(t.Context(), s.Sandboxes().Box, "unshare --user --map-root-user --mount --propagation unchanged findmnt -no PROPAGATION "+propagationSrc)
	if err != nil {
		t.Fatalf("unshare --user --mount in the class sandbox: %v: %s", err, out)
	}
	if got := strings.TrimSpace(out); !strings.Contains(got, "slave") || strings.Contains(got, "shared") {
		t.Errorf("%s copied into a new user namespace: %q, want a slave only", propagationSrc, got)
	}
	// The control: copied in the same user namespace, it stays shared.
	out, err = lessons.Shell(t.Context(), s.Sandboxes().Box, "unshare --mount --propagation unchanged findmnt -no PROPAGATION "+propagationSrc)
	if err != nil {
		t.Fatalf("unshare --mount in the class sandbox: %v: %s", err, out)
	}
	if got := strings.TrimSpace(out); !strings.Contains(got, "shared") {
		t.Errorf("%s copied in the same user namespace: %q, want shared", propagationSrc, got)
	}
	t.Logf("copy of %s in the same user namespace: %s", propagationSrc, strings.TrimSpace(out))
}
