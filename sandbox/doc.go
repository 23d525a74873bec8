// Package sandbox is nslab's engine: it creates, joins, acts inside,
// observes and cleans up Linux namespaces with real clone(2), unshare(2)
// and setns(2).
//
// It owns:
//   - the one table of namespace kinds (Kinds) and clone flags;
//   - the Engine, its agents (the slim nslab-agent binary beside nslab,
//     else this binary re-executed through /proc/self/exe; either enters
//     through RunHidden) and the C constructor that enters a sandbox for a
//     shell;
//   - the trace (Event), observation (Snapshot, the /proc and netlink
//     readers) and the Diff between host and sandbox;
//   - the machine facts (Machine, ProbeMachine): pure parsers and probing
//     clones, nothing about what they mean for a learner.
//
// It may not import lessons, ui, cmd or any screen library, and it never
// writes to the learner's terminal: cmd → ui → lessons → sandbox, with no
// arrow back. The doctor's policy (checks, advice, lesson locks) lives in
// lessons/doctor. Its package-level variables are sentinel errors and
// read-only tables, never state, and nothing it makes outlives
// Engine.Close.
package sandbox
