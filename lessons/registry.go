package lessons

// registry maps each lesson id to the function that builds its logic. Every
// folder under lessons/ has an entry here and every entry a folder (the
// content lint test checks both ways).
func registry() map[string]func() Logic {
	return map[string]func() Logic{
		"overview":  overviewLogic,
		"uts":       utsLogic,
		"pid":       pidLogic,
		"mnt":       mntLogic,
		"net":       netLogic,
		"ipc":       ipcLogic,
		"user":      userLogic,
		"setns":     setnsLogic,
		"unshare":   unshareLogic,
		"container": containerLogic,
		"cgroup":    cgroupLogic,
		"time":      timeLogic,
	}
}
