package lessons

// confinedReady are the lessons shown to play fully in a class sandbox
// (a confined engine: every namespace new from the start, root inside a
// uid of the learner's own outside) by a test on a confined engine
// (lessontest.PlayConfined). The others are locked for class learners
// until such a test holds: their facts compare with the host's
// namespaces, which a class sandbox never shares, or they need what the
// class server withholds.
func confinedReady(id string) bool {
	switch id {
	case "uts", // each: its lesson's TestLessonConfined
		"time",
		"mnt",
		"ipc",
		"net", // the server makes the veth
		"container",
		"rootfs",
		"propagation",
		"user",
		"overview", // its flagless child cloned by the sandbox's agent
		"unshare",
		"nesting":
		return true
	}
	return false
}

// confinedWhy says why a lesson is locked in a class, where there is more
// to say than "not yet shown".
func confinedWhy(id string) string {
	switch id {
	case "cgroup":
		return "nslab would clone your sandbox into a cgroup it makes beside its own, and read it from inside by its host PID; in a class your processes stay in the cgroup the server made for you, in a PID namespace of your own, and a child of that cgroup handed to you is not built yet"
	case "pid": // lessons/03-pid TestConfinedChallengeDoneBeforehand
		return "a class sandbox gets a /proc of its own PID namespace from the start (the host's would list every host process), so its challenge, mounting one, is done before it begins; it needs the sandbox's PID namespace nested below the one its /proc shows"
	case "setns":
		// lessons/08-setns TestLessonConfinedRefused shows the first
		// refusal; the second is user_namespaces(7), "Capabilities".
		return "its joiner and its target are two sandboxes, each in user, PID and mount namespaces of its own in a class: the joiner's /proc does not show the target (ENOENT), and root in one user namespace has no capability in a sibling's (user_namespaces(7)); the server would have to start the target inside the joiner's user namespace"
	}
	return "it is not yet shown to work in a class sandbox"
}

// ConfinedLocks are the lesson locks for a class learner (nslab serve,
// ui.Options.Locks): every lesson of ls not shown to run confined, with
// the reason.
func ConfinedLocks(ls []Lesson) map[string]string {
	locks := map[string]string{}
	for _, l := range ls {
		if !confinedReady(l.ID) {
			locks[l.ID] = "not in a class: " + confinedWhy(l.ID)
		}
	}
	return locks
}
