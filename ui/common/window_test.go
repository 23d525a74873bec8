package common

import "testing"

// waiting is the size waiting in c, if any: Set and Watch send before
// they return, so a size is there at once or not at all.
func waiting(c <-chan [2]int) ([2]int, bool) {
	select {
	case sz := <-c:
		return sz, true
	default:
		return [2]int{}, false
	}
}

// TestWindowWatch: a watcher gets the size set before it watched at once,
// only the latest of the sizes set while it did not read, and nothing
// after it stopped.
func TestWindowWatch(t *testing.T) {
	var w Window
	early, stopEarly := w.Watch()
	if sz, ok := waiting(early); ok {
		t.Errorf("a size before any was set: %v", sz)
	}
	w.Set(100, 30)
	if sz, ok := waiting(early); !ok || sz != [2]int{100, 30} {
		t.Errorf("after Set(100, 30): %v, %v", sz, ok)
	}
	stopEarly()

	late, stop := w.Watch()
	defer stop()
	if sz, ok := waiting(late); !ok || sz != [2]int{100, 30} {
		t.Errorf("watching after Set(100, 30): %v, %v at once", sz, ok)
	}
	w.Set(90, 20)
	w.Set(80, 25)
	if sz, ok := waiting(late); !ok || sz != [2]int{80, 25} {
		t.Errorf("after Set(90, 20), Set(80, 25): %v, %v; want only the latest", sz, ok)
	}
	if sz, ok := waiting(late); ok {
		t.Errorf("a second size after two Sets unread: %v", sz)
	}
	if sz, ok := waiting(early); ok {
		t.Errorf("a stopped watcher got %v", sz)
	}
}
