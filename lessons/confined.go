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
	case "uts":
		return true
	case "nesting": // lessons/15-nesting TestLessonConfined
		return true
	case "unshare": // lessons/09-unshare TestLessonConfined
		return true
	case "overview": // lessons/01-overview TestLessonConfined
		return true
	}
	return false
}

// confinedWhy says why a lesson is locked in a class, where there is more
// to say than "not yet shown".
func confinedWhy(id string) string {
	switch id {
	case "user":
		return "it maps root to nobody and writes id maps itself; in a class your ids are the server's range for you"
	case "cgroup":
		return "it moves processes between the host's cgroups; in a class your processes stay in the cgroup the server made for you"
	case "net":
		return "its veth is made by the server on your behalf, and that part is not yet shown to work in a class sandbox"
	case "setns":
		// lessons/08-setns TestLessonConfinedRefused shows the first
		// refusal; the second is user_namespaces(7), "Capabilities".
		return "its joiner and its target are two sandboxes, each in user, PID and mount namespaces of its own in a class: the joiner's /proc does not show the target (ENOENT), and root in one user namespace has no capability in a sibling's (user_namespaces(7)); the server would have to start the target inside the joiner's user namespace"
	case "pid", "container", "time", "mnt", "ipc", "rootfs", "propagation":
		return "its facts compare with the host's namespaces, which a class sandbox never shares; it is not yet shown to hold in one"
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
