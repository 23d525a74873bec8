// Package nldump retries a netlink dump that the kernel reports as
// interrupted. It is the one place both the engine (sandbox) and the tests'
// host fingerprint (sandbox/sandboxtest) list links, addresses and routes
// through: a dump races every change to the table it walks, and on a busy
// machine (other tests' veths coming and going) that happens.
//
// It owns nothing but the retry; it must not import sandbox, whose tests
// import sandboxtest.
package nldump

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
)

// Attempts bounds the tries of one dump. An interrupted dump means the
// table changed while the kernel walked it; a table that changes on five
// walks in a row is not settling, and the caller should hear so.
const Attempts = 5

// Do runs dump until it returns without netlink.ErrDumpInterrupted, at
// most Attempts times. The partial result that comes with an interrupted
// dump is dropped. Any other error ends it at once. Errors name what was
// being listed and wrap the last error, so errors.Is finds
// netlink.ErrDumpInterrupted when every attempt was interrupted.
func Do[T any](what string, dump func() ([]T, error)) ([]T, error) {
	var err error
	for range Attempts {
		var out []T
		if out, err = dump(); err == nil {
			return out, nil
		}
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	return nil, fmt.Errorf("%s: %w", what, err)
}
