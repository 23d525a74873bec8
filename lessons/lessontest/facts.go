package lessontest

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// Doctored values written into an observation. garbage is of no shape a
// lesson stores; aNamespaceID stands where a number belongs, aNumber where
// an identity ("dev:ino") belongs: finding 9 was a namespace id shown as
// a PID by a fact that still held.
const (
	garbage      = "garbage"
	aNamespaceID = "4:4026531836"
	aNumber      = "12345"
)

// isIDShape reports whether s is an identity as lessons.PutIDs stores it:
// "dev:ino".
func isIDShape(s string) bool {
	dev, ino, ok := strings.Cut(s, ":")
	_, derr := strconv.ParseUint(dev, 10, 64)
	_, ierr := strconv.ParseUint(ino, 10, 64)
	return ok && derr == nil && ierr == nil
}

// FactsCanFail checks that every fact of l can fail: fed observations
// doctored from the real one o, each fact fails on at least one of them
// (DoctoredFacts), and a fact that reads an Extra value fails when the
// value is missing or of the wrong shape.
func FactsCanFail(t testing.TB, l lessons.Lesson, o lessons.Observation) {
	t.Helper()
	for _, p := range DoctoredFacts(l.Logic.Facts, o) {
		t.Errorf("%s", p)
	}
}

// DoctoredFacts feeds facts observations doctored from o, and returns a
// problem for each fact that cannot fail:
//
//   - one that holds on every doctored observation: the sandbox's
//     identities replaced by the host's (all, and one kind at a time) or
//     the other way round, one of the sandbox's replaced by a new one, the sides swapped, a view that failed, every
//     Extra value missing or wrong, and every value of either snapshot
//     changed (a number moved by 1000, a text replaced or emptied, a flag
//     flipped), every list entry missing and every list emptied, and so
//     every operation the engine recorded on the learner's behalf
//     (OnBehalf);
//   - one whose text or Got changes with an Extra value (it reads it) and that
//     still holds when the value is missing, garbage, or of the wrong
//     shape: a namespace id where a number was, a number where an id was.
//
// Facts that do not hold on o are left out: the walk reports those.
func DoctoredFacts(facts func(lessons.Observation) []lessons.Fact, o lessons.Observation) []string {
	base := facts(o)
	d := doctor{facts: facts, o: cloneObservation(o), failedBy: make([]string, len(base)), base: base}
	d.identities()
	d.sides()
	d.errs()
	for _, side := range []*sandbox.Snapshot{&d.o.Host, &d.o.Sandbox} {
		v := reflect.ValueOf(side).Elem()
		for i := range v.NumField() {
			switch f := v.Type().Field(i); f.Name {
			case "Side", "Taken", "Views", "Errs", "IDs":
				// Labels, a time stamp and views asked for are no
				// observation; Errs and IDs are doctored above.
			default:
				d.leaves(v.Field(i), side.Side+"."+f.Name)
			}
		}
	}
	// What the engine did on the host for the sandboxes (a class's
	// server, on the learner's behalf): each record missing or changed.
	d.leaves(reflect.ValueOf(&d.o.OnBehalf).Elem(), "OnBehalf")
	var problems []string
	problems = append(problems, d.extra()...)
	for i, f := range base {
		if f.OK && d.failedBy[i] == "" {
			problems = append(problems, fmt.Sprintf("fact %d %q holds on each of the %d doctored observations (got %s): it cannot fail", i+1, f.Text, d.tried, f.Got))
		}
	}
	return problems
}

// doctor changes its copy of the observation in place, one thing at a
// time, evaluates the facts, and puts the thing back.
type doctor struct {
	facts    func(lessons.Observation) []lessons.Fact
	o        lessons.Observation
	base     []lessons.Fact
	failedBy []string // per fact: the first doctoring it failed on
	tried    int
}

// try evaluates the facts on the doctored observation and notes which
// fail. A fact that is no longer stated counts as failing.
func (d *doctor) try(name string) []*lessons.Fact {
	d.tried++
	d.o.Diffs = sandbox.DiffAll(d.o.Host, d.o.Sandbox)
	got := align(d.base, d.facts(d.o))
	for i := range d.base {
		if (got[i] == nil || !got[i].OK) && d.failedBy[i] == "" {
			d.failedBy[i] = name
		}
	}
	return got
}

// align pairs each fact of base with the fact stated in its place in got:
// the one at its index when as many were stated, else the one with its
// text (a lesson may leave a fact out when its data is missing, and the
// rest move up); nil when it is no longer stated.
func align(base, got []lessons.Fact) []*lessons.Fact {
	out := make([]*lessons.Fact, len(base))
	if len(got) == len(base) {
		for i := range got {
			out[i] = &got[i]
		}
		return out
	}
	used := make([]bool, len(got))
	for i, b := range base {
		for j, g := range got {
			if !used[j] && g.Text == b.Text {
				used[j], out[i] = true, &got[j]
				break
			}
		}
	}
	return out
}

func (d *doctor) identities() {
	h, s := d.o.Host.IDs, d.o.Sandbox.IDs
	d.o.Sandbox.IDs = maps.Clone(h)
	d.try("the host's identities on both sides")
	d.o.Sandbox.IDs, d.o.Host.IDs = s, maps.Clone(s)
	d.try("the sandbox's identities on both sides")
	d.o.Host.IDs = h
	for _, k := range slices.Sorted(maps.Keys(s)) {
		d.o.Sandbox.IDs = maps.Clone(s)
		if id, ok := h[k]; ok {
			d.o.Sandbox.IDs[k] = id
			d.try("the sandbox's " + k + " is the host's")
		}
		d.o.Sandbox.IDs[k] = sandbox.NSID{Dev: s[k].Dev, Ino: s[k].Ino + 1000}
		d.try("the sandbox in a new " + k + " namespace")
		delete(d.o.Sandbox.IDs, k)
		d.try("the sandbox's " + k + " identity missing")
	}
	d.o.Sandbox.IDs = s
	for _, k := range slices.Sorted(maps.Keys(h)) {
		d.o.Host.IDs = maps.Clone(h)
		delete(d.o.Host.IDs, k)
		d.try("the host's " + k + " identity missing")
	}
	d.o.Host.IDs = h
}

func (d *doctor) sides() {
	d.o.Host, d.o.Sandbox = d.o.Sandbox, d.o.Host
	d.try("host and sandbox swapped")
	d.o.Host, d.o.Sandbox = d.o.Sandbox, d.o.Host
}

// errs makes each view fail on each side in turn.
func (d *doctor) errs() {
	for _, side := range []*sandbox.Snapshot{&d.o.Host, &d.o.Sandbox} {
		orig := side.Errs
		for _, v := range side.Views {
			side.Errs = maps.Clone(orig)
			if side.Errs == nil {
				side.Errs = sandbox.ViewErrs{}
			}
			side.Errs[v] = "doctored: the view failed"
			d.try(fmt.Sprintf("the %s view failed on the %s side", v, side.Side))
		}
		side.Errs = orig
	}
}

// extra doctors each Extra value, and returns the problems of facts that
// read a value and hold without it.
func (d *doctor) extra() []string {
	orig := d.o.Extra
	d.o.Extra = map[string]string{}
	d.try("no Extra at all")
	var problems []string
	for _, k := range slices.Sorted(maps.Keys(orig)) {
		val := orig[k]
		d.o.Extra = maps.Clone(orig)
		wrong := []string{"", garbage}
		if _, err := strconv.Atoi(val); err == nil {
			wrong = append(wrong, aNamespaceID)
		} else if isIDShape(val) {
			wrong = append(wrong, aNumber)
		}
		var results [][]*lessons.Fact
		delete(d.o.Extra, k)
		results = append(results, d.try("Extra "+k+" missing"))
		for _, w := range wrong[1:] {
			d.o.Extra[k] = w
			results = append(results, d.try(fmt.Sprintf("Extra %s = %q", k, w)))
		}
		if n, err := strconv.Atoi(val); err == nil {
			d.o.Extra[k] = strconv.Itoa(n + 1000)
			d.try(fmt.Sprintf("Extra %s = %d", k, n+1000))
		}
		for i, f := range d.base {
			if !f.OK || !reads(f, results, i) {
				continue
			}
			for j, got := range results {
				if got[i] != nil && got[i].OK {
					problems = append(problems, fmt.Sprintf("fact %d %q reads Extra %s (%q, got %s) and still holds when it is %q (got %s)",
						i+1, f.Text, k, val, f.Got, shown(wrong[j]), got[i].Got))
				}
			}
		}
	}
	d.o.Extra = orig
	return problems
}

func shown(v string) string {
	if v == "" {
		return "(missing)"
	}
	return v
}

// reads reports whether fact i changed in any of results: its verdict,
// what it shows it got, or its text.
func reads(f lessons.Fact, results [][]*lessons.Fact, i int) bool {
	for _, got := range results {
		if got[i] == nil || got[i].OK != f.OK || got[i].Got != f.Got || got[i].Text != f.Text {
			return true
		}
	}
	return false
}

// leaves doctors every value under v (settable), each in turn, and puts
// it back.
func (d *doctor) leaves(v reflect.Value, path string) {
	set := func(x any, name string) {
		old := reflect.New(v.Type()).Elem()
		old.Set(v)
		v.Set(reflect.ValueOf(x).Convert(v.Type()))
		d.try(path + " " + name)
		v.Set(old)
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int32:
		set(v.Int()+1000, "moved by 1000")
	case reflect.Int64:
		if v.Type() == reflect.TypeFor[time.Duration]() {
			set(v.Int()+int64(1000*time.Hour), "moved by 1000h")
		} else {
			set(v.Int()+1000, "moved by 1000")
		}
	case reflect.Uint, reflect.Uint32, reflect.Uint64:
		set(v.Uint()^1<<21, "with bit 21 flipped")
	case reflect.Bool:
		set(!v.Bool(), "flipped")
	case reflect.String:
		set(garbage, "garbage")
		if v.String() != "" {
			set("", "empty")
		}
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		set(reflect.Zero(v.Type()).Interface(), "missing")
		d.leaves(v.Elem(), path)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				d.leaves(v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			return
		}
		orig := v.Slice(0, v.Len())
		for i := range orig.Len() {
			rest := reflect.AppendSlice(reflect.AppendSlice(reflect.MakeSlice(v.Type(), 0, orig.Len()-1), orig.Slice(0, i)), orig.Slice(i+1, orig.Len()))
			v.Set(rest)
			d.try(fmt.Sprintf("%s[%d] missing", path, i))
		}
		v.Set(reflect.Zero(v.Type()))
		d.try(path + " empty")
		v.Set(orig)
		for i := range v.Len() {
			d.leaves(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

// cloneObservation copies o deeply, so that doctoring it leaves o as it
// was.
func cloneObservation(o lessons.Observation) lessons.Observation {
	return deepCopy(reflect.ValueOf(o)).Interface().(lessons.Observation)
}

func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		n := reflect.New(v.Elem().Type())
		n.Elem().Set(deepCopy(v.Elem()))
		return n
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			n.Index(i).Set(deepCopy(v.Index(i)))
		}
		return n
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			n.SetMapIndex(it.Key(), deepCopy(it.Value()))
		}
		return n
	case reflect.Struct:
		n := reflect.New(v.Type()).Elem()
		n.Set(v) // unexported fields (time.Time's) are values, copied as they are
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				n.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
		return n
	}
	return v
}
