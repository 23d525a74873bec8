package lessons

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// The lesson folders: lessons/NN-id/{lesson.toml,lesson.md}, beside the
// lesson's Go logic.
//
//go:embed */lesson.toml */lesson.md
var content embed.FS

// ErrUnknownLesson wraps an id that names no lesson.
var ErrUnknownLesson = errors.New("unknown lesson")

// ErrContent wraps a lesson folder whose text or data is malformed.
var ErrContent = errors.New("malformed lesson content")

// Content is the embedded catalogue: one NN-id folder per lesson.
func Content() fs.FS { return content }

// Load reads every lesson folder of fsys and joins each with its logic
// from logics (by id), in curriculum order.
func Load(fsys fs.FS, logics map[string]func() Logic) ([]Lesson, error) {
	dirs, err := Folders(fsys)
	if err != nil {
		return nil, err
	}
	var out []Lesson
	for _, dir := range dirs {
		l, err := loadFolder(fsys, dir)
		if err != nil {
			return nil, err
		}
		lg, ok := logics[l.ID]
		if !ok {
			return nil, fmt.Errorf("lesson %s (%s): no logic registered: %w", l.ID, dir, ErrContent)
		}
		l.Logic = lg()
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out, nil
}

// Folders lists the lesson folders of fsys: those holding a lesson.toml.
func Folders(fsys fs.FS) ([]string, error) {
	dirs, err := fs.Glob(fsys, "*/lesson.toml")
	if err != nil {
		return nil, fmt.Errorf("list lessons: %w", err)
	}
	for i, d := range dirs {
		dirs[i] = path.Dir(d)
	}
	return dirs, nil
}

// lessonFile is the layout of lesson.toml.
type lessonFile struct {
	Meta
	Experiments []string   `toml:"experiments"`
	ShellNew    []string   `toml:"shell_new"`
	Claims      []Claim    `toml:"claims"`
	Prediction  Prediction `toml:"prediction"`
	Challenge   Challenge  `toml:"challenge"`
}

// loadFolder reads one lesson folder's text and data, without logic. A key
// lesson.toml does not define is an error, so a typo cannot drop a field.
func loadFolder(fsys fs.FS, dir string) (Lesson, error) {
	var l Lesson
	b, err := fs.ReadFile(fsys, dir+"/lesson.toml")
	if err != nil {
		return l, fmt.Errorf("lesson %s: %w", dir, err)
	}
	var f lessonFile
	md, err := toml.Decode(string(b), &f)
	if err != nil {
		return l, fmt.Errorf("lesson %s: lesson.toml: %w: %w", dir, ErrContent, err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		return l, fmt.Errorf("lesson %s: lesson.toml: %w: unknown keys %v", dir, ErrContent, u)
	}
	l.Meta, l.Prediction, l.Challenge, l.Experiments = f.Meta, f.Prediction, f.Challenge, f.Experiments
	l.ShellNew, l.Claims = f.ShellNew, f.Claims
	text, err := fs.ReadFile(fsys, dir+"/lesson.md")
	if errors.Is(err, fs.ErrNotExist) {
		// A lesson still being written has no text yet: it loads with no
		// sections, and the content lint fails on it.
		return l, nil
	}
	if err != nil {
		return l, fmt.Errorf("lesson %s: %w", dir, err)
	}
	if l.Sections, err = ParseSections(string(text)); err != nil {
		return l, fmt.Errorf("lesson %s: lesson.md: %w", dir, err)
	}
	return l, nil
}

// LoadLesson finds the folder of fsys whose lesson.toml has id and joins it
// with logic: one lesson, for the lesson's own tests.
func LoadLesson(fsys fs.FS, id string, logic func() Logic) (Lesson, error) {
	dirs, err := Folders(fsys)
	if err != nil {
		return Lesson{}, err
	}
	for _, dir := range dirs {
		l, err := loadFolder(fsys, dir)
		if err != nil {
			return Lesson{}, err
		}
		if l.ID == id {
			l.Logic = logic()
			return l, nil
		}
	}
	return Lesson{}, fmt.Errorf("%w %q: no folder has it", ErrUnknownLesson, id)
}

// ParseSections splits lesson Markdown at its "## " headings. A heading's
// first word names the part ("## Concept: what a UTS namespace is"); text
// before the first heading (the "# Title") is dropped. A heading with no
// words is an error wrapping ErrContent.
func ParseSections(md string) ([]Section, error) {
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
	for i, line := range strings.Split(md, "\n") {
		if line == "##" || strings.HasPrefix(line, "## ") {
			flush()
			title := strings.TrimSpace(strings.TrimPrefix(line, "##"))
			words := strings.FieldsFunc(title, func(r rune) bool { return r == ' ' || r == ':' })
			if len(words) == 0 {
				return nil, fmt.Errorf("line %d: %w: a \"## \" heading names no part", i+1, ErrContent)
			}
			cur = &Section{Part: Part(strings.ToLower(words[0])), Title: title}
			continue
		}
		if cur != nil {
			body = append(body, line)
		}
	}
	flush()
	return out, nil
}
