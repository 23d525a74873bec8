package lessons

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// The lesson folders: lessons/NN-slug/{meta.json,lesson.md}.
//
//go:embed */meta.json */lesson.md
var content embed.FS

// ErrUnknownLesson wraps an id that names no lesson.
var ErrUnknownLesson = fmt.Errorf("unknown lesson")

// Catalog returns every lesson in curriculum order, text and logic joined.
// It fails only if the embedded content is broken, which the content lint
// test rules out.
func Catalog() ([]Lesson, error) {
	dirs, err := fs.Glob(content, "*/meta.json")
	if err != nil {
		return nil, fmt.Errorf("list lessons: %w", err)
	}
	logics := registry()
	var out []Lesson
	for _, m := range dirs {
		dir := path.Dir(m)
		l, err := loadLesson(dir)
		if err != nil {
			return nil, err
		}
		lg, ok := logics[l.ID]
		if !ok {
			return nil, fmt.Errorf("lesson %s (%s): no logic registered", l.ID, dir)
		}
		l.Logic = lg()
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out, nil
}

// Folders lists the lesson folder names embedded, for the content lint.
func Folders() ([]string, error) {
	dirs, err := fs.Glob(content, "*/meta.json")
	if err != nil {
		return nil, err
	}
	for i, d := range dirs {
		dirs[i] = path.Dir(d)
	}
	return dirs, nil
}

func loadLesson(dir string) (Lesson, error) {
	var l Lesson
	b, err := content.ReadFile(dir + "/meta.json")
	if err != nil {
		return l, fmt.Errorf("lesson %s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &l.Meta); err != nil {
		return l, fmt.Errorf("lesson %s: meta.json: %w", dir, err)
	}
	md, err := content.ReadFile(dir + "/lesson.md")
	if errors.Is(err, fs.ErrNotExist) {
		// A lesson still being written has no text yet: it loads with no
		// sections, and the content lint test fails on it.
		return l, nil
	}
	if err != nil {
		return l, fmt.Errorf("lesson %s: %w", dir, err)
	}
	l.Sections = ParseSections(string(md))
	return l, nil
}

// ParseSections splits lesson Markdown at its "## " headings. A heading's
// first word names the part ("## Concept: what a UTS namespace is"); text
// before the first heading (the "# Title") is dropped.
func ParseSections(md string) []Section {
	var out []Section
	var cur *Section
	var body []string
	flush := func() {
		if cur != nil {
			cur.Body = strings.TrimSpace(strings.Join(body, "\n"))
			out = append(out, *cur)
		}
		body = nil
	}
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "## ") {
			flush()
			title := strings.TrimSpace(strings.TrimPrefix(line, "## "))
			word := strings.ToLower(strings.FieldsFunc(title, func(r rune) bool { return r == ' ' || r == ':' })[0])
			cur = &Section{Part: Part(word), Title: title}
			continue
		}
		if cur != nil {
			body = append(body, line)
		}
	}
	flush()
	return out
}

// ByID finds a lesson by id (or by its number, "3"). An unknown id gives an
// error that names the closest ids and `nslab list`.
func ByID(id string) (Lesson, error) {
	all, err := Catalog()
	if err != nil {
		return Lesson{}, err
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
	return Lesson{}, fmt.Errorf("%w %q: did you mean %s? (`nslab list` shows all)", ErrUnknownLesson, id, strings.Join(Closest(want, ids, 3), ", "))
}

// Closest returns up to n candidates nearest to s by edit distance.
func Closest(s string, cands []string, n int) []string {
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
