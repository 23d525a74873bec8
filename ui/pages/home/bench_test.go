package home

import (
	"context"
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/internal/uitest"
)

// BenchmarkView is the lesson list.
func BenchmarkView(b *testing.B) {
	h := New(common.New(context.Background(), common.NewStyles(true, true)), uitest.Lessons(), nil).SetSize(80, 24).SetProgress(lessons.NewProgress())
	b.ReportAllocs()
	for b.Loop() {
		_ = h.View()
	}
}
