package sandbox

// Benchmarks of observation. Reproduce (as root, for the PID and mount
// namespaces):
//
//	go test ./sandbox/ -run '^$' -bench 'Observe|Mountinfo|DiffAll|SnapshotPair' -benchmem -benchtime 2s
//
// The process benchmarks start 100 or 300 extra `sleep` processes as the
// members of a new PID namespace; the mount benchmarks mount 50 or 100
// extra tmpfs in a private mount namespace entered by one throwaway thread,
// so the host's mount table never sees them.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// cpuTime is the CPU this process has used, user and system. Benchmarks
// report it per operation next to wall time because a loaded machine
// (CI, two cores shared with compilers) stretches wall time.
func cpuTime() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measureCPU runs the benchmark loop and reports cpu-ns/op.
func measureCPU(b *testing.B, loop func()) {
	b.Helper()
	start := cpuTime()
	loop()
	if b.N > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
}

// measureCPUChildren is measureCPU for a loop that runs commands: their
// CPU counts too.
func measureCPUChildren(b *testing.B, loop func()) {
	b.Helper()
	var before, after unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_CHILDREN, &before)
	self := cpuTime()
	loop()
	_ = unix.Getrusage(unix.RUSAGE_CHILDREN, &after)
	kids := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	if b.N > 0 {
		b.ReportMetric(float64(cpuTime()-self+kids)/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkObserveHost(b *testing.B) {
	var noPIDs []View
	for _, v := range AllViews() {
		if v != ViewPIDs {
			noPIDs = append(noPIDs, v)
		}
	}
	for _, c := range []struct {
		name  string
		views []View
	}{{"all", AllViews()}, {"without-pids", noPIDs}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			measureCPU(b, func() {
				for b.Loop() {
					s := ObserveHost(c.views)
					if len(s.Errs) != 0 {
						b.Fatal(s.Errs)
					}
				}
			})
		})
	}
}

// startSleepers starts a new PID namespace holding n sleeping processes
// (plus the shell that is its init) and returns the namespace.
func startSleepers(b *testing.B, n int) NSID {
	b.Helper()
	script := `i=0; while [ $i -lt ` + strconv.Itoa(n) + ` ]; do sleep 600 & i=$((i+1)); done; wait`
	cmd := startInNewPIDNS(b, "sh", "-c", script)
	ns, err := readNSID("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/pid")
	if err != nil {
		b.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ps, err := ObserveProcs(ns)
		if err != nil {
			b.Fatal(err)
		}
		sleeping := 0
		for _, p := range ps {
			if p.Comm == "sleep" {
				sleeping++
			}
		}
		if sleeping == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d sleepers started", sleeping, n)
		}
	}
	return ns
}

func BenchmarkObserveProcs(b *testing.B) {
	requireRoot(b)
	for _, n := range []int{100, 300} {
		b.Run("extra="+strconv.Itoa(n), func(b *testing.B) {
			observeHostFingerprint(b)
			ns := startSleepers(b, n)
			names, _ := listPIDs()
			b.Logf("%d processes on the host, %d in the namespace", len(names), n+1)
			b.Run("ObserveProcs", func(b *testing.B) {
				b.ReportAllocs()
				measureCPU(b, func() {
					for b.Loop() {
						ps, err := ObserveProcs(ns)
						if err != nil || len(ps) != n+1 {
							b.Fatalf("%d processes, %v", len(ps), err)
						}
					}
				})
			})
			// The same listing by ps(1), for a ratio measured in the same
			// run (it includes ps's own fork and exec).
			b.Run("ps", func(b *testing.B) {
				if _, err := exec.LookPath("ps"); err != nil {
					b.Skip("no ps(1)")
				}
				measureCPUChildren(b, func() {
					for b.Loop() {
						if err := exec.Command("ps", "-e", "-o", "pid,ppid,stat,comm,args").Run(); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
			b.Run("ObserveAllProcs", func(b *testing.B) {
				b.ReportAllocs()
				measureCPU(b, func() {
					for b.Loop() {
						if _, err := ObserveAllProcs(); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		})
	}
}

// BenchmarkSnapshotPair is what one refresh of a lesson screen costs the
// engine, minus the agent round trip: the host's snapshot of every view,
// a snapshot of the other views on a thread in new namespaces, the
// sandbox's processes from the host's /proc, and the diff of every view.
func BenchmarkSnapshotPair(b *testing.B) {
	requireRoot(b)
	for _, n := range []int{0, 300} {
		b.Run("extra-procs="+strconv.Itoa(n), func(b *testing.B) {
			observeHostFingerprint(b)
			var ns NSID
			if n > 0 {
				ns = startSleepers(b, n)
			} else {
				ns = startInNewPIDNSID(b)
			}
			var noPIDs []View
			for _, v := range AllViews() {
				if v != ViewPIDs {
					noPIDs = append(noPIDs, v)
				}
			}
			var fail error
			onThrowawayThread(func() {
				if err := unshareForBench(); err != nil {
					fail = err
					return
				}
				b.ReportAllocs()
				b.ResetTimer()
				start := cpuTime()
				for i := 0; i < b.N; i++ {
					host := ObserveHost(AllViews())
					sb := ObserveSelf(noPIDs)
					sb.Views = AllViews()
					var err error
					if sb.Procs, err = ObserveProcs(ns); err != nil {
						fail = err
						return
					}
					_ = DiffAll(host, sb)
				}
				b.StopTimer()
				b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
			})
			if fail != nil {
				b.Fatal(fail)
			}
		})
	}
}

// startInNewPIDNSID starts one sleeper as PID 1 of a new PID namespace.
func startInNewPIDNSID(b *testing.B) NSID {
	cmd := startInNewPIDNS(b, "sleep", "600")
	ns, err := readNSID("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/pid")
	if err != nil {
		b.Fatal(err)
	}
	return ns
}

// unshareForBench moves the calling (throwaway, locked) thread into new
// UTS, network, IPC and mount namespaces, the mount one made private
// before anything else, and refuses if any is still the host's.
func unshareForBench() error {
	if err := unix.Unshare(unix.CLONE_FS | unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWNET | unix.CLONE_NEWIPC); err != nil {
		return fmt.Errorf("unshare: %w", err)
	}
	for _, kind := range []string{"uts", "mnt", "net", "ipc"} {
		mine, err1 := readNSID("/proc/thread-self/ns/" + kind)
		hosts, err2 := readNSID("/proc/self/ns/" + kind)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		if mine == hosts {
			return fmt.Errorf("the thread still shares the host's %s namespace", kind)
		}
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	return nil
}

// BenchmarkObserveSelfMounts measures the mount view (and all views but
// pids) on a thread whose private mount namespace holds extra tmpfs mounts.
func BenchmarkObserveSelfMounts(b *testing.B) {
	requireRoot(b)
	for _, n := range []int{50, 100} {
		b.Run("extra="+strconv.Itoa(n), func(b *testing.B) {
			observeHostFingerprint(b)
			dir := b.TempDir()
			for i := range n {
				if err := os.Mkdir(filepath.Join(dir, strconv.Itoa(i)), 0o700); err != nil {
					b.Fatal(err)
				}
			}
			var fail error
			onThrowawayThread(func() {
				if err := unshareForBench(); err != nil {
					fail = err
					return
				}
				for i := range n {
					if err := unix.Mount("nslab-bench", filepath.Join(dir, strconv.Itoa(i)), "tmpfs", 0, "size=16k"); err != nil {
						fail = err
						return
					}
				}
				s := ObserveSelf([]View{ViewMount})
				if len(s.Errs) != 0 || len(s.Mounts) < n {
					fail = fmt.Errorf("%d mounts, %v", len(s.Mounts), s.Errs)
					return
				}
				b.ReportMetric(float64(len(s.Mounts)), "mounts")
				b.ReportAllocs()
				b.ResetTimer()
				start := cpuTime()
				for i := 0; i < b.N; i++ {
					ObserveSelf([]View{ViewMount})
				}
				b.StopTimer()
				b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
			})
			if fail != nil {
				b.Fatal(fail)
			}
		})
	}
}

// mountinfoText makes n mountinfo lines in the kernel's format, a mix of
// shared, slave and private mounts.
func mountinfoText(n int) string {
	var sb strings.Builder
	sb.WriteString("26 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard\n")
	for i := 1; i < n; i++ {
		opt := ""
		switch i % 3 {
		case 0:
			opt = "shared:" + strconv.Itoa(i) + " "
		case 1:
			opt = "master:" + strconv.Itoa(i) + " "
		}
		fmt.Fprintf(&sb, "%d 26 0:%d / /var/lib/nslab/mnt%d rw,nosuid,nodev,relatime %s- tmpfs tmpfs rw,size=65536k,mode=755\n", 26+i, 30+i, i, opt)
	}
	return sb.String()
}

// BenchmarkMountTable compares the live mount view with findmnt(1) in the
// same run.
func BenchmarkMountTable(b *testing.B) {
	b.Run("ObserveSelf", func(b *testing.B) {
		b.ReportAllocs()
		measureCPU(b, func() {
			onThrowawayThread(func() {
				for b.Loop() {
					ObserveSelf([]View{ViewMount})
				}
			})
		})
	})
	b.Run("findmnt", func(b *testing.B) {
		if _, err := exec.LookPath("findmnt"); err != nil {
			b.Skip("no findmnt(8)")
		}
		measureCPUChildren(b, func() {
			for b.Loop() {
				if err := exec.Command("findmnt", "-rn", "-o", "TARGET,FSTYPE,SOURCE,PROPAGATION").Run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

func BenchmarkParseMountinfo(b *testing.B) {
	for _, n := range []int{100, 200} {
		b.Run("lines="+strconv.Itoa(n), func(b *testing.B) {
			p := filepath.Join(b.TempDir(), "mountinfo")
			if err := os.WriteFile(p, []byte(mountinfoText(n)), 0o600); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			measureCPU(b, func() {
				for b.Loop() {
					ms, err := readMounts(p)
					if err != nil || len(ms) != n {
						b.Fatalf("%d mounts, %v", len(ms), err)
					}
				}
			})
		})
	}
}

// BenchmarkDiffAll diffs a host of 300 processes and 100 mounts against a
// sandbox of 5 processes and 100 mounts.
func BenchmarkDiffAll(b *testing.B) {
	var host, sb Snapshot
	host.Views, sb.Views = AllViews(), AllViews()
	for pid := 1; pid <= 300; pid++ {
		host.Procs = append(host.Procs, Proc{HostPID: pid, PID: pid, Comm: "p"})
	}
	for pid := 296; pid <= 300; pid++ {
		sb.Procs = append(sb.Procs, Proc{HostPID: pid, PID: pid - 295, Comm: "p"})
	}
	for i := range 100 {
		m := Mount{Mountpoint: "/m/" + strconv.Itoa(i), FSType: "tmpfs", Source: "tmpfs", Propagation: "shared:1"}
		host.Mounts = append(host.Mounts, m)
		m.Propagation = "private"
		sb.Mounts = append(sb.Mounts, m)
	}
	b.ReportAllocs()
	measureCPU(b, func() {
		for b.Loop() {
			d := DiffAll(host, sb)
			if len(d[ViewPIDs]) != 300 || len(d[ViewMount]) != 100 {
				b.Fatal("wrong rows")
			}
		}
	})
}
