package lessons

// The content lint: the catalogue's structure, each lesson's seven parts,
// its data (prediction, challenge, experiments, sources) and the
// completeness of its logic, and the accuracy of what it cites (man pages,
// C signatures). It fails while a lesson is a placeholder, by design: a
// lesson is done when it passes. It lives outside the tests so that a test
// can lint a catalogue copied elsewhere.

import (
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"

	"github.com/nslab/nslab/sandbox"
)

// LintCatalogue lists what is wrong with the catalogue in fsys joined with
// logics: folder names, ids, numbers, registrations both ways, and every
// lesson's own problems (Lint), each prefixed with its folder.
func LintCatalogue(fsys fs.FS, logics map[string]func() Logic) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	folders, err := Folders(fsys)
	if err != nil {
		return []string{err.Error()}
	}
	seen := map[string]string{}
	numbers := map[int]string{}
	for _, dir := range folders {
		num, slug, ok := strings.Cut(dir, "-")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 2 {
			bad("folder %s is not named NN-id", dir)
			continue
		}
		l, err := loadFolder(fsys, dir)
		if err != nil {
			bad("folder %s: %v", dir, err)
			continue
		}
		if l.ID != slug {
			bad("folder %s: id %q is not the folder's name after the number, %q", dir, l.ID, slug)
		}
		if l.Number != n {
			bad("folder %s: number %d is not the folder's prefix %d", dir, l.Number, n)
		}
		if prev, dup := seen[l.ID]; dup {
			bad("id %q in both %s and %s", l.ID, prev, dir)
		}
		seen[l.ID] = dir
		if prev, dup := numbers[l.Number]; dup {
			bad("number %d in both %s and %s", l.Number, prev, dir)
		}
		numbers[l.Number] = dir
		lg, ok := logics[l.ID]
		if !ok {
			bad("folder %s: id %q is not registered", dir, l.ID)
			continue
		}
		l.Logic = lg()
		for _, p := range Lint(l) {
			bad("%s: %s", dir, p)
		}
	}
	for id := range logics {
		if _, ok := seen[id]; !ok {
			bad("registered id %q has no folder", id)
		}
	}
	for i := 1; i <= len(folders); i++ {
		if _, ok := numbers[i]; !ok {
			bad("lesson numbers are not contiguous: %d is missing", i)
		}
	}
	return out
}

// Lint lists what is wrong with one lesson: its metadata, text, data and
// logic.
func Lint(l Lesson) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	// Metadata.
	if l.Title == "" || l.Summary == "" || l.Minutes <= 0 || l.Command == "" {
		bad("lesson.toml lacks a title, summary, minutes or command")
	}
	if len(l.Kinds) == 0 {
		bad("lesson.toml names no namespace kind")
	}
	for _, k := range l.Kinds {
		if _, err := sandbox.KindByName(k); err != nil {
			bad("lesson.toml kind %q: %v", k, err)
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

	// Data: every prompt present, and no empty line in a list.
	blank := func(what string, ss []string) {
		for i, s := range ss {
			if strings.TrimSpace(s) == "" {
				bad("%s %d is empty", what, i+1)
			}
		}
	}
	if strings.TrimSpace(l.Prediction.Question) == "" || len(l.Prediction.Choices) < 2 {
		bad("prediction needs a question and at least two choices")
	}
	blank("choice", l.Prediction.Choices)
	if r := l.Prediction.Right; r < 1 || r > len(l.Prediction.Choices) {
		bad("prediction's right = %d: name the choice the kernel makes right, 1 to %d (the seeded order is anchored on it)", r, len(l.Prediction.Choices))
	}
	ch := l.Challenge
	if strings.TrimSpace(ch.Task) == "" {
		bad("challenge has no task")
	}
	if len(ch.Hints) < 1 || len(ch.Hints) > 3 {
		bad("challenge has %d hints, want 1 to 3", len(ch.Hints))
	}
	blank("hint", ch.Hints)
	commands := 0
	for _, s := range ch.Solution {
		if s = strings.TrimSpace(s); s != "" && !strings.HasPrefix(s, "#") {
			commands++
		}
	}
	if commands == 0 {
		bad("challenge has no solution command")
	}
	blank("solution line", ch.Solution)
	if len(l.Experiments) == 0 {
		bad("no experiments")
	}
	blank("experiment", l.Experiments)

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
	if lg.Answer == nil {
		bad("the prediction has no Answer")
	}
	if lg.Check == nil {
		bad("the challenge has no Check")
	}

	// Man pages cited in lesson.toml and in the Recap are real.
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

	lintShellAndClaims(l, known, manPageRE, bad)
	if run := sharedRun(l.Section(PartChallenge).Body, ch.Task, taskRun); run != "" {
		bad("the Challenge section states the task again (%q): lesson.toml's task is its one statement, the section says what it is about", run)
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

// lintShellAndClaims checks lesson.toml's shell_new and claims: every
// kind is a /proc/PID/ns name, at most once; every claim has a rule, a
// known source and its section, names a TestClaim test or none, and its
// source is on the Recap's single "Read:" line, which repeats no page.
func lintShellAndClaims(l Lesson, known map[string]bool, manPageRE *regexp.Regexp, bad func(string, ...any)) {
	procNames := map[string]bool{}
	for _, k := range sandbox.Kinds() {
		procNames[k.ProcName] = true
	}
	seen := map[string]bool{}
	for _, k := range l.ShellNew {
		if !procNames[k] {
			bad("shell_new %q is not a namespace kind as /proc/PID/ns names it (uts, pid, mnt ...)", k)
		}
		if seen[k] {
			bad("shell_new names %q twice", k)
		}
		seen[k] = true
	}

	recap := l.Section(PartRecap).Body
	var read []string
	if n := strings.Count(recap, "Read:"); n != 1 {
		bad("the Recap has %d \"Read:\" lines, want exactly 1", n)
	} else {
		_, after, _ := strings.Cut(recap, "Read:")
		read = manPageRE.FindAllString(after, -1)
	}
	onRead := map[string]bool{}
	for _, m := range read {
		if onRead[m] {
			bad("the Recap's Read: line names %s twice", m)
		}
		onRead[m] = true
	}
	if len(l.Claims) == 0 {
		bad("lesson.toml states no claim (a kernel rule with its source)")
	}
	for i, c := range l.Claims {
		switch {
		case strings.TrimSpace(c.Rule) == "":
			bad("claim %d has no rule", i+1)
		case strings.TrimSpace(c.Section) == "":
			bad("claim %d (%s) names no section of %s", i+1, c.Rule, c.Source)
		case !known[c.Source]:
			bad("claim %d (%s): source %q is not a known man page", i+1, c.Rule, c.Source)
		case read != nil && !onRead[c.Source]:
			bad("claim %d (%s): its source %s is not on the Recap's Read: line", i+1, c.Rule, c.Source)
		}
		if c.Test != "" && !strings.HasPrefix(c.Test, "TestClaim") {
			bad("claim %d (%s): test %q is not a TestClaim… test", i+1, c.Rule, c.Test)
		}
	}
}

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

// taskRun is how many words in a row the Challenge section may share with
// the task before it counts as stating the task twice.
const taskRun = 6

// sharedRun returns the first run of n words that a and b both contain
// (case, punctuation and Markdown marks ignored), or "".
func sharedRun(a, b string, n int) string {
	words := func(s string) []string {
		return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '/' || r == '_' || r == '-' || r == '\'')
		})
	}
	runs := map[string]bool{}
	wb := words(b)
	for i := 0; i+n <= len(wb); i++ {
		runs[strings.Join(wb[i:i+n], " ")] = true
	}
	wa := words(a)
	for i := 0; i+n <= len(wa); i++ {
		if r := strings.Join(wa[i:i+n], " "); runs[r] {
			return r
		}
	}
	return ""
}
