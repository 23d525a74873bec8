package partbar

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/ui/common"
)

// TestGolden: wide, the seven parts with the current one in brackets;
// narrow, "part i/7".
func TestGolden(t *testing.T) {
	c := common.New(context.Background(), common.NewStyles(true, true))
	var b strings.Builder
	for _, w := range []int{80, 40} {
		for i := range lessons.Parts() {
			v := ansi.Strip(New(c).SetSize(w, 1).SetIndex(i).View())
			if ansi.StringWidth(v) > w {
				t.Errorf("width %d: %q overruns", w, v)
			}
			fmt.Fprintf(&b, "%d|%s\n", w, v)
		}
	}
	out := b.String()
	for _, want := range []string{"[CONCEPT] › predict", "observe › [EXPERIMENT]", "part 3/7: PERFORM"} {
		if !strings.Contains(out, want) {
			t.Errorf("bars lack %q:\n%s", want, out)
		}
	}
	golden.RequireEqual(t, []byte(out))
}
