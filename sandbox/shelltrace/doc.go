// Package shelltrace traces the namespace syscalls of the learner's shell
// in a sandbox, and of every process that shell starts, and turns each
// into a sandbox.Event marked as the learner's (Event.Learner), with the
// arguments, raw return value and errno the kernel reported.
//
// Traced: clone with a CLONE_NEW* flag, clone3 with one, unshare, setns,
// mount, umount2, pivot_root, sethostname, setdomainname, and writes to
// /proc/PID/{uid_map,gid_map,setgroups,timens_offsets}.
//
// # Mechanism: a seccomp filter that notifies, and ptrace only on demand
//
// The shell gets a seccomp filter whose only non-ALLOW action is
// SECCOMP_RET_USER_NOTIF, inherited by everything it starts. The filter
// reads the syscall number and integer arguments, so clone stops only
// when a CLONE_NEW* bit is set and openat only for opens for writing;
// every other syscall, fork and exec runs at full speed, and no process
// is traced while it makes none of these calls.
//
// A notification gives the caller's tid and arguments; the tracer reads
// strings and structs from the caller's memory (and checks with
// SECCOMP_IOCTL_NOTIF_ID_VALID that the call still waits, so it read the
// right memory). A notification cannot show the return value, so for a
// call that matters the tracer attaches to that one thread
// (PTRACE_SEIZE) and interrupts it (PTRACE_INTERRUPT): the kernel
// withdraws the notification and restarts the call (ERESTARTSYS). Resumed
// with PTRACE_SYSCALL, the thread stops at the restarted call's entry,
// notifies again, is let through (SECCOMP_USER_NOTIF_FLAG_CONTINUE: the
// kernel itself performs the call), and stops at its exit, where
// PTRACE_GET_SYSCALL_INFO gives the raw return value. Then the tracer
// detaches. A write open of one of the four map files keeps that thread
// attached and stepped with PTRACE_SYSCALL until no fd of its process
// refers to the file, so a write through a dup'ed fd (bash redirections)
// is seen too.
//
// An earlier version of this package used SECCOMP_RET_TRACE, which needs
// every descendant ptraced from its birth (a RET_TRACE call with no
// tracer fails with ENOSYS): each fork then cost three switches to the
// tracer, and a loop of /bin/true ran 47 % slower. With notifications
// the same loop runs as fast as untraced (README, Performance).
//
// Why not eBPF: tracepoints would need a compiled BPF object, either
// committed (and then not rebuildable here) or built with clang at build
// time, plus CAP_BPF, so it could never work rootless. seccomp and ptrace
// need neither, and work for an unprivileged learner in their own user
// namespace.
//
// The kernel's rules that shape the design:
//   - A tracer is a thread, not a process: every ptrace call and wait is
//     made from one locked OS thread, which also serves the listener.
//   - The filter is installed in the entering process's C constructor
//     (sandbox/enter_cgo_linux.go), before the Go runtime starts, and the
//     listener fd comes to the tracer over the handshake socket.
//   - Without CAP_SYS_ADMIN in its user namespace, a process may install
//     a filter only with no_new_privs; the constructor sets it only then.
//   - If nslab dies, the listener closes and the kernel fails the traced
//     calls of the sandbox's remaining processes with ENOSYS; nslab's
//     sandboxes die with it anyway.
//
// The handshake, over a unix stream socket (fd _NSLAB_TRACE_FD):
//
//	entering process          tracer
//	"r" (+SCM_CREDENTIALS) →  learns the host pid; checks it may ptrace it
//	                       ←  "y" + filter length + filter  (or "n": untraced)
//	install the filter
//	"o" + listener fd      →  (SCM_RIGHTS)
//	  or "e<strerror>"
//	                       ←  "k"
//	Go runtime, exec the shell
//
// Where the machine forbids tracing (ptrace or seccomp refused, an
// architecture without a filter here), Start still starts the shell,
// untraced, and returns an error wrapping ErrUnavailable with one line
// saying why.
package shelltrace
