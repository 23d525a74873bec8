package ui

import (
	"testing"

	"github.com/nslab/nslab/lessons/lessontest"
)

// TestMain runs the hidden agent entry first: the privileged tests start
// real sandboxes, whose agents re-execute this test binary.
func TestMain(m *testing.M) { lessontest.Main(m) }
