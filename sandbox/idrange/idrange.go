// Package idrange hands each learner of a class a range of host user and
// group ids of their own, for the user namespaces their sandboxes live in.
// Root inside a learner's sandbox is the range's base outside: a uid no
// account, no /etc/subuid entry and no other learner has.
//
// Ranges are recorded in the class's state directory (ranges.json, 0600,
// replaced atomically), so a learner who comes back gets the same range,
// and files they left in a shared place keep their owner.
package idrange

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Size is the number of ids each learner gets: the 65536 a user namespace
// needs for a full uid_t range of 16-bit ids, as /etc/subuid hands out.
const Size = 65536

// FileName is the record's name in the state directory.
const FileName = "ranges.json"

// ErrExhausted says that no free range is left below the limit.
var ErrExhausted = errors.New("no free id range left for another learner")

// ErrBadName says a learner name cannot be recorded.
var ErrBadName = errors.New("learner name must match ^[a-z][a-z0-9_-]{0,31}$")

// Range is a learner's host ids: Base is what uid and gid 0 inside map to,
// Count ids from there.
type Range struct {
	Base  uint32 `json:"base"`
	Count uint32 `json:"count"`
}

// End is one past the range's last id.
func (r Range) End() uint64 { return uint64(r.Base) + uint64(r.Count) }

// Overlaps reports whether r and o share an id.
func (r Range) Overlaps(o Range) bool {
	return uint64(r.Base) < o.End() && uint64(o.Base) < r.End()
}

func (r Range) String() string { return fmt.Sprintf("%d-%d", r.Base, r.End()-1) }

// Config says where ranges may come from; Open uses the host's.
type Config struct {
	// Floor is the lowest base to hand out; 0 means "above every id the
	// host already uses" (see HostFloor).
	Floor uint64
	// Limit is one past the highest id to hand out; 0 means 2^32-1 (the
	// kernel reserves (uid_t)-1).
	Limit uint64
	// Size is each range's length; 0 means Size.
	Size uint32
}

// Allocator hands out and records ranges. Its methods are safe for
// concurrent use; one server owns a state directory.
type Allocator struct {
	path string
	cfg  Config

	mu  sync.Mutex
	rec record
}

type record struct {
	Ranges map[string]Range `json:"ranges"`
}

// Open reads (or starts) the record in stateDir, with the floor above
// every id the host's passwd, group, subuid and subgid files use.
func Open(stateDir string) (*Allocator, error) {
	floor, err := HostFloor("/etc")
	if err != nil {
		return nil, err
	}
	return OpenWith(stateDir, Config{Floor: floor})
}

// OpenWith is Open with an explicit configuration (tests use a small one).
func OpenWith(stateDir string, cfg Config) (*Allocator, error) {
	if cfg.Size == 0 {
		cfg.Size = Size
	}
	if cfg.Limit == 0 {
		cfg.Limit = 1<<32 - 1
	}
	if cfg.Floor == 0 {
		cfg.Floor = uint64(cfg.Size)
	}
	a := &Allocator{path: filepath.Join(stateDir, FileName), cfg: cfg, rec: record{Ranges: map[string]Range{}}}
	b, err := os.ReadFile(a.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return a, nil
	case err != nil:
		return nil, fmt.Errorf("read the class's id ranges: %w", err)
	}
	if err := json.Unmarshal(b, &a.rec); err != nil {
		return nil, fmt.Errorf("%s is damaged (%w): move it aside to start new ranges", a.path, err)
	}
	if a.rec.Ranges == nil {
		a.rec.Ranges = map[string]Range{}
	}
	// A record that overlaps itself (edited by hand) would give two
	// learners the same host ids: refuse it rather than guess.
	names := a.names()
	for i, n := range names {
		for _, m := range names[i+1:] {
			if a.rec.Ranges[n].Overlaps(a.rec.Ranges[m]) {
				return nil, fmt.Errorf("%s gives %s and %s overlapping ids (%s, %s): fix or remove the file", a.path, n, m, a.rec.Ranges[n], a.rec.Ranges[m])
			}
		}
	}
	return a, nil
}

func (a *Allocator) names() []string {
	names := make([]string, 0, len(a.rec.Ranges))
	for n := range a.rec.Ranges {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// For returns name's range, allocating and recording a new one the first
// time: the lowest free range at or above the floor.
func (a *Allocator) For(name string) (Range, error) {
	if !ValidName(name) {
		return Range{}, fmt.Errorf("%q: %w", name, ErrBadName)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if r, ok := a.rec.Ranges[name]; ok {
		return r, nil
	}
	taken := make([]Range, 0, len(a.rec.Ranges))
	for _, r := range a.rec.Ranges {
		taken = append(taken, r)
	}
	sort.Slice(taken, func(i, j int) bool { return taken[i].Base < taken[j].Base })
	base := a.cfg.Floor
	for _, t := range taken {
		if base+uint64(a.cfg.Size) <= uint64(t.Base) {
			break // a gap before t
		}
		if t.End() > base {
			base = t.End()
		}
	}
	if base+uint64(a.cfg.Size) > a.cfg.Limit {
		return Range{}, fmt.Errorf("%w (%d learners hold ranges up to %d): use a new state directory, or remove learners from %s", ErrExhausted, len(taken), a.cfg.Limit, a.path)
	}
	r := Range{Base: uint32(base), Count: a.cfg.Size}
	a.rec.Ranges[name] = r
	if err := a.save(); err != nil {
		delete(a.rec.Ranges, name)
		return Range{}, err
	}
	return r, nil
}

// Ranges returns a copy of every recorded range by name.
func (a *Allocator) Ranges() map[string]Range {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]Range, len(a.rec.Ranges))
	for n, r := range a.rec.Ranges {
		out[n] = r
	}
	return out
}

// save writes the record to a temporary file beside it and renames it into
// place, so a crash leaves the old record or the new one, never half.
func (a *Allocator) save() error {
	b, err := json.MarshalIndent(a.rec, "", "  ")
	if err != nil {
		return fmt.Errorf("encode id ranges: %w", err)
	}
	dir := filepath.Dir(a.path)
	f, err := os.CreateTemp(dir, "."+FileName+".*")
	if err != nil {
		return fmt.Errorf("record id ranges in %s (does the state directory exist?): %w", dir, err)
	}
	tmp := f.Name()
	// CreateTemp makes the file 0600 already; Chmod says so for umasks
	// and readers of this code alike.
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(append(b, '\n'))
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, a.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("record id ranges in %s: %w", a.path, err)
	}
	return nil
}

// ValidName reports whether s is a learner name nslab serve accepts as an
// SSH user name: ^[a-z][a-z0-9_-]{0,31}$.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > 32 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range s[1:] {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// HostFloor returns the lowest multiple of Size above every id the host
// hands out in etc's passwd and group (third field) and subuid and subgid
// (start + count), and at least 2*Size: the first 65536 ids are the
// host's own accounts, the next ones where useradd starts subordinate
// ranges (100000) on most distributions.
func HostFloor(etc string) (uint64, error) {
	top := uint64(2 * Size)
	for _, f := range []struct {
		name string
		ids  func(fields []string) (uint64, bool)
	}{
		{"passwd", idField(2)},
		{"group", idField(2)},
		{"subuid", subEnd},
		{"subgid", subEnd},
	} {
		file, err := os.Open(filepath.Join(etc, f.name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("read the host's ids: %w", err)
		}
		sc := bufio.NewScanner(file)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if end, ok := f.ids(strings.Split(line, ":")); ok && end > top {
				top = end
			}
		}
		err = sc.Err()
		file.Close()
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", f.name, err)
		}
	}
	return (top + Size - 1) / Size * Size, nil
}

// idField reads field i as an id and returns one past it. The overflow id
// nobody (65534) is below the floor anyway.
func idField(i int) func([]string) (uint64, bool) {
	return func(f []string) (uint64, bool) {
		if len(f) <= i {
			return 0, false
		}
		n, err := strconv.ParseUint(f[i], 10, 32)
		return n + 1, err == nil
	}
}

// subEnd reads "name:start:count" and returns start+count.
func subEnd(f []string) (uint64, bool) {
	if len(f) < 3 {
		return 0, false
	}
	start, err1 := strconv.ParseUint(f[1], 10, 32)
	count, err2 := strconv.ParseUint(f[2], 10, 32)
	return start + count, err1 == nil && err2 == nil
}
