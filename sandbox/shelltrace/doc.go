// Package shelltrace traces the namespace syscalls of the learner's shell
// in a sandbox, and of every process that shell starts, and turns each
// into a sandbox.Event marked as the learner's (Event.Learner), with the
// arguments, raw return value and errno the kernel reported.
//
// Traced: clone with a CLONE_NEW* flag, clone3 with one, unshare, setns,
// mount, umount2, pivot_root, sethostname, setdomainname, and writes to
// /proc/PID/{uid_map,gid_map,setgroups,timens_offsets}.
//
// # Mechanism: a seccomp filter that asks ptrace, only for those calls
//
// The shell gets a seccomp filter whose only non-ALLOW action is
// SECCOMP_RET_TRACE, and the whole subtree is followed by ptrace
// (PTRACE_SEIZE with TRACESECCOMP, TRACEFORK, TRACEVFORK, TRACECLONE and
// EXITKILL). The filter reads the syscall number and integer arguments, so
// clone stops only when a CLONE_NEW* bit is set and openat only for opens
// for writing; every other syscall runs at full speed with no stop. At a
// seccomp stop the tracer reads the arguments (strings from the tracee's
// memory), then resumes with PTRACE_SYSCALL to see the same call's exit
// and its return value. A write open of one of the four map files switches
// that thread to PTRACE_SYSCALL until no fd of its process refers to the
// file any more, so a write through a dup'ed fd (bash redirections) is
// seen too.
//
// Why not eBPF: tracepoints would need a compiled BPF object, either
// committed (and then not rebuildable here) or built with clang at build
// time, plus CAP_BPF, so it could never work rootless. seccomp+ptrace
// needs neither, and works for an unprivileged learner in their own user
// namespace. Its cost is a ptrace stop per fork and per traced call (see
// the README's performance section).
//
// The kernel's rules that shape the design:
//   - SECCOMP_RET_TRACE with no tracer fails the call with ENOSYS. So the
//     filter is installed only once the tracer is attached, and every
//     descendant is traced (TRACEFORK and friends), with EXITKILL so that
//     no process runs on with a filter and no tracer.
//   - A tracer is a thread, not a process: every ptrace call and wait4 is
//     made from one locked OS thread, and wait4 uses __WNOTHREAD so it
//     never reaps the engine's own children (its agents).
//   - The entering process joins the sandbox in a C constructor, before
//     the Go runtime starts threads. The handshake happens there too
//     (sandbox/enter_cgo_linux.go), so one PTRACE_SEIZE of a
//     single-threaded process covers all threads that follow.
//   - Without CAP_SYS_ADMIN in its user namespace, a process may install
//     a filter only with no_new_privs; the constructor sets it only then.
//
// The handshake, over a unix stream socket (fd _NSLAB_TRACE_FD):
//
//	entering process          tracer
//	"r" (+SCM_CREDENTIALS) →  learns the host pid, PTRACE_SEIZE
//	                       ←  "y" + filter length + filter  (or "n": untraced)
//	install the filter
//	"o" or "e<strerror>"   →  on "e": PTRACE_INTERRUPT + PTRACE_DETACH
//	                       ←  "k"
//	Go runtime, exec the shell
//
// Where the machine forbids tracing (ptrace or seccomp refused, an
// architecture without a filter here), Start still starts the shell,
// untraced, and returns an error wrapping ErrUnavailable with one line
// saying why.
package shelltrace
