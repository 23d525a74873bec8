package common

import (
	"errors"
	"fmt"
)

// ErrPanic wraps a panic recovered from lesson code, so that a bug in one
// lesson shows as an error instead of taking the terminal down with it.
var ErrPanic = errors.New("internal error in the lesson")

// Guard runs f and turns a panic into an error wrapping ErrPanic.
func Guard(op string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %w: %v", op, ErrPanic, r)
		}
	}()
	return f()
}
