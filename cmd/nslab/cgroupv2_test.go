package main

// The cgroup v2-only pass: this VM is hybrid (v1 controllers, the unified
// hierarchy at /sys/fs/cgroup/unified), most learners' machines are not.
// Every lesson runs in a mount namespace of its own (unshare(1), made
// private first) where /sys/fs/cgroup is one cgroup2 mount, as on a
// v2-only machine. The kernel's v1 hierarchies still exist (so
// /proc/PID/cgroup keeps its v1 lines here); everything nslab finds by
// looking at /sys/fs/cgroup sees v2 only.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/sandbox"
)

// v2Script makes the calling mount namespace's /sys/fs/cgroup a pure
// cgroup2 mount, checks it, and runs the command after it.
const v2Script = `set -e
mount -t cgroup2 cgroup2 /sys/fs/cgroup
[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || { echo "/sys/fs/cgroup is not cgroup2" >&2; exit 97; }
exec "$@"`

// inV2Only runs nslab with args in a private mount namespace whose
// /sys/fs/cgroup is cgroup2 only (v2 false: the host's layout, the
// control).
func inV2Only(t *testing.T, v2 bool, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	script := `exec "$@"`
	if v2 {
		script = v2Script
	}
	argv := append([]string{"--mount", "--propagation", "private", "sh", "-c", script, "sh", needBinary(t)}, args...)
	cmd := exec.CommandContext(ctx, "unshare", argv...)
	cmd.Env = baseEnv(t.TempDir())
	cmd.WaitDelay = 5 * time.Second
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("unshare %v: %v", args, err)
	}
	return r
}

// doctorCgroup is the cgroup layout nslab doctor --json reports.
func doctorCgroup(t *testing.T, r result) string {
	t.Helper()
	var d struct {
		Machine struct {
			Cgroup string `json:"cgroup"`
		} `json:"machine"`
		Cgroup string `json:"cgroup"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, r)
	}
	if d.Machine.Cgroup != "" {
		return d.Machine.Cgroup
	}
	return d.Cgroup
}

// runLines is one run's JSON lines that this pass checks.
type runLines struct {
	facts    []string // facts the kernel did not confirm
	mkdirats []string // the mkdirat events' paths
	child    string   // lesson cgroup's Extra: the child cgroup
}

func parseRun(t *testing.T, out string) runLines {
	t.Helper()
	var rl runLines
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var l struct {
			Type  string `json:"type"`
			Text  string `json:"text"`
			OK    bool   `json:"ok"`
			Got   string `json:"got"`
			Event struct {
				Syscall string   `json:"syscall"`
				Args    []string `json:"args"`
			} `json:"event"`
			Extra map[string]string `json:"extra"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		switch l.Type {
		case "fact":
			if !l.OK {
				rl.facts = append(rl.facts, l.Text+" ("+l.Got+")")
			}
		case "event":
			if l.Event.Syscall == "mkdirat" && len(l.Event.Args) > 1 {
				rl.mkdirats = append(rl.mkdirats, strings.Trim(l.Event.Args[1], `"`))
			}
		case "extra":
			rl.child = l.Extra["cgroup.child"]
		}
	}
	return rl
}

// childOnV2Mount checks that the cgroup lesson made its child cgroup on
// the v2-only mount, /sys/fs/cgroup itself.
func childOnV2Mount(rl runLines) error {
	if rl.child == "" || len(rl.mkdirats) == 0 {
		return fmt.Errorf("the cgroup lesson made no child cgroup (child %q, mkdirat %v)", rl.child, rl.mkdirats)
	}
	if want := "/sys/fs/cgroup" + rl.child; rl.mkdirats[0] != want {
		return fmt.Errorf("the child cgroup was made at %s, want %s (the v2-only mount, not /sys/fs/cgroup/unified)", rl.mkdirats[0], want)
	}
	return nil
}

// TestCgroupV2OnlyPass runs every lesson with --solve where /sys/fs/cgroup
// is cgroup2 only, and the doctor there: the machine facts must say v2,
// every lesson must pass with every fact confirmed, and the cgroup lesson
// must put its agent in a child cgroup of the v2 mount there. The host,
// its cgroups in every hierarchy included, is compared before and after.
func TestCgroupV2OnlyPass(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare(1) from util-linux")
	}
	layout, v2dir, err := sandbox.CgroupLayout()
	if err != nil || v2dir == "" {
		t.Skipf("this kernel has no cgroup v2 hierarchy to mount (%s, %v)", layout, err)
	}
	before := readHost(t)
	defer checkHostUnchanged(t, before)

	// The control: without the mount, the doctor reports the host's
	// layout, so a "v2" below comes from the pass's own mount.
	if got := doctorCgroup(t, inV2Only(t, false, "doctor", "--json")); got != layout {
		t.Fatalf("doctor in a private namespace without the cgroup2 mount says %q, the host is %q", got, layout)
	}
	if got := doctorCgroup(t, inV2Only(t, true, "doctor", "--json")); got != sandbox.CgroupV2 {
		t.Fatalf("doctor where /sys/fs/cgroup is cgroup2 only says %q, want %q", got, sandbox.CgroupV2)
	}
	for _, id := range catalogIDs(t) {
		t.Run(id, func(t *testing.T) {
			start := time.Now()
			r := inV2Only(t, true, "run", id, "--json", "--solve")
			if r.code != 0 {
				t.Fatalf("nslab run %s --json --solve on cgroup v2 only:\n%s", id, r)
			}
			rl := parseRun(t, r.stdout)
			for _, f := range rl.facts {
				t.Errorf("fact not confirmed on cgroup v2 only: %s", f)
			}
			if id == "cgroup" {
				if err := childOnV2Mount(rl); err != nil {
					t.Error(err)
				}
				if layout == sandbox.CgroupHybrid {
					// The control: on the host's hybrid layout the child is
					// made under /sys/fs/cgroup/unified, which the check
					// must reject.
					if childOnV2Mount(parseRun(t, inV2Only(t, false, "run", id, "--json", "--solve").stdout)) == nil {
						t.Error("the child-cgroup check accepts the hybrid layout's child")
					}
				}
			}
			t.Logf("%s: exit 0 in %v", id, time.Since(start).Round(time.Millisecond))
		})
	}
}
