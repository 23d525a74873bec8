package main

import "github.com/nslab/nslab/lessons/headless"

// faultHook is nil in every build but the fault-injection test build
// (`go build -tags faultinject`), whose init (faultinject.go) sets it once
// before main runs. It may adjust the headless runner's options, and is
// the only package-level variable here: it exists so that the
// fault-injection matrix (faults_test.go) can stop or break a real run at
// a part boundary.
var faultHook func(*headless.Options)
