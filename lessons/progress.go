package lessons

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nslab/nslab/sandbox/userfs"
)

// The progress file: what a learner has done, kept across runs in
// $XDG_STATE_HOME/nslab/progress.json (default ~/.local/state/nslab/).
// Every access runs as the user nslab works for (under sudo, the invoking
// user's credentials) and follows no symlink (sandbox/userfs). Loading
// never crashes on a bad file: a file it cannot trust is moved aside with
// a warning and the learner starts fresh; an error is returned only when
// the learner must do something (HOME unset, a symlink or non-directory on
// the way, a file or directory they may not read or write), and then the
// caller keeps the progress it has in memory.

// ProgressVersion is the format version this nslab writes and reads.
const ProgressVersion = 1

// MaxProgressSize is the largest progress file nslab reads. Twelve lessons
// need a few kilobytes; anything bigger is not nslab's.
const MaxProgressSize = 1 << 20

// Status is where a learner is with one lesson.
type Status string

const (
	StatusNotStarted Status = "not-started"
	StatusInProgress Status = "in-progress"
	StatusDone       Status = "done"
)

// Errors of the progress store, for errors.Is.
var (
	// ErrProgressCorrupt: the file is not a progress file nslab can read
	// (bad JSON, truncated, too big, invalid values).
	ErrProgressCorrupt = errors.New("progress file is corrupt")
	// ErrProgressFuture: the file was written by a newer nslab.
	ErrProgressFuture = errors.New("progress file is from a newer nslab")
	// ErrNoHome: neither HOME nor XDG_STATE_HOME says where to keep it.
	ErrNoHome = errors.New("HOME is not set")
)

// LessonProgress is one lesson's record.
type LessonProgress struct {
	Status Status `json:"status"`
	// Part is the part the learner was at last ("" before the first).
	Part    Part      `json:"part,omitempty"`
	Updated time.Time `json:"updated"`
	// Predicted is set once the prediction was answered; PredictedRight
	// says whether the answer matched what the kernel showed.
	Predicted      bool `json:"predicted,omitempty"`
	PredictedRight bool `json:"predicted_right,omitempty"`
	// ChallengeDone is set when the challenge check passed.
	ChallengeDone bool `json:"challenge_done,omitempty"`
	// HintsUsed counts the hints shown for the challenge.
	HintsUsed int `json:"hints_used,omitempty"`
}

// Progress is the whole progress file.
type Progress struct {
	Version int                       `json:"version"`
	Lessons map[string]LessonProgress `json:"lessons"`
}

// NewProgress is an empty progress record of the current version.
func NewProgress() Progress {
	return Progress{Version: ProgressVersion, Lessons: map[string]LessonProgress{}}
}

// Get returns a lesson's record; a lesson never touched is not started.
func (p Progress) Get(id string) LessonProgress {
	if lp, ok := p.Lessons[id]; ok {
		return lp
	}
	return LessonProgress{Status: StatusNotStarted}
}

func (p *Progress) ensure() {
	if p.Version == 0 {
		p.Version = ProgressVersion
	}
	if p.Lessons == nil {
		p.Lessons = map[string]LessonProgress{}
	}
}

// Mark records that the learner is at part in lesson id with status. A
// lesson once done stays done when it is opened again (in-progress), so
// revisiting a lesson never loses its completion; only Reset undoes it.
func (p *Progress) Mark(id string, status Status, part Part) {
	p.ensure()
	lp := p.Lessons[id]
	if !(lp.Status == StatusDone && status == StatusInProgress) {
		lp.Status = status
	}
	lp.Part = part
	lp.Updated = now()
	p.Lessons[id] = lp
}

// RecordPrediction records the learner's answer to a lesson's prediction.
func (p *Progress) RecordPrediction(id string, right bool) {
	p.ensure()
	lp := p.Get(id)
	lp.Predicted, lp.PredictedRight = true, right
	lp.Updated = now()
	p.Lessons[id] = lp
}

// RecordChallenge records a passed challenge check and the hints used.
func (p *Progress) RecordChallenge(id string, done bool, hints int) {
	p.ensure()
	lp := p.Get(id)
	lp.ChallengeDone = lp.ChallengeDone || done
	lp.HintsUsed = max(lp.HintsUsed, hints)
	lp.Updated = now()
	p.Lessons[id] = lp
}

// Reset forgets one lesson.
func (p *Progress) Reset(id string) {
	p.ensure()
	delete(p.Lessons, id)
}

// ResetAll forgets every lesson.
func (p *Progress) ResetAll() {
	p.Version = ProgressVersion
	p.Lessons = map[string]LessonProgress{}
}

// Done counts the lessons marked done.
func (p Progress) Done() int {
	n := 0
	for _, lp := range p.Lessons {
		if lp.Status == StatusDone {
			n++
		}
	}
	return n
}

// now is the time stamps' clock: UTC (which also drops the monotonic
// reading, so that a record compares equal after a save and load).
func now() time.Time { return time.Now().UTC() }

// validProgressID reports whether id can be a lesson id in the progress
// file: 1 to 32 of [a-z0-9-], starting with a letter or digit. A loop,
// not a package-level regexp, which every start of the binary (every
// agent included) would compile.
func validProgressID(id string) bool {
	if len(id) == 0 || len(id) > 32 || id[0] == '-' {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func validStatus(s Status) bool {
	return s == StatusNotStarted || s == StatusInProgress || s == StatusDone
}

func validPart(p Part) bool {
	if p == "" {
		return true
	}
	for _, q := range Parts() {
		if p == q {
			return true
		}
	}
	return false
}

// validate checks a record the way Decode needs it, so that everything it
// accepts can be written and read back unchanged.
func (p Progress) validate() error {
	switch {
	case p.Version > ProgressVersion:
		return fmt.Errorf("%w: format version %d, this nslab reads %d", ErrProgressFuture, p.Version, ProgressVersion)
	case p.Version < 1:
		return fmt.Errorf("%w: format version %d", ErrProgressCorrupt, p.Version)
	}
	for id, lp := range p.Lessons {
		switch {
		case !validProgressID(id):
			return fmt.Errorf("%w: lesson id %q", ErrProgressCorrupt, id)
		case !validStatus(lp.Status):
			return fmt.Errorf("%w: lesson %s: status %q", ErrProgressCorrupt, id, lp.Status)
		case !validPart(lp.Part):
			return fmt.Errorf("%w: lesson %s: part %q", ErrProgressCorrupt, id, lp.Part)
		case lp.HintsUsed < 0:
			return fmt.Errorf("%w: lesson %s: hints %d", ErrProgressCorrupt, id, lp.HintsUsed)
		}
		// JSON can only write years 0..9999; one outside that range (an
		// offset pushing year 1 below it) could be read but never saved.
		if y := lp.Updated.UTC().Year(); y < 1 || y > 9999 {
			return fmt.Errorf("%w: lesson %s: time %s", ErrProgressCorrupt, id, lp.Updated)
		}
	}
	return nil
}

// DecodeProgress parses a progress file. It fails with ErrProgressCorrupt
// for anything but one valid JSON object of a known version (trailing data,
// bad values included), and with ErrProgressFuture for a newer version.
func DecodeProgress(b []byte) (Progress, error) {
	if len(b) > MaxProgressSize {
		return Progress{}, fmt.Errorf("%w: %d bytes, more than %d", ErrProgressCorrupt, len(b), MaxProgressSize)
	}
	// The version decides first: a newer nslab may write values, even
	// shapes, this one does not know, which is not corruption.
	var head struct {
		Version int `json:"version"`
	}
	if json.Unmarshal(b, &head) == nil && head.Version > ProgressVersion {
		return Progress{}, fmt.Errorf("%w: format version %d, this nslab reads %d", ErrProgressFuture, head.Version, ProgressVersion)
	}
	var p Progress
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&p); err != nil {
		return Progress{}, fmt.Errorf("%w: %w", ErrProgressCorrupt, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Progress{}, fmt.Errorf("%w: data after the JSON object", ErrProgressCorrupt)
	}
	if err := p.validate(); err != nil {
		return Progress{}, err
	}
	if p.Lessons == nil {
		p.Lessons = map[string]LessonProgress{}
	}
	for id, lp := range p.Lessons {
		lp.Updated = lp.Updated.UTC()
		p.Lessons[id] = lp
	}
	return p, nil
}

// EncodeProgress writes a progress record as the file holds it. It refuses
// a record DecodeProgress would not accept.
func EncodeProgress(p Progress) ([]byte, error) {
	p.ensure()
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("encode progress: %w", err)
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode progress: %w", err)
	}
	return append(b, '\n'), nil
}

// progressFS is how nslab reaches the progress file: as the user it
// works for (under sudo, the user who ran sudo, with their own
// file-system credentials) and never through a symlink. See
// sandbox/userfs and the README's Security section.
func progressFS() (userfs.FS, error) {
	id, err := userfs.Invoker(os.Getenv)
	if err != nil {
		return userfs.FS{}, fmt.Errorf("%w; nslab will not touch files for a user it cannot name, so your progress is kept in memory for this run (run nslab through sudo, or as yourself)", err)
	}
	return userfs.FS{As: id}, nil
}

// ProgressPath is where the progress file lives: $XDG_STATE_HOME/nslab/
// progress.json, else ~/.local/state/nslab/progress.json. Under sudo the
// home is the invoking user's from the password database (not $HOME,
// which sudo -E keeps from anyone), so progress follows the learner
// whether or not they used sudo. XDG_STATE_HOME is honoured under sudo
// too, but only as the learner could use it: every file operation there
// runs with the learner's credentials. Without HOME (and without an
// absolute XDG_STATE_HOME) it fails with ErrNoHome, saying what to set.
func ProgressPath() (string, error) {
	fsys, err := progressFS()
	if err != nil {
		return "", err
	}
	// The XDG spec says a relative XDG_STATE_HOME is invalid and ignored.
	if x := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(filepath.Clean(x), "nslab", "progress.json"), nil
	}
	home := fsys.As.Home
	if !filepath.IsAbs(home) {
		return "", fmt.Errorf("%w: nslab keeps your progress in ~/.local/state/nslab; set HOME (e.g. `export HOME=%s`) or XDG_STATE_HOME", ErrNoHome, guessHome())
	}
	return filepath.Join(filepath.Clean(home), ".local", "state", "nslab", "progress.json"), nil
}

// guessHome is only for the example in ErrNoHome's message.
func guessHome() string {
	if u, err := user.Current(); err == nil && u.HomeDir != "" {
		return u.HomeDir
	}
	return "/root"
}

// LoadProgress reads the progress file at path, as the user nslab works
// for, never through a symlink. A missing file is empty progress. A file
// nslab cannot trust (corrupt, truncated, bigger than MaxProgressSize,
// from a newer version, a FIFO or anything but a regular file) is renamed
// to path.corrupt-<time>, as that user, and warning says so; progress is
// then empty. err is set when the learner must act: the file or a
// directory on its way is a symlink or not a directory, or cannot be read
// or moved aside. The message says what to do, the file is left as it is,
// and the caller should keep the progress it has in memory.
func LoadProgress(path string) (p Progress, warning string, err error) {
	fsys, err := progressFS()
	if err != nil {
		return NewProgress(), "", err
	}
	return loadProgress(fsys, path)
}

func loadProgress(fsys userfs.FS, path string) (p Progress, warning string, err error) {
	b, err := fsys.ReadFile(path, MaxProgressSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return NewProgress(), "", nil
	case errors.Is(err, userfs.ErrNotRegular):
		return moveAside(fsys, path, "is not a regular file ("+kindOf(err)+")")
	case err != nil:
		return NewProgress(), "", unreadable(fsys, path, err)
	case len(b) > MaxProgressSize:
		return moveAside(fsys, path, fmt.Sprintf("is bigger than %d bytes", MaxProgressSize))
	}
	p, err = DecodeProgress(b)
	switch {
	case errors.Is(err, ErrProgressFuture):
		return moveAside(fsys, path, "was written by a newer nslab ("+err.Error()+")")
	case len(b) == 0:
		return moveAside(fsys, path, "is empty (truncated)")
	case err != nil:
		return moveAside(fsys, path, "is not valid ("+err.Error()+")")
	}
	return p, "", nil
}

// kindOf is what a userfs.PathError found ("is a FIFO, not ..." → "a FIFO").
func kindOf(err error) string {
	var pe *userfs.PathError
	if errors.As(err, &pe) {
		k, _, _ := strings.Cut(strings.TrimPrefix(pe.Found, "is "), ",")
		return k
	}
	return "not a regular file"
}

// unsafe explains a path nslab will not use: a symlink or a non-directory
// on the way to the progress file. Nothing was read or written there.
func unsafe(path string, err error) error {
	var pe *userfs.PathError
	comp := path
	if errors.As(err, &pe) {
		comp = pe.Path
	}
	var fix string
	switch {
	case errors.Is(err, userfs.ErrSymlink) && comp == path:
		fix = fmt.Sprintf("nslab never follows a symlink to your progress file (under sudo a link could choose where root writes). Remove the link (`rm %s`); if it pointed at your progress, move that file here in its place", path)
	case errors.Is(err, userfs.ErrSymlink):
		fix = fmt.Sprintf("nslab never follows a symlink on the way to your progress file (under sudo a link could choose where root writes). Replace it with a real directory holding what it points to (`mv %s %s.link && mkdir -p %s && cp -a %s.link/. %s/`), or set XDG_STATE_HOME to a directory whose path has no symlink", comp, comp, comp, comp, comp)
	default:
		fix = fmt.Sprintf("nslab needs a directory there. Move it away (`mv %s %s.old`) and nslab makes the directory, or set XDG_STATE_HOME to another directory", comp, comp)
	}
	return fmt.Errorf("your progress file %s cannot be used: %w. %s. Nothing there was changed; your progress is kept in memory for this run", path, err, fix)
}

func unreadable(fsys userfs.FS, path string, err error) error {
	if errors.Is(err, userfs.ErrSymlink) || errors.Is(err, userfs.ErrNotDir) {
		return unsafe(path, err)
	}
	fix := "check the file and its directory"
	if errors.Is(err, fs.ErrPermission) {
		fix = "nslab reads it with your own permissions" + asWhom(fsys) + "; make it yours (`sudo chown -R $(id -u):$(id -g) " + filepath.Dir(path) + "`) or point XDG_STATE_HOME at a directory of yours"
	}
	return fmt.Errorf("cannot read your progress file %s: %w; %s (your progress is unchanged, and kept in memory for this run)", path, err, fix)
}

// asWhom names the user nslab acted as, under sudo.
func asWhom(fsys userfs.FS) string {
	if fsys.As.Switch {
		return " (as " + fsys.As.String() + ", who ran sudo)"
	}
	return ""
}

// moveAside renames a file nslab cannot trust out of the way, as the user
// nslab works for, keeping it for the learner to inspect, and starts with
// empty progress.
func moveAside(fsys userfs.FS, path, why string) (Progress, string, error) {
	stamp := time.Now().UTC().Format("20060102T150405Z")
	dst, err := fsys.RenameAside(path, ".corrupt-"+stamp)
	if errors.Is(err, userfs.ErrSymlink) || errors.Is(err, userfs.ErrNotDir) {
		return NewProgress(), "", unsafe(path, err)
	}
	if err != nil {
		return NewProgress(), "", fmt.Errorf("your progress file %s %s and could not be moved aside%s: %w; move or remove it yourself (your progress is kept in memory for this run)", path, why, asWhom(fsys), err)
	}
	return NewProgress(), fmt.Sprintf("your progress file %s %s; moved it to %s and started fresh", path, why, dst), nil
}

// SaveProgress writes the progress file atomically, as the user nslab
// works for and never through a symlink: a new file in the same
// directory, fsync, rename over the old one, fsync the directory. The file
// is 0600 and the directories it creates 0700; under sudo they are the
// invoking user's because that user's credentials made them. On failure
// the old file is untouched and the error says what to do.
func SaveProgress(path string, p Progress) error {
	b, err := EncodeProgress(p)
	if err != nil {
		return err
	}
	fsys, err := progressFS()
	if err != nil {
		return err
	}
	return saveProgress(fsys, path, b)
}

func saveProgress(fsys userfs.FS, path string, b []byte) error {
	if err := fsys.WriteFileAtomic(path, b); err != nil {
		return unwritable(fsys, filepath.Dir(path), err)
	}
	return nil
}

func unwritable(fsys userfs.FS, dir string, err error) error {
	if errors.Is(err, userfs.ErrSymlink) || errors.Is(err, userfs.ErrNotDir) {
		return unsafe(filepath.Join(dir, "progress.json"), err)
	}
	fix := "check the directory"
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		fix = "nslab writes there with your own permissions" + asWhom(fsys) + ", so it must be a directory you could write yourself: make it yours (`sudo chown -R $(id -u):$(id -g) " + dir + "`) or point XDG_STATE_HOME at a directory of yours"
	}
	return fmt.Errorf("cannot save your progress in %s: %w; %s", dir, err, fix)
}

// ProgressFile is the progress file at Path as a store with Load and Save
// (what the TUI keeps its progress through).
type ProgressFile struct {
	Path string
	// AsSelf reads and writes as this process, never as the user who ran
	// sudo: the class server (nslab serve) keeps every learner's progress
	// in its own root-only state directory, which that user may not
	// enter. Symlinks are still never followed.
	AsSelf bool
}

// Load reads the file (see LoadProgress).
func (f ProgressFile) Load() (Progress, string, error) {
	if f.AsSelf {
		return loadProgress(userfs.FS{}, f.Path)
	}
	return LoadProgress(f.Path)
}

// Save writes the file (see SaveProgress).
func (f ProgressFile) Save(p Progress) error {
	if !f.AsSelf {
		return SaveProgress(f.Path, p)
	}
	b, err := EncodeProgress(p)
	if err != nil {
		return err
	}
	return saveProgress(userfs.FS{}, f.Path, b)
}
