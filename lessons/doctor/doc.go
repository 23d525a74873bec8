// Package doctor decides what this machine lets nslab do, and says how to
// fix the rest: the checks `nslab doctor` prints, one table of their
// advice, which lessons each user can run (the locks the TUI shows), and
// the report.
//
// It owns policy only. The facts come from sandbox.ProbeMachine (the
// engine's probing clones and /proc parsers) as a sandbox.Machine, so every
// decision here is pure and tested on fixture machines. It must not make a
// syscall or read a file itself, nor import ui or bubbletea: it sits
// between lessons and ui (cmd → ui → lessons/doctor → lessons → sandbox),
// and neither lessons nor sandbox may import it.
package doctor
