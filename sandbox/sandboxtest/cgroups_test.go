package sandboxtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
)

// TestHostPrintCatchesACgroup shows the fingerprint can fail on a cgroup
// left behind: a cgroup named like nslab's, made after the print in each
// hierarchy mounted here (v1 and v2), is reported; removed, the host is
// back to what it was. A cgroup named otherwise is not nslab's and not
// compared (systemd makes and removes its own all the time).
func TestHostPrintCatchesACgroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: it makes cgroups on the host")
	}
	ms, err := mountinfo.GetMounts(func(i *mountinfo.Info) (skip, stop bool) {
		return i.FSType != "cgroup" && i.FSType != "cgroup2", false
	})
	if err != nil || len(ms) == 0 {
		t.Skipf("no cgroup file system mounted (%v)", err)
	}
	before := TakeHostPrint(t)
	name := cgroupPrefix + "fingerprint-test-" + strconv.Itoa(os.Getpid())
	var made []string
	t.Cleanup(func() {
		for _, d := range made {
			if err := os.Remove(d); err != nil {
				t.Errorf("remove %s: %v", d, err)
			}
		}
	})
	for _, m := range ms {
		d := filepath.Join(m.Mountpoint, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Logf("cannot make a cgroup in %s (%s): %v", m.Mountpoint, m.FSType, err)
			continue
		}
		made = append(made, d)
	}
	if len(made) == 0 {
		t.Skip("no hierarchy takes a new cgroup here")
	}
	d := before.Diff(TakeHostPrint(t))
	for _, m := range made {
		mp := filepath.Dir(m)
		if !strings.Contains(d, mp+":/"+name) {
			t.Errorf("the print misses the cgroup left in %s:\n%s", mp, d)
		}
	}
	for _, m := range made {
		if err := os.Remove(m); err != nil {
			t.Fatal(err)
		}
	}
	made = nil
	if d := before.Diff(TakeHostPrint(t)); d != "" {
		t.Errorf("the host differs once the cgroups are removed:\n%s", d)
	}
}
