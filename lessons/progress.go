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
	"regexp"
	"strconv"
	"syscall"
	"time"
)

// The progress file: what a learner has done, kept across runs in
// $XDG_STATE_HOME/nslab/progress.json (default ~/.local/state/nslab/).
// Loading never crashes on a bad file: anything it cannot trust is moved
// aside with a warning and the learner starts fresh; an error is returned
// only when the learner must do something (HOME unset, a file or directory
// nslab may not read or write), and then the caller keeps the progress it
// has in memory.

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

var progressIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

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
		case !progressIDPattern.MatchString(id):
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

// progressOwner is who must own what nslab writes in a home: under sudo
// (euid 0 with SUDO_UID and SUDO_GID set) the invoking user, so that no
// root-owned file lands in their home. ok is false when files keep the
// process's own ownership.
func progressOwner() (uid, gid int, ok bool) {
	if os.Geteuid() != 0 {
		return 0, 0, false
	}
	u, err1 := strconv.Atoi(os.Getenv("SUDO_UID"))
	g, err2 := strconv.Atoi(os.Getenv("SUDO_GID"))
	if err1 != nil || err2 != nil || u < 0 || g < 0 {
		return 0, 0, false
	}
	return u, g, true
}

// ProgressPath is where the progress file lives: $XDG_STATE_HOME/nslab/
// progress.json, else ~/.local/state/nslab/progress.json. Under sudo the
// home is the invoking user's (SUDO_USER), not root's, so progress follows
// the learner whether or not they used sudo. Without HOME (and without an
// absolute XDG_STATE_HOME) it fails with ErrNoHome, saying what to set.
func ProgressPath() (string, error) {
	// The XDG spec says a relative XDG_STATE_HOME is invalid and ignored.
	if x := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "nslab", "progress.json"), nil
	}
	home := os.Getenv("HOME")
	if _, _, sudo := progressOwner(); sudo {
		if name := os.Getenv("SUDO_USER"); name != "" {
			u, err := user.Lookup(name)
			if err != nil {
				return "", fmt.Errorf("find the home of %s (SUDO_USER) for the progress file: %w; set XDG_STATE_HOME to a directory of yours", name, err)
			}
			home = u.HomeDir
		}
	}
	if !filepath.IsAbs(home) {
		return "", fmt.Errorf("%w: nslab keeps your progress in ~/.local/state/nslab; set HOME (e.g. `export HOME=%s`) or XDG_STATE_HOME", ErrNoHome, guessHome())
	}
	return filepath.Join(home, ".local", "state", "nslab", "progress.json"), nil
}

// guessHome is only for the example in ErrNoHome's message.
func guessHome() string {
	if u, err := user.Current(); err == nil && u.HomeDir != "" {
		return u.HomeDir
	}
	return "/root"
}

// LoadProgress reads the progress file at path. A missing file is empty
// progress. A file nslab cannot trust (corrupt, truncated, bigger than
// MaxProgressSize, from a newer version, a symlink or anything but a
// regular file) is renamed to path.corrupt-<time> and warning says so;
// progress is then empty. err is set only when the learner must act (the
// file cannot be read or moved aside): the message says what to do and
// the caller should keep the progress it has.
func LoadProgress(path string) (p Progress, warning string, err error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return NewProgress(), "", nil
	}
	if err != nil {
		return NewProgress(), "", unreadable(path, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, _ := os.Readlink(path)
		return moveAside(path, fmt.Sprintf("is a symlink (to %s), which nslab does not follow", target))
	}
	if !fi.Mode().IsRegular() {
		return moveAside(path, "is not a regular file ("+fi.Mode().Type().String()+")")
	}
	// O_NOFOLLOW|O_NONBLOCK: a file swapped for a symlink or a FIFO after
	// the Lstat must neither be followed nor block the open.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return moveAside(path, "is a symlink, which nslab does not follow")
		}
		return NewProgress(), "", unreadable(path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return NewProgress(), "", unreadable(path, err)
	} else if !st.Mode().IsRegular() {
		return moveAside(path, "is not a regular file")
	}
	// Never read more than the limit: a huge file is refused, not loaded.
	b, err := io.ReadAll(io.LimitReader(f, MaxProgressSize+1))
	if err != nil {
		return NewProgress(), "", unreadable(path, err)
	}
	if len(b) > MaxProgressSize {
		return moveAside(path, fmt.Sprintf("is bigger than %d bytes", MaxProgressSize))
	}
	p, err = DecodeProgress(b)
	switch {
	case errors.Is(err, ErrProgressFuture):
		return moveAside(path, "was written by a newer nslab ("+err.Error()+")")
	case len(b) == 0:
		return moveAside(path, "is empty (truncated)")
	case err != nil:
		return moveAside(path, "is not valid ("+err.Error()+")")
	}
	return p, "", nil
}

func unreadable(path string, err error) error {
	fix := "check the file and its directory"
	if errors.Is(err, fs.ErrPermission) {
		fix = fmt.Sprintf("make it yours with `sudo chown -R $(id -u):$(id -g) %s`, or remove it", filepath.Dir(path))
	}
	return fmt.Errorf("cannot read your progress file %s: %w; %s (your progress is unchanged)", path, err, fix)
}

// moveAside renames a file nslab cannot trust out of the way, keeping it
// for the learner to inspect, and starts with empty progress.
func moveAside(path, why string) (Progress, string, error) {
	stamp := time.Now().UTC().Format("20060102T150405Z")
	dst := path + ".corrupt-" + stamp
	for i := 1; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
			break
		}
		dst = fmt.Sprintf("%s.corrupt-%s-%d", path, stamp, i)
	}
	// rename(2) moves a symlink itself, never its target.
	if err := os.Rename(path, dst); err != nil {
		return NewProgress(), "", fmt.Errorf("your progress file %s %s and could not be moved aside: %w; move or remove it yourself", path, why, err)
	}
	return NewProgress(), fmt.Sprintf("your progress file %s %s; moved it to %s and started fresh", path, why, dst), nil
}

// SaveProgress writes the progress file atomically: a temporary file in
// the same directory, fsync, rename over the old one, fsync the directory.
// The file is 0600 and the directories it creates 0700; under sudo they
// belong to the invoking user. On failure the old file is untouched and the
// error says what to do.
func SaveProgress(path string, p Progress) error {
	b, err := EncodeProgress(p)
	if err != nil {
		return err
	}
	uid, gid, chown := progressOwner()
	dir := filepath.Dir(path)
	if err := mkdirOwned(dir, uid, gid, chown); err != nil {
		return unwritable(dir, err)
	}
	f, err := os.CreateTemp(dir, ".progress-*.tmp") // mode 0600
	if err != nil {
		return unwritable(dir, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if chown {
		if err := f.Chown(uid, gid); err != nil {
			return unwritable(dir, err)
		}
	}
	if _, err := f.Write(b); err != nil {
		return unwritable(dir, err)
	}
	if err := f.Sync(); err != nil {
		return unwritable(dir, err)
	}
	if err := f.Close(); err != nil {
		return unwritable(dir, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return unwritable(dir, err)
	}
	ok = true
	// The rename is durable only once the directory is on disk too.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

func unwritable(dir string, err error) error {
	fix := "check the directory"
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		fix = fmt.Sprintf("make it writable (`sudo chown -R $(id -u):$(id -g) %s`) or point XDG_STATE_HOME at a writable directory", dir)
	}
	return fmt.Errorf("cannot save your progress in %s: %w; %s", dir, err, fix)
}

// mkdirOwned creates dir and its missing parents with mode 0700, and under
// sudo hands each directory it created to the invoking user.
func mkdirOwned(dir string, uid, gid int, chown bool) error {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		missing = append(missing, d)
		if d == filepath.Dir(d) {
			break
		}
	}
	for i := len(missing) - 1; i >= 0; i-- {
		d := missing[i]
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if chown {
			if err := os.Lchown(d, uid, gid); err != nil {
				return err
			}
		}
	}
	if fi, err := os.Stat(dir); err != nil {
		return err
	} else if !fi.IsDir() {
		return fmt.Errorf("%s: %w", dir, syscall.ENOTDIR)
	}
	return nil
}

// ProgressFile is the progress file at Path as a store with Load and Save
// (what the TUI keeps its progress through).
type ProgressFile struct{ Path string }

// Load reads the file (see LoadProgress).
func (f ProgressFile) Load() (Progress, string, error) { return LoadProgress(f.Path) }

// Save writes the file (see SaveProgress).
func (f ProgressFile) Save(p Progress) error { return SaveProgress(f.Path, p) }
