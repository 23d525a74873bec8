package lessons

// The content lint: the catalogue's structure, each lesson's seven parts,
// the completeness of its logic, and the accuracy of what it cites (man
// pages, C signatures). It fails while a lesson is a placeholder, by
// design: a lesson is done when it passes.

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/nslab/nslab/sandbox"
)

// knownManPages are real man pages (man-pages and util-linux, iproute2,
// procps) that a lesson may cite. A page outside this list is either a
// typo or needs adding here after checking it exists.
func knownManPages() map[string]bool {
	m := map[string]bool{}
	for _, p := range []string{
		// namespaces and the three system calls
		"namespaces(7)", "clone(2)", "clone3(2)", "unshare(2)", "setns(2)", "ioctl_ns(2)",
		"uts_namespaces(7)", "pid_namespaces(7)", "mount_namespaces(7)", "network_namespaces(7)",
		"ipc_namespaces(7)", "user_namespaces(7)", "cgroup_namespaces(7)", "time_namespaces(7)",
		"capabilities(7)", "credentials(7)", "cgroups(7)", "pidfd_open(2)",
		// what lessons do inside
		"sethostname(2)", "setdomainname(2)", "gethostname(2)", "getdomainname(2)", "uname(2)",
		"mount(2)", "umount(2)", "umount2(2)", "pivot_root(2)", "chroot(2)",
		"fork(2)", "vfork(2)", "execve(2)", "getpid(2)", "getppid(2)", "wait(2)", "waitpid(2)", "prctl(2)",
		"clock_gettime(2)", "clock_getres(2)", "getuid(2)", "setuid(2)", "setgroups(2)",
		"msgget(2)", "shmget(2)", "semget(2)", "mq_open(3)", "mq_overview(7)", "sysvipc(7)",
		"socket(2)", "veth(4)", "netdevice(7)", "proc(5)", "subuid(5)", "subgid(5)",
		// commands
		"unshare(1)", "nsenter(1)", "lsns(8)", "ps(1)", "hostname(1)", "domainname(1)", "uname(1)",
		"findmnt(8)", "mount(8)", "umount(8)", "readlink(1)", "stat(1)", "id(1)", "kill(1)",
		"ip(8)", "ip-link(8)", "ip-address(8)", "ip-route(8)", "ip-netns(8)", "ping(8)",
		"ipcs(1)", "ipcmk(1)", "ipcrm(1)", "newuidmap(1)", "newgidmap(1)", "uptime(1)", "sysctl(8)",
	} {
		m[p] = true
	}
	return m
}

// signatures are the C prototypes of the three namespace system calls, as
// the lessons must quote them (whitespace-insensitive).
func signatures() map[string]string {
	return map[string]string{
		"clone":   "int clone(int (*fn)(void *), void *stack, int flags, void *arg)",
		"setns":   "int setns(int fd, int nstype)",
		"unshare": "int unshare(int flags)",
	}
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestLintCatalogue(t *testing.T) {
	folders, err := Folders()
	if err != nil {
		t.Fatal(err)
	}
	reg := registry()
	seen := map[string]string{}
	numbers := map[int]string{}
	for _, dir := range folders {
		num, slug, ok := strings.Cut(dir, "-")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 2 {
			t.Errorf("folder %s is not named NN-slug", dir)
			continue
		}
		l, err := loadLesson(dir)
		if err != nil {
			t.Errorf("folder %s: %v", dir, err)
			continue
		}
		if l.ID != slug {
			t.Errorf("folder %s: meta id %q is not the folder's slug %q", dir, l.ID, slug)
		}
		if l.Number != n {
			t.Errorf("folder %s: meta number %d is not the folder's prefix %d", dir, l.Number, n)
		}
		if prev, dup := seen[l.ID]; dup {
			t.Errorf("id %q in both %s and %s", l.ID, prev, dir)
		}
		seen[l.ID] = dir
		if prev, dup := numbers[l.Number]; dup {
			t.Errorf("number %d in both %s and %s", l.Number, prev, dir)
		}
		numbers[l.Number] = dir
		if _, ok := reg[l.ID]; !ok {
			t.Errorf("folder %s: id %q is not registered", dir, l.ID)
		}
	}
	for id := range reg {
		if _, ok := seen[id]; !ok {
			t.Errorf("registered id %q has no folder", id)
		}
	}
	for i := 1; i <= len(folders); i++ {
		if _, ok := numbers[i]; !ok {
			t.Errorf("lesson numbers are not contiguous: %d is missing", i)
		}
	}
	if len(folders) != 12 {
		t.Errorf("%d lesson folders, want 12", len(folders))
	}
	if _, err := Catalog(); err != nil {
		t.Errorf("Catalog: %v", err)
	}
}

func TestLintLessons(t *testing.T) {
	all, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range all {
		t.Run(fmt.Sprintf("%02d-%s", l.Number, l.ID), func(t *testing.T) {
			for _, p := range lintLesson(l) {
				t.Error(p)
			}
		})
	}
}

// lintLesson lists what is wrong with one lesson.
func lintLesson(l Lesson) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	// Metadata.
	if l.Title == "" || l.Summary == "" || l.Minutes <= 0 || l.Command == "" {
		bad("meta.json lacks a title, summary, minutes or command")
	}
	if len(l.Kinds) == 0 {
		bad("meta.json names no namespace kind")
	}
	for _, k := range l.Kinds {
		if _, err := sandbox.KindByName(k); err != nil {
			bad("meta.json kind %q: %v", k, err)
		}
	}

	// The seven parts, in order, non-empty.
	parts := Parts()
	if len(l.Sections) != len(parts) {
		bad("%d sections, want %d (%v)", len(l.Sections), len(parts), parts)
	}
	for i, p := range parts {
		if i >= len(l.Sections) {
			bad("part %s missing", p)
			continue
		}
		s := l.Sections[i]
		if s.Part != p {
			bad("section %d is %q, want %q", i+1, s.Part, p)
		}
		if strings.TrimSpace(s.Body) == "" {
			bad("part %s has an empty body", p)
		}
	}

	// Logic.
	lg := l.Logic
	if lg.Perform == nil {
		bad("no Perform")
	}
	if len(lg.Views) == 0 {
		bad("no Views")
	}
	if lg.Facts == nil {
		bad("no Facts")
	}
	if len(lg.Prediction.Choices) < 2 || lg.Prediction.Question == "" || lg.Prediction.Answer == nil {
		bad("prediction needs a question, at least two choices and an Answer")
	}
	ch := lg.Challenge
	if ch.Task == "" {
		bad("challenge has no task")
	}
	if len(ch.Hints) < 1 || len(ch.Hints) > 3 {
		bad("challenge has %d hints, want 1 to 3", len(ch.Hints))
	}
	for i, h := range ch.Hints {
		if strings.TrimSpace(h) == "" {
			bad("hint %d is empty", i+1)
		}
	}
	if len(ch.Solution) == 0 {
		bad("challenge has no solution")
	}
	if ch.Check == nil || ch.Solve == nil {
		bad("challenge needs Check and Solve")
	}
	if len(lg.Experiments) == 0 {
		bad("no experiments")
	}

	// Man pages cited in meta.json and in the Recap are real.
	known := knownManPages()
	manPageRE := regexp.MustCompile(`\b([a-z][a-z0-9_.+-]*)\(([1-8])\)`)
	cited := append([]string(nil), l.ManPages...)
	cited = append(cited, manPageRE.FindAllString(l.Section(PartRecap).Body, -1)...)
	if len(cited) == 0 {
		bad("cites no man page")
	}
	for _, m := range cited {
		if !known[m] {
			bad("man page %q is not in the list of known man pages", m)
		}
	}
	if len(manPageRE.FindAllString(l.Section(PartRecap).Body, -1)) == 0 {
		bad("the Recap names no man page to read")
	}

	// The C signature of every namespace call the lesson uses is quoted.
	var text strings.Builder
	for _, s := range l.Sections {
		text.WriteString(s.Body)
		text.WriteByte('\n')
	}
	body := squash(text.String())
	for _, sc := range l.Syscalls {
		if sig, ok := signatures()[sc]; ok && !strings.Contains(body, squash(sig)) {
			bad("uses %s but does not quote its signature %q", sc, sig)
		}
	}
	return out
}

// TestLintCatchesProblems shows the lint can fail: a lesson with a missing
// part, a made-up man page and no signature is reported on each count.
func TestLintCatchesProblems(t *testing.T) {
	l := Lesson{
		Meta: Meta{ID: "x", Number: 1, Title: "t", Summary: "s", Minutes: 1, Command: "c", Kinds: []string{"uts"},
			Syscalls: []string{"unshare"}, ManPages: []string{"namespaces(7)", "nosuchpage(7)"}},
		Sections: ParseSections("## Concept\nx\n## Predict\nx\n## Perform\nx\n## Observe\nx\n## Experiment\nx\n## Recap\nRead: made_up(2)\n"),
	}
	got := strings.Join(lintLesson(l), "\n")
	for _, want := range []string{"6 sections", "nosuchpage(7)", "made_up(2)", "int unshare(int flags)", "no Perform", "challenge has no task"} {
		if !strings.Contains(got, want) {
			t.Errorf("lint did not report %q; it said:\n%s", want, got)
		}
	}
}
