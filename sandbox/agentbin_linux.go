package sandbox

import (
	"context"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// AgentName is the slim agent binary (cmd/nslab-agent: this package's
// hidden entries and nothing else) that the engine looks for beside the
// running executable. An agent started from it skips the package init
// and page faults of everything nslab links for its screens (ui, goldmark,
// TOML, the lessons), which every agent start through /proc/self/exe pays.
const AgentName = "nslab-agent"

// agentFDMin is the lowest fd the engine keeps the agent binary at. A
// child execs it as /proc/self/fd/N, after os/exec has moved the child's
// ExtraFiles to 3, 4, 5 and, on the way, dup'ed some above them
// (syscall's forkAndExecInChild: at most 2·len(files)+1): N must be above
// all of those.
const agentFDMin = 64

// sources are this package's Go files, hashed into the build fingerprint
// that nslab and the agent binary must share. The module version and VCS
// revision alone would not tell two development builds of a dirty tree
// apart; the agent's code and protocol are in these files.
//
//go:embed *.go
var sources embed.FS

// buildFingerprint names this build of the engine and its agent: the Go
// toolchain, the module's version and VCS stamp, and a hash of this
// package's sources. Computed on demand (once per engine), not at init.
// FNV, not SHA-256: this names a build, it guards nothing (a hostile
// binary could print any fingerprint; openAgent's ownership checks guard),
// and crypto/sha256 would add 26 packages to every agent's start.
func buildFingerprint() string {
	h := fnv.New128a()
	fmt.Fprintf(h, "%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintf(h, "%s %s %s\n", bi.Main.Path, bi.Main.Version, bi.Main.Sum)
		for _, s := range bi.Settings {
			if strings.HasPrefix(s.Key, "vcs.") || s.Key == "CGO_ENABLED" || s.Key == "-tags" {
				fmt.Fprintf(h, "%s=%s\n", s.Key, s.Value)
			}
		}
	}
	entries, _ := fs.ReadDir(sources, ".")
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		b, _ := fs.ReadFile(sources, e.Name())
		fmt.Fprintf(h, "%s %d\n", e.Name(), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// agentExe is the executable agents start from.
type agentExe struct {
	path string   // what the engine execs: /proc/self/fd/N or /proc/self/exe
	file *os.File // the slim agent binary held open at fd N; nil for /proc/self/exe
	note string   // which one, and why, for `nslab version`
}

func (a agentExe) close() {
	if a.file != nil {
		a.file.Close()
	}
}

// errAgent wraps every reason a slim agent binary was not used.
var errAgent = errors.New("no usable " + AgentName)

// FindAgent says which executable an engine started now would run its
// agents from, and why: for `nslab version` and the doctor.
func FindAgent() string {
	a := findAgent(selfDir(), buildFingerprint())
	a.close()
	return a.note
}

func selfDir() string {
	self, err := os.Executable()
	if err != nil {
		return ""
	}
	return filepath.Dir(self)
}

// findAgent opens dir/nslab-agent once and checks it: kept open as an fd,
// the engine's agents run the file checked here even if it is replaced or
// deleted later (as /proc/self/exe reaches the running nslab). Without a
// usable one, agents start from /proc/self/exe, this binary itself. want
// is the build fingerprint the agent binary must print.
func findAgent(dir, want string) agentExe {
	if dir == "" {
		return selfAgent("nslab's directory is unknown", "DIR")
	}
	path := filepath.Join(dir, AgentName)
	f, err := openAgent(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return selfAgent(fmt.Sprintf("%s is missing (as under go run, or with only nslab installed)", path), dir)
		}
		return selfAgent(err.Error(), dir)
	}
	a := agentExe{path: "/proc/self/fd/" + strconv.Itoa(int(f.Fd())), file: f,
		note: "agents start from " + path + ", the slim agent binary"}
	if err := a.checkBuild(want); err != nil {
		a.close()
		return selfAgent(err.Error(), dir)
	}
	return a
}

// selfAgent is the fallback: this binary, through the magic link that
// reaches it even if its file was replaced or deleted since, and that
// skips directory permission checks.
func selfAgent(why, dir string) agentExe {
	return agentExe{path: "/proc/self/exe", note: "agents start from nslab itself (/proc/self/exe), each paying nslab's whole start: " +
		why + "; build the slim agent beside nslab with `go build -o " + filepath.Join(dir, AgentName) + " ./cmd/" + AgentName + "`"}
}

// openAgent opens path and checks that it is a regular executable file
// only its owner can change, and that owner is root or the user nslab runs
// as: a root nslab must not run a binary someone else could replace. The
// checks are on the open file, so the file checked is the file run.
func openAgent(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errAgent, err)
	}
	// Move it above the fds a child's ExtraFiles pass through.
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, agentFDMin)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%w: dup %s: %w", errAgent, path, err)
	}
	f = os.NewFile(uintptr(fd), path)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: stat %s: %w", errAgent, path, err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		err = fmt.Errorf("%w: %s is not a regular file", errAgent, path)
	case st.Mode&0o111 == 0:
		err = fmt.Errorf("%w: %s is not executable", errAgent, path)
	case st.Mode&0o022 != 0:
		err = fmt.Errorf("%w: %s is writable by group or others (chmod go-w it)", errAgent, path)
	case st.Uid != 0 && int(st.Uid) != os.Geteuid():
		err = fmt.Errorf("%w: %s belongs to uid %d, neither root nor nslab's user", errAgent, path, st.Uid)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkBuild runs the agent binary's build entry and compares its
// fingerprint with this binary's: an agent from another build would speak
// another protocol. It also proves the file can be executed here (not on
// a noexec mount, not for another architecture).
func (a agentExe) checkBuild(want string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, a.path, hiddenBuild)
	cmd.Env = cleanEnv()
	cmd.Dir = "/"
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%w: %s does not run here: %w", errAgent, a.file.Name(), err)
	}
	if strings.TrimSpace(string(out)) != want {
		return fmt.Errorf("%w: %s is from another build of nslab (build both from the same source)", errAgent, a.file.Name())
	}
	return nil
}
