package headless

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nslab/nslab/sandbox"
)

func TestRenderView(t *testing.T) {
	var ds []sandbox.Delta
	ds = append(ds, sandbox.Delta{Key: "1", Host: "1", Sandbox: "1", Kind: sandbox.Changed, Label: "agent"})
	ds = append(ds, sandbox.Delta{Key: "hostname", Host: "vm", Sandbox: "lab", Kind: sandbox.Changed})
	ds = append(ds, sandbox.Delta{Key: "/mnt", Sandbox: "tmpfs", Kind: sandbox.OnlySandbox})
	for i := 0; i < 20; i++ {
		ds = append(ds, sandbox.Delta{Key: fmt.Sprint(100 + i), Host: fmt.Sprint(100 + i), Kind: sandbox.OnlyHost, Label: "sh"})
	}
	ds = append(ds, sandbox.Delta{Key: "/usr", Host: "ext4", Sandbox: "ext4", Kind: sandbox.Same})
	got := renderView(sandbox.ViewPIDs, ds, 80)
	for _, want := range []string{"HOST", "SANDBOX", "≠ hostname", "+ /mnt", "- … 20 processes only the host sees", "  /usr", "hostname differs (host vm, sandbox lab)", "/mnt only in the sandbox"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "- 100") {
		t.Errorf("only-host rows were listed, not counted:\n%s", got)
	}
	for _, line := range strings.Split(strings.TrimRight(got, "\n"), "\n") {
		if strings.Contains(line, "|") && len([]rune(line)) > 80 {
			t.Errorf("line wider than 80: %q", line)
		}
	}
	// Few only-host rows are listed.
	small := renderView(sandbox.ViewMount, ds[:5], 80)
	if !strings.Contains(small, "- 100") {
		t.Errorf("a short only-host list was collapsed:\n%s", small)
	}
}
