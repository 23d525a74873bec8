// Package catalog is the curriculum as shipped: the registry that joins
// each lesson folder's text and data (embedded by package lessons) with
// the Go logic of the lesson's own package. It is the only package that
// imports every lesson; lessons and the lesson packages never import it.
package catalog

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nslab/nslab/lessons"
	overview "github.com/nslab/nslab/lessons/01-overview"
	uts "github.com/nslab/nslab/lessons/02-uts"
	pid "github.com/nslab/nslab/lessons/03-pid"
	mnt "github.com/nslab/nslab/lessons/04-mnt"
	net "github.com/nslab/nslab/lessons/05-net"
	ipc "github.com/nslab/nslab/lessons/06-ipc"
	user "github.com/nslab/nslab/lessons/07-user"
	setns "github.com/nslab/nslab/lessons/08-setns"
	unshare "github.com/nslab/nslab/lessons/09-unshare"
	container "github.com/nslab/nslab/lessons/10-container"
	cgroup "github.com/nslab/nslab/lessons/11-cgroup"
	time "github.com/nslab/nslab/lessons/12-time"
	rootfs "github.com/nslab/nslab/lessons/13-rootfs"
	propagation "github.com/nslab/nslab/lessons/14-propagation"
	nesting "github.com/nslab/nslab/lessons/15-nesting"
)

// Logics is the registry: each lesson id with the function that builds its
// logic, one line per lesson. Every folder under lessons/ has an entry here
// and every entry a folder (the content lint checks both ways).
func Logics() map[string]func() lessons.Logic {
	return map[string]func() lessons.Logic{
		"overview":    overview.Logic,
		"uts":         uts.Logic,
		"pid":         pid.Logic,
		"mnt":         mnt.Logic,
		"net":         net.Logic,
		"ipc":         ipc.Logic,
		"user":        user.Logic,
		"setns":       setns.Logic,
		"unshare":     unshare.Logic,
		"container":   container.Logic,
		"cgroup":      cgroup.Logic,
		"time":        time.Logic,
		"rootfs":      rootfs.Logic,
		"propagation": propagation.Logic,
		"nesting":     nesting.Logic,
	}
}

// All returns every lesson in curriculum order, text and logic joined. It
// fails only if the embedded content is broken, which the content lint
// test rules out.
func All() ([]lessons.Lesson, error) { return lessons.Load(lessons.Content(), Logics()) }

// ByID finds a lesson by id (or by its number, "3"). An unknown id gives an
// error that names the closest ids and `nslab list`.
func ByID(id string) (lessons.Lesson, error) {
	all, err := All()
	if err != nil {
		return lessons.Lesson{}, err
	}
	want := strings.ToLower(strings.TrimSpace(id))
	for _, l := range all {
		if l.ID == want || fmt.Sprint(l.Number) == want {
			return l, nil
		}
	}
	var ids []string
	for _, l := range all {
		ids = append(ids, l.ID)
	}
	return lessons.Lesson{}, fmt.Errorf("%w %q: did you mean %s? (`nslab list` shows all)", lessons.ErrUnknownLesson, id, strings.Join(closest(want, ids, 3), ", "))
}

// closest returns up to n candidates nearest to s by edit distance.
func closest(s string, cands []string, n int) []string {
	type sc struct {
		id string
		d  int
	}
	var all []sc
	for _, c := range cands {
		d := editDistance(s, c)
		if strings.HasPrefix(c, s) && s != "" {
			d = 0
		}
		all = append(all, sc{c, d})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].d < all[j].d })
	var out []string
	for i := 0; i < len(all) && i < n; i++ {
		out = append(out, all[i].id)
	}
	return out
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
