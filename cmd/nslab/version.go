package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/sandbox"
)

// versionLine says which nslab this is: the module version (or the VCS
// revision a development build records), the Go toolchain and the kernel.
func versionLine() string {
	ver, rev, dirty := "(unknown)", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		ver = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value[:min(len(s.Value), 12)]
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if rev != "" && dirty {
		rev += "+dirty"
	}
	if ver == "" {
		ver = "(devel)"
	}
	kernel := "unknown"
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		kernel = unix.ByteSliceToString(u.Release[:])
	}
	s := "nslab " + ver
	if rev != "" {
		s += " (" + rev + ")"
	}
	return fmt.Sprintf("%s, %s %s/%s, Linux %s", s, runtime.Version(), runtime.GOOS, runtime.GOARCH, kernel)
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print nslab's version, the Go version, the kernel and where agents start from",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(a.out, "%s\n%s\n", versionLine(), sandbox.FindAgent())
			return err
		},
	}
}
