package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// listEntry is one lesson in `nslab list --json`.
type listEntry struct {
	ID       string   `json:"id"`
	Number   int      `json:"number"`
	Title    string   `json:"title"`
	Summary  string   `json:"summary"`
	Minutes  int      `json:"minutes"`
	Rootless bool     `json:"rootless"`
	Syscalls []string `json:"syscalls"`
	Kinds    []string `json:"kinds"`
	Command  string   `json:"command"`
	ManPages []string `json:"man_pages"`
}

func (a *app) listCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the lessons, one a line, id first",
		Long: `list prints the lessons in curriculum order, one a line: id, title, minutes,
whether it runs rootless (without sudo, through a user namespace), and the
syscalls it performs. With --json it prints one JSON array.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ls, err := allLessons()
			if err != nil {
				return err
			}
			if asJSON {
				out := make([]listEntry, 0, len(ls))
				for _, l := range ls {
					out = append(out, listEntry{
						ID: l.ID, Number: l.Number, Title: l.Title, Summary: l.Summary, Minutes: l.Minutes,
						Rootless: l.Rootless, Syscalls: l.Syscalls, Kinds: l.Kinds, Command: l.Command, ManPages: l.ManPages,
					})
				}
				enc := json.NewEncoder(a.out)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
			for _, l := range ls {
				root := "root"
				if l.Rootless {
					root = "rootless"
				}
				fmt.Fprintf(tw, "%s\t%s\t%d min\t%s\t%s\n", l.ID, l.Title, l.Minutes, root, strings.Join(l.Syscalls, ", "))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON array")
	return cmd
}
