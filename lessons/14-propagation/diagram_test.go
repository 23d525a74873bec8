package propagation

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/lessontest"
	"github.com/nslab/nslab/sandbox"
)

// nsTruth is one mount namespace as tools inside it see it: its
// identity, and the mounts under the lesson's workspace with findmnt's
// PROPAGATION column and the optional fields of a mountinfo read there.
type nsTruth struct {
	ns     string
	mounts []truthMount
}

type truthMount struct {
	key      string // as sandbox.MountKeys names it: stacked mounts get " (2)"
	findmnt  string // "shared", "private,slave", "private,unbindable" ...
	optional []string
}

// readTruth runs findmnt, readlink and cat inside pid's mount namespace
// (nsenter -m), independently of nslab's readers.
func readTruth(t *testing.T, pid int) nsTruth {
	t.Helper()
	in := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("nsenter", append([]string{"-t", strconv.Itoa(pid), "-m", "--"}, args...)...).Output()
		if err != nil {
			t.Fatalf("nsenter -t %d -m %v: %v", pid, args, err)
		}
		return string(out)
	}
	var fm struct {
		Filesystems []struct {
			Target      string `json:"target"`
			Propagation string `json:"propagation"`
		} `json:"filesystems"`
	}
	if err := json.Unmarshal([]byte(in("findmnt", "-J", "--list", "-o", "+PROPAGATION")), &fm); err != nil {
		t.Fatal(err)
	}
	tr := nsTruth{ns: strings.TrimSpace(in("readlink", "/proc/self/ns/mnt"))}
	// mountinfo(5): the optional fields run from the 7th field to "-".
	var opts [][]string
	var points []string
	for _, l := range strings.Split(strings.TrimSpace(in("cat", "/proc/self/mountinfo")), "\n") {
		f := strings.Fields(l)
		end := slices.Index(f, "-")
		if len(f) < 7 || end < 6 {
			t.Fatalf("mountinfo line %q", l)
		}
		points = append(points, f[4])
		opts = append(opts, f[6:end])
	}
	if len(points) != len(fm.Filesystems) {
		t.Fatalf("findmnt lists %d mounts, mountinfo %d", len(fm.Filesystems), len(points))
	}
	seen := map[string]int{}
	for i, p := range points {
		seen[p]++
		if fm.Filesystems[i].Target != p {
			t.Fatalf("findmnt's %d-th mount is %s, mountinfo's %s", i, fm.Filesystems[i].Target, p)
		}
		if p != propagationWork && !strings.HasPrefix(p, propagationWork+"/") {
			continue
		}
		key := p
		if seen[p] > 1 {
			key += " (" + strconv.Itoa(seen[p]) + ")"
		}
		tr.mounts = append(tr.mounts, truthMount{key: key, findmnt: fm.Filesystems[i].Propagation, optional: opts[i]})
	}
	return tr
}

// crossCheck compares the diagram with the tools' view of each of its
// namespaces (truth[i] for d.Tables[i]) and lists every difference.
func crossCheck(d sandbox.PeerDiagram, truth []nsTruth) []string {
	var bad []string
	if len(d.Tables) != len(truth) {
		return []string{fmt.Sprintf("the diagram has %d namespaces, the test read %d", len(d.Tables), len(truth))}
	}
	// cell: "ns index|mount key|group" → role, from the diagram.
	cells := map[string]string{}
	for _, g := range d.Groups {
		for _, r := range g.Rows {
			for i, role := range r.Roles {
				if role != "" {
					cells[fmt.Sprintf("%d|%s|%d", i, r.Mountpoint, g.ID)] = role
				}
			}
		}
	}
	want := map[string]string{}
	for i, tr := range truth {
		if d.Tables[i].NS != tr.ns {
			bad = append(bad, fmt.Sprintf("column %s is %s; readlink inside says %s", d.Tables[i].Name, d.Tables[i].NS, tr.ns))
		}
		for _, m := range tr.mounts {
			at := func(group int, role string) { want[fmt.Sprintf("%d|%s|%d", i, m.key, group)] = role }
			var shared, master int
			for _, o := range m.optional {
				if v, ok := strings.CutPrefix(o, "shared:"); ok {
					shared, _ = strconv.Atoi(v)
				}
				if v, ok := strings.CutPrefix(o, "master:"); ok {
					master, _ = strconv.Atoi(v)
				}
			}
			// findmnt names the kind, mountinfo the numbers: they must
			// agree before the diagram is held to them.
			if strings.Contains(m.findmnt, "shared") != (shared > 0) || strings.Contains(m.findmnt, "slave") != (master > 0) {
				bad = append(bad, fmt.Sprintf("%s in %s: findmnt says %q, mountinfo %v", m.key, tr.ns, m.findmnt, m.optional))
			}
			if shared > 0 {
				at(shared, sandbox.RoleMember)
			}
			if master > 0 {
				at(master, sandbox.RoleSlave)
			}
			if shared == 0 && master == 0 {
				role := sandbox.RolePrivate
				if strings.Contains(m.findmnt, "unbindable") {
					role = sandbox.RoleUnbindable
				}
				at(0, role)
			}
		}
	}
	for k, role := range want {
		if cells[k] != role {
			bad = append(bad, fmt.Sprintf("ns|mount|group %s: the tools say %s, the diagram %q", k, role, cells[k]))
		}
	}
	for k, role := range cells {
		if _, ok := want[k]; !ok {
			bad = append(bad, fmt.Sprintf("ns|mount|group %s: the diagram says %s, the tools nothing", k, role))
		}
	}
	slices.Sort(bad)
	return bad
}

// TestDiagramMatchesFindmnt: the peer-group diagram of a performed lesson
// agrees, in each of its namespaces (host, sandbox, second), with findmnt
// -J -o +PROPAGATION and with the shared:N / master:N fields of a
// mountinfo read inside; again after the learner's kind of change (the
// next observation redraws it); and the comparison fails on doctored
// diagrams. The host is compared before and after (Performed).
func TestDiagramMatchesFindmnt(t *testing.T) {
	for _, tool := range []string{"findmnt", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s from util-linux", tool)
		}
	}
	s, ctx := lessontest.Performed(t, lessontest.Lesson(t, "propagation", Logic))
	box := s.Sandboxes().Box
	check := func(state string) sandbox.PeerDiagram {
		t.Helper()
		o, err := s.Observe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if o.Peers == nil {
			t.Fatal("the observation has no peer diagram")
		}
		var truth []nsTruth
		for _, tb := range o.Peers.Tables {
			truth = append(truth, readTruth(t, tb.PID))
		}
		for _, b := range crossCheck(*o.Peers, truth) {
			t.Errorf("%s: %s", state, b)
		}
		if len(o.Peers.HostShares) != 0 {
			t.Errorf("%s: the lesson's groups reach the host: %v", state, o.Peers.HostShares)
		}
		if names := []string{o.Peers.Tables[0].Name, o.Peers.Tables[1].Name, o.Peers.Tables[2].Name}; !slices.Equal(names, []string{"host", "sandbox", "second"}) {
			t.Errorf("%s: columns %v", state, names)
		}
		return *o.Peers
	}
	d := check("performed")
	groups := 0
	for _, g := range d.Groups {
		if g.ID != 0 {
			groups++
		}
	}
	if groups < 2 {
		t.Errorf("performed: %d peer groups under %s, want the source's and the event's", groups, propagationWork)
	}

	// The checker fails on a wrong diagram: each doctoring is found.
	var truth []nsTruth
	for _, tb := range d.Tables {
		truth = append(truth, readTruth(t, tb.PID))
	}
	doctor := map[string]func(sandbox.PeerDiagram) sandbox.PeerDiagram{
		"a member made a slave": func(d sandbox.PeerDiagram) sandbox.PeerDiagram {
			for i, r := range d.Groups[0].Rows[0].Roles {
				if r == sandbox.RoleMember {
					d.Groups[0].Rows[0].Roles[i] = sandbox.RoleSlave
				}
			}
			return d
		},
		"a group renumbered": func(d sandbox.PeerDiagram) sandbox.PeerDiagram {
			d.Groups[0].ID += 1000
			return d
		},
		"a row dropped": func(d sandbox.PeerDiagram) sandbox.PeerDiagram {
			d.Groups[0].Rows = d.Groups[0].Rows[1:]
			return d
		},
		"two namespaces swapped": func(d sandbox.PeerDiagram) sandbox.PeerDiagram {
			d.Tables[1], d.Tables[2] = d.Tables[2], d.Tables[1]
			return d
		},
	}
	for name, f := range doctor {
		if bad := crossCheck(f(deepCopy(d)), truth); len(bad) == 0 {
			t.Errorf("the cross-check passes a doctored diagram (%s)", name)
		} else {
			t.Logf("doctored (%s), found: %s", name, bad[0])
		}
	}

	// The learner's trap, then a new peer: the next observation shows it.
	if _, err := lessons.Shell(ctx, box, "mount --make-shared "+propagationPrivate); err != nil {
		t.Fatal(err)
	}
	after := check("private made shared")
	if slices.EqualFunc(after.Groups, d.Groups, func(a, b sandbox.DiagramGroup) bool { return a.ID == b.ID }) {
		t.Errorf("the diagram did not change after mount --make-shared %s: groups %v", propagationPrivate, after.Groups)
	}
}

// deepCopy copies a diagram down to its roles, so that doctoring the copy
// leaves the original alone.
func deepCopy(d sandbox.PeerDiagram) sandbox.PeerDiagram {
	d.Tables = slices.Clone(d.Tables)
	d.Groups = slices.Clone(d.Groups)
	for i, g := range d.Groups {
		d.Groups[i].Rows = slices.Clone(g.Rows)
		for j, r := range d.Groups[i].Rows {
			d.Groups[i].Rows[j].Roles = slices.Clone(r.Roles)
		}
	}
	return d
}
