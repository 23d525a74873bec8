package ipc

import (
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/lessontest"
	"github.com/nslab/nslab/sandbox"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	// The kernel's answer to the prediction is 1: separate tables.
	sess, _ := lessontest.Play(t, lessontest.Lesson(t, "ipc", Logic), lessontest.Want{Right: 1, Wrong: []lessontest.Attempt{
		{Cmd: "mount -t tmpfs mqueue /mnt && ls -l /mnt", Says: "is not listed inside"},
		{Cmd: "unshare --ipc mount -t mqueue mqueue /mnt && ls -l /mnt", Says: "is not listed inside"},
	}})
	// The queue made inside must not be on the host, before or after the
	// challenge's mount.
	if on, err := sandbox.MQueueExists(ipcMQName); err != nil || on {
		t.Errorf("%s on the host: %v %v", ipcMQName, on, err)
	}
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestIPCFactsEmptyObservation(t *testing.T) {
	for _, f := range ipcFacts(lessons.Observation{Extra: map[string]string{}}) {
		if f.OK {
			t.Errorf("fact holds on an empty observation: %s (%s)", f.Text, f.Got)
		}
	}
}

func TestMqueueListing(t *testing.T) {
	cases := []struct {
		ipc  *sandbox.IPC
		want bool
	}{
		{nil, false},
		{&sandbox.IPC{MQueueNote: "no mqueue"}, false},
		{&sandbox.IPC{MQueues: []string{"/other"}}, false},
		{&sandbox.IPC{MQueues: []string{"/a", ipcMQName}}, true},
	}
	for _, c := range cases {
		if got, view := mqueueListing(sandbox.Snapshot{IPC: c.ipc}); got != c.want || view == "" {
			t.Errorf("%+v: %v %q", c.ipc, got, view)
		}
	}
}
