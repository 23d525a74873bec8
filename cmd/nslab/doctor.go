package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/doctor"
	"github.com/nslab/nslab/sandbox"
)

// doctorReport is what `nslab doctor --json` prints: the doctor's verdict
// and the exit code it means.
type doctorReport struct {
	doctor.Report
	ExitCode int `json:"exit_code"`
}

// diagnose is the doctor's verdict on the machine's facts, with the exit
// code: exitMachine when something that matters is missing.
func diagnose(m sandbox.Machine, ls []lessons.Lesson) doctorReport {
	r := doctorReport{Report: doctor.Diagnose(m, ls), ExitCode: exitOK}
	if !r.OK {
		r.ExitCode = exitMachine
	}
	return r
}

func (a *app) doctorCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check what this machine can run, and how to fix the rest",
		Long: `doctor checks by doing: for every namespace kind a throwaway child tries
clone(2) with that flag, directly and inside a new user namespace. It then
reads the capabilities, sysctls, container, seccomp and AppArmor state, mount
propagation, kernel version and cgroup layout, and says per lesson whether it
runs as root, rootless, or is blocked, and why. Every ✗ comes with its fix.

It exits 0 when every lesson can run on this machine in some way (as root,
or rootless), 3 when something that matters is missing.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.doctor(cmd.Context(), asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	return cmd
}

func (a *app) doctor(ctx context.Context, asJSON bool) error {
	ls, err := allLessons()
	if err != nil {
		return err
	}
	r := diagnose(sandbox.ProbeMachine(ctx), ls)
	if asJSON {
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return withCode(exitInternal, fmt.Errorf("write the report: %w", err))
		}
	} else {
		r.WriteText(a.out)
	}
	if r.ExitCode != exitOK {
		return withCode(r.ExitCode, errSilent)
	}
	return nil
}
