//go:build !cgo

package sandbox

// Built without cgo there is no constructor to join namespaces before the
// Go runtime starts; entering a sandbox is then refused with a clear error.
func enterResult() (ran, ok bool, joined []string, failedKind string, err error) {
	return false, false, nil, "", nil
}

const enterSupported = false
