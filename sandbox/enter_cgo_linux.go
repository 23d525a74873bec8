//go:build cgo

package sandbox

/*
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

// Joining a user namespace with setns(2) needs a single-threaded caller,
// and the Go runtime starts threads before main. So, like runc's nsexec,
// the join happens here, in an ELF constructor that runs before the Go
// runtime, and only when _NSLAB_ENTER_PID names a target. The Go side
// reads the outcome through nslab_enter_result.

static int nslab_enter_state;       // 0 not asked, 1 joined, -1 failed
static int nslab_enter_errno;
static char nslab_enter_kind[16];
static char nslab_enter_joined[128];

struct nslab_kind { const char *name; int flag; };

// User first: its capabilities are what allow joining the rest. mnt last
// but one: after it, /proc paths resolve in the sandbox's view. All fds are
// opened before any join, as nsenter(1) does.
static const struct nslab_kind nslab_kinds[] = {
	{"user", CLONE_NEWUSER}, {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC},
	{"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET}, {"pid", CLONE_NEWPID},
	{"mnt", CLONE_NEWNS}, {"time", 0x00000080},
};

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

__attribute__((constructor)) static void nslab_enter_init(void) {
	const char *pid = getenv("_NSLAB_ENTER_PID");
	if (pid == NULL || *pid == '\0')
		return;
	int n = sizeof(nslab_kinds) / sizeof(nslab_kinds[0]);
	int fds[8];
	char path[64];
	for (int i = 0; i < n; i++) {
		fds[i] = -1;
		struct stat mine, theirs;
		snprintf(path, sizeof path, "/proc/self/ns/%s", nslab_kinds[i].name);
		if (stat(path, &mine) != 0)
			continue; // this kernel lacks the kind
		snprintf(path, sizeof path, "/proc/%s/ns/%s", pid, nslab_kinds[i].name);
		if (stat(path, &theirs) != 0) {
			nslab_enter_state = -1;
			nslab_enter_errno = errno;
			strncpy(nslab_enter_kind, nslab_kinds[i].name, sizeof nslab_enter_kind - 1);
			goto out;
		}
		// Same namespace: nothing to join (and setns into one's own user
		// namespace is EINVAL).
		if (mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino)
			continue;
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			nslab_enter_state = -1;
			nslab_enter_errno = errno;
			strncpy(nslab_enter_kind, nslab_kinds[i].name, sizeof nslab_enter_kind - 1);
			goto out;
		}
	}
	for (int i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		if (setns(fds[i], nslab_kinds[i].flag) != 0) {
			nslab_enter_state = -1;
			nslab_enter_errno = errno;
			strncpy(nslab_enter_kind, nslab_kinds[i].name, sizeof nslab_enter_kind - 1);
			goto out;
		}
		size_t used = strlen(nslab_enter_joined);
		snprintf(nslab_enter_joined + used, sizeof nslab_enter_joined - used, "%s%s",
			used ? "," : "", nslab_kinds[i].name);
	}
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	// setns(CLONE_NEWPID) moves only future children, and the kernel
	// refuses to create threads (EINVAL from pthread_create) in a process
	// whose pid_for_children differs from its own PID namespace, which the
	// Go runtime needs. So fork: the child is inside and runs Go; this
	// parent only waits and passes on the exit status, as nsenter(1) does.
	if (fds[5] >= 0 || fds[7] >= 0) {
		pid_t child = fork();
		if (child < 0) {
			nslab_enter_state = -1;
			nslab_enter_errno = errno;
			strncpy(nslab_enter_kind, "fork", sizeof nslab_enter_kind - 1);
			return;
		}
		if (child > 0)
			nslab_enter_wait(child);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	}
	nslab_enter_state = 1;
	return;
out:
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static int nslab_enter_result(int *err, const char **kind, const char **joined) {
	*err = nslab_enter_errno;
	*kind = nslab_enter_kind;
	*joined = nslab_enter_joined;
	return nslab_enter_state;
}
*/
import "C"

import (
	"strings"
	"syscall"
)

// enterResult reports what the constructor did: joined (true when it ran
// and every setns succeeded), the kinds it joined, or the kind and errno
// that stopped it.
func enterResult() (ran, ok bool, joined []string, failedKind string, err error) {
	var cerr C.int
	var ckind, cjoined *C.char
	st := C.nslab_enter_result(&cerr, &ckind, &cjoined)
	if st == 0 {
		return false, false, nil, "", nil
	}
	if j := C.GoString(cjoined); j != "" {
		joined = strings.Split(j, ",")
	}
	if st < 0 {
		return true, false, joined, C.GoString(ckind), syscall.Errno(cerr)
	}
	return true, true, joined, "", nil
}

const enterSupported = true
