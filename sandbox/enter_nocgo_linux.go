//go:build !cgo

package sandbox

// Built without cgo there is no constructor to join namespaces before the
// Go runtime starts; entering a sandbox is then refused with a clear error.
func enterJoined() bool { return false }

const enterSupported = false
