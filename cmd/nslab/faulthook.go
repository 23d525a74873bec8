//go:build !faultinject

package main

import "github.com/nslab/nslab/lessons/headless"

// faultHook does nothing in every build but the fault-injection test build
// (`go build -tags faultinject`), whose faultinject.go defines it instead:
// there it may adjust the headless runner's options, so that the
// fault-injection matrix (faults_test.go) can stop or break a real run at
// a part boundary. A function chosen by build tag, not a variable set in
// init, so that the hook is no package-level state.
func faultHook(*headless.Options) {}
