package main

import "github.com/spf13/cobra"

// classCmd is `nslab class`: the instructor's commands about a class.
// The kube branch adds only `kube`; status and export come from the
// classdash branch, whose classCmd replaces this one when the two are
// merged (keep its AddCommand of a.classKubeCmd()).
func (a *app) classCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "class",
		Short: "Commands for an instructor's class (served with nslab serve)",
		Args:  noArgs,
	}
	cmd.AddCommand(a.classKubeCmd())
	return cmd
}
