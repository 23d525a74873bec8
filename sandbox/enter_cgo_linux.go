//go:build cgo

package sandbox

/*
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// Joining a user namespace with setns(2) needs a single-threaded caller,
// and the Go runtime starts threads before main. So, like runc's nsexec,
// the join happens here, in an ELF constructor that runs before the Go
// runtime, and only when _NSLAB_ENTER_PID names a target. A failed join
// exits with a message (nslab_enter_fail); the Go side only asks
// nslab_enter_result whether a join happened.

static int nslab_enter_state; // 0 not asked, 1 joined (failures exit)

struct nslab_kind { const char *name; int flag; };

// User first: its capabilities are what allow joining the rest. mnt last
// but one: after it, /proc paths resolve in the sandbox's view. All fds are
// opened before any join, as nsenter(1) does.
static const struct nslab_kind nslab_kinds[] = {
	{"user", CLONE_NEWUSER}, {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC},
	{"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET}, {"pid", CLONE_NEWPID},
	{"mnt", CLONE_NEWNS}, {"time", 0x00000080},
};

// nslab_enter_fail reports a failed join and exits. It must not return:
// after a partial join (a PID namespace joined, say) the Go runtime could
// not even start its threads.
static void nslab_enter_fail(const char *kind, int err) {
	const char *hint = "";
	if (err == EPERM || err == EACCES)
		hint = ": run nslab with sudo, or enter only sandboxes your user created";
	else if (err == ENOMEM)
		hint = ": the sandbox's PID namespace has no init any more (its PID 1 exited)";
	else if (err == ENOENT || err == ESRCH)
		hint = ": the sandbox is gone";
	fprintf(stderr, "nslab: cannot enter the sandbox's %s namespace: %s%s\n", kind, strerror(err), hint);
	_exit(1);
}

// nslab_pidns_alive reports whether some process is in the PID namespace
// ns. After unshare(CLONE_NEWPID), once the first child (its init) has
// exited, pid_for_children still names the dead namespace, and forking
// into it fails with ENOMEM.
static int nslab_pidns_alive(const struct stat *ns) {
	DIR *d = opendir("/proc");
	if (d == NULL)
		return 1; // cannot tell: try it
	struct dirent *e;
	char path[64];
	struct stat st;
	int alive = 0;
	while (!alive && (e = readdir(d)) != NULL) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/ns/pid", e->d_name);
		if (stat(path, &st) == 0 && st.st_dev == ns->st_dev && st.st_ino == ns->st_ino)
			alive = 1;
	}
	closedir(d);
	return alive;
}

static pid_t nslab_enter_child;

static void nslab_enter_forward(int sig) {
	if (nslab_enter_child > 0)
		kill(nslab_enter_child, sig);
}

// nslab_enter_wait is the outer process after the fork: ^C and ^\ belong
// to the shell, termination is passed on, and the child's status becomes
// ours. It never returns.
static void nslab_enter_wait(pid_t child) {
	nslab_enter_child = child;
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTERM, nslab_enter_forward);
	signal(SIGHUP, nslab_enter_forward);
	int st;
	for (;;) {
		pid_t r = waitpid(child, &st, 0);
		if (r == child)
			break;
		if (r < 0 && errno != EINTR)
			_exit(1);
	}
	if (WIFSIGNALED(st))
		_exit(128 + WTERMSIG(st));
	_exit(WEXITSTATUS(st));
}

// nslab_read_full reads exactly n bytes; 0 on success.
static int nslab_read_full(int fd, void *buf, size_t n) {
	char *p = buf;
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

// nslab_send_fd sends one byte and, with it, fd (SCM_RIGHTS).
static int nslab_send_fd(int sock, char c, int fd) {
	struct iovec iov = {.iov_base = &c, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u);
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

// nslab_trace_sync is the entering process's half of the handshake with
// package shelltrace (see its doc). It runs while this process is still
// single-threaded. The tracer first checks that it may ptrace this
// process (it attaches on demand later); then the filter is installed,
// with a listener fd for SECCOMP_RET_USER_NOTIF that goes to the tracer.
// Whatever goes wrong, the shell still starts, untraced.
static void nslab_trace_sync(int fd) {
	char c = 'r';
	// The tracer learns this process's host pid from SCM_CREDENTIALS,
	// which the kernel attaches and translates to the reader's namespace.
	if (write(fd, &c, 1) != 1 || nslab_read_full(fd, &c, 1) != 0 || c != 'y') {
		close(fd);
		return;
	}
	unsigned short len;
	struct sock_filter prog[256];
	if (nslab_read_full(fd, &len, sizeof len) != 0 || len == 0 || len > 256 ||
	    nslab_read_full(fd, prog, len * sizeof prog[0]) != 0) {
		close(fd);
		return;
	}
	struct sock_fprog fp = {.len = len, .filter = prog};
	// Without CAP_SYS_ADMIN in its user namespace a process may install a
	// filter only with no_new_privs (seccomp(2)). Try without it first, so
	// that root's set-user-ID programs keep working in the shell.
	int lfd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fp);
	int err = lfd < 0 ? errno : 0;
	if (lfd < 0 && err == EACCES && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0) {
		lfd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fp);
		err = lfd < 0 ? errno : 0;
	}
	if (lfd >= 0) {
		if (nslab_send_fd(fd, 'o', lfd) != 0)
			_exit(1); // a filter no one listens to: every traced call would fail
		close(lfd);
	} else {
		char msg[128];
		int n = snprintf(msg, sizeof msg, "e%s", strerror(err));
		if (write(fd, msg, n) != n) {
			close(fd);
			return;
		}
	}
	nslab_read_full(fd, &c, 1); // the tracer has the listener
	close(fd);
}

// nslab_enter_confine puts a confined learner's shell into the learner's
// cgroup and under its RLIMIT_NPROC while it is still nslab's own process
// on the host (writing "0" to cgroup.procs moves the writer), so nothing
// the learner runs is ever outside them.
static void nslab_enter_confine(void) {
	const char *cg = getenv("_NSLAB_ENTER_CGROUPS");
	if (cg != NULL && *cg != '\0') {
		char *list = strdup(cg), *save = NULL;
		if (list == NULL)
			nslab_enter_fail("cgroup", ENOMEM);
		for (char *p = strtok_r(list, ":", &save); p != NULL; p = strtok_r(NULL, ":", &save)) {
			int fd = open(p, O_WRONLY | O_CLOEXEC);
			if (fd < 0 || write(fd, "0", 1) != 1)
				nslab_enter_fail("cgroup", errno);
			close(fd);
		}
		free(list);
	}
	const char *np = getenv("_NSLAB_ENTER_NPROC");
	if (np != NULL && *np != '\0') {
		struct rlimit rl = {.rlim_cur = strtoul(np, NULL, 10), .rlim_max = strtoul(np, NULL, 10)};
		if (setrlimit(RLIMIT_NPROC, &rl) != 0)
			nslab_enter_fail("user", errno);
	}
}

__attribute__((constructor)) static void nslab_enter_init(void) {
	const char *pid = getenv("_NSLAB_ENTER_PID");
	if (pid == NULL || *pid == '\0')
		return;
	nslab_enter_confine();
	const char *confined = getenv("_NSLAB_ENTER_CONFINED");
	int n = sizeof(nslab_kinds) / sizeof(nslab_kinds[0]);
	int fds[8];
	char path[64];
	for (int i = 0; i < n; i++) {
		fds[i] = -1;
		struct stat mine, theirs;
		snprintf(path, sizeof path, "/proc/self/ns/%s", nslab_kinds[i].name);
		if (stat(path, &mine) != 0)
			continue; // this kernel lacks the kind
		// For pid, the namespace the sandbox's *children* get: after
		// unshare(CLONE_NEWPID) that is where the sandbox is. The link
		// exists only once a first child entered; else the agent's own.
		// A PID namespace whose init has exited takes no new members: then
		// the agent's own PID namespace will do. For time, the agent's own,
		// as nsenter --all does: after unshare(CLONE_NEWTIME) the agent
		// reads the host's clocks, and so does the learner's shell, which
		// the time lesson's text and challenge rely on.
		int children = nslab_kinds[i].flag == CLONE_NEWPID;
		snprintf(path, sizeof path, "/proc/%s/ns/%s_for_children", pid, nslab_kinds[i].name);
		if (!children || stat(path, &theirs) != 0 ||
		    (nslab_kinds[i].flag == CLONE_NEWPID && !nslab_pidns_alive(&theirs)))
			snprintf(path, sizeof path, "/proc/%s/ns/%s", pid, nslab_kinds[i].name);
		if (stat(path, &theirs) != 0)
			nslab_enter_fail(nslab_kinds[i].name, errno);
		// Same namespace: nothing to join (and setns into one's own user
		// namespace is EINVAL).
		if (mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino)
			continue;
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			nslab_enter_fail(nslab_kinds[i].name, errno);
	}
	for (int i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		if (setns(fds[i], nslab_kinds[i].flag) != 0)
			nslab_enter_fail(nslab_kinds[i].name, errno);
		close(fds[i]);
		if (nslab_kinds[i].flag == CLONE_NEWUSER) {
			// As nsenter(1) does: become root of the joined user namespace.
			// Otherwise a caller whose uid is not mapped there (root
			// entering a root-to-nobody sandbox) would run the shell as the
			// overflow uid and lose every capability at execve.
			// EPERM where setgroups is denied: fine, except for a confined
			// learner, whose shell must not keep root's groups.
			if (setgroups(0, NULL) != 0 && confined != NULL && *confined == '1')
				nslab_enter_fail("user", errno);
			if (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0)
				nslab_enter_fail("user", errno);
		}
	}
	// setns(CLONE_NEWPID) moves only future children, and the kernel
	// refuses to create threads (EINVAL from pthread_create) in a process
	// whose pid_for_children differs from its own PID namespace, which the
	// Go runtime needs. So fork: the child is inside and runs Go; this
	// parent only waits and passes on the exit status, as nsenter(1) does.
	const char *tfd = getenv("_NSLAB_TRACE_FD");
	int tracefd = tfd != NULL && *tfd != '\0' ? atoi(tfd) : -1;
	if (fds[5] >= 0 || fds[7] >= 0) {
		pid_t child = fork();
		if (child < 0)
			nslab_enter_fail("pid", errno);
		if (child > 0) {
			if (tracefd >= 0)
				close(tracefd); // only the shell's process talks to the tracer
			nslab_enter_wait(child);
		}
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	}
	// A shell on a pty of its own (StartOnPTY): the process that becomes
	// the shell leads the pty's session. After a fork that is the child,
	// inside the joined PID namespace: a session led from outside it
	// shows there as process group 0, and the shell's job control
	// (tcsetpgrp back to its group at exit) fails; dash exits 2.
	const char *ctty = getenv("_NSLAB_ENTER_CTTY");
	if (ctty != NULL && *ctty == '1') {
		if ((getsid(0) != getpid() && setsid() < 0) || ioctl(0, TIOCSCTTY, 0) != 0) {
			fprintf(stderr, "nslab: cannot make the shell's terminal its own: %s\n", strerror(errno));
			_exit(1);
		}
	}
	if (tracefd >= 0)
		nslab_trace_sync(tracefd);
	nslab_enter_state = 1;
}

static int nslab_enter_result(void) { return nslab_enter_state; }
*/
import "C"

// enterJoined reports whether the constructor joined a sandbox's
// namespaces. It exits the process itself when a join fails.
func enterJoined() bool { return C.nslab_enter_result() == 1 }

const enterSupported = true
