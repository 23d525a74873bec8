package catalog

// The content lint (lessons.LintCatalogue) on the real catalogue, and on a
// copy with a lesson folder added the way the README's "Adding a lesson"
// says: one folder, one registry line.

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nslab/nslab/lessons"
	uts "github.com/nslab/nslab/lessons/02-uts"
)

func TestLintCatalogue(t *testing.T) {
	for _, p := range lessons.LintCatalogue(lessons.Content(), Logics()) {
		t.Error(p)
	}
	folders, err := lessons.Folders(lessons.Content())
	if err != nil {
		t.Fatal(err)
	}
	if len(folders) != len(Logics()) || len(folders) < 13 {
		t.Errorf("%d lesson folders, want one per registered lesson (%d) and at least 13", len(folders), len(Logics()))
	}
	if _, err := All(); err != nil {
		t.Errorf("Catalog: %v", err)
	}
}

// addLesson copies the catalogue into a temp directory and adds a lesson
// folder NN-demo, numbered after the last (uts's text and data under a new id) with edit applied to
// its lesson.toml and lesson.md; it returns the copy and the registry with
// demo in it, as the README's "Adding a lesson" says.
func addLesson(t *testing.T, edit func(toml, md string) (string, string)) (string, map[string]func() lessons.Logic) {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, lessons.Content()); err != nil {
		t.Fatal(err)
	}
	toml, err := os.ReadFile(filepath.Join(dir, "02-uts", "lesson.toml"))
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "02-uts", "lesson.md"))
	if err != nil {
		t.Fatal(err)
	}
	next := len(Logics()) + 1
	tm := strings.Replace(string(toml), "id = 'uts'\nnumber = 2\n", fmt.Sprintf("id = 'demo'\nnumber = %d\n", next), 1)
	if tm == string(toml) {
		t.Fatal("02-uts/lesson.toml does not start with its id and number")
	}
	tm, mdText := edit(tm, string(md))
	demo := filepath.Join(dir, fmt.Sprintf("%02d-demo", next))
	if err := os.Mkdir(demo, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"lesson.toml": tm, "lesson.md": mdText} {
		if err := os.WriteFile(filepath.Join(demo, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reg := maps.Clone(Logics())
	reg["demo"] = uts.Logic
	return dir, reg
}

// TestLintAddLesson adds a lesson folder to a copy of the catalogue: it is
// listed, last, and linted clean; then each way of breaking it is caught.
func TestLintAddLesson(t *testing.T) {
	same := func(toml, md string) (string, string) { return toml, md }
	dir, reg := addLesson(t, same)
	all, err := lessons.Load(os.DirFS(dir), reg)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(Logics()) + 1; len(all) != n || all[n-1].ID != "demo" || all[n-1].Challenge.Task == "" {
		t.Fatalf("the added lesson is not listed last with its data: %d lessons", len(all))
	}
	if p := lessons.LintCatalogue(os.DirFS(dir), reg); len(p) > 0 {
		t.Errorf("the added lesson does not lint clean: %v", p)
	}

	for _, c := range []struct {
		name string
		edit func(toml, md string) (string, string)
		want string
	}{
		{"empty heading", func(toml, md string) (string, string) {
			return toml, strings.Replace(md, "## Predict", "## ", 1)
		}, "heading names no part"},
		{"unknown key", func(toml, md string) (string, string) {
			return strings.Replace(toml, "minutes =", "minuts =", 1), md
		}, "unknown keys [minuts]"},
		{"empty hint", func(toml, md string) (string, string) {
			return strings.Replace(toml, "hints = [\n", "hints = [\n  '  ',\n", 1), md
		}, "hint 1 is empty"},
		{"no solution", func(toml, md string) (string, string) {
			i := strings.Index(toml, "solution = [")
			return toml[:i] + "solution = ['# nothing to run']\n", md
		}, "no solution command"},
		{"empty experiment", func(toml, md string) (string, string) {
			return strings.Replace(toml, "experiments = [\n", "experiments = [\n  '',\n", 1), md
		}, "experiment 1 is empty"},
		{"one choice", func(toml, md string) (string, string) {
			i := strings.Index(toml, "choices = [")
			j := strings.Index(toml, "[challenge]")
			return toml[:i] + "choices = ['only']\n\n" + toml[j:], md
		}, "at least two choices"},
		{"wrong number", func(toml, md string) (string, string) {
			n := len(Logics()) + 1
			return strings.Replace(toml, fmt.Sprintf("number = %d", n), fmt.Sprintf("number = %d", n+1), 1), md
		}, fmt.Sprintf("not the folder's prefix %d", len(Logics())+1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, reg := addLesson(t, c.edit)
			got := strings.Join(lessons.LintCatalogue(os.DirFS(dir), reg), "\n")
			if !strings.Contains(got, c.want) {
				t.Errorf("lint did not report %q; it said:\n%s", c.want, got)
			}
		})
	}

	dir, reg = addLesson(t, same)
	delete(reg, "demo")
	if got := strings.Join(lessons.LintCatalogue(os.DirFS(dir), reg), "\n"); !strings.Contains(got, `id "demo" is not registered`) {
		t.Errorf("an unregistered folder is not reported: %s", got)
	}
}

// TestConstantNames checks the one rule for a lesson's constants: every
// constant declared in a lesson's package starts with the lesson's id
// (utsLabHost, netHostEnd), so a name says whose it is wherever it is
// quoted. The packages are read from the source tree beside this test.
func TestConstantNames(t *testing.T) {
	folders, err := lessons.Folders(lessons.Content())
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, dir := range folders {
		_, id, _ := strings.Cut(dir, "-")
		for _, name := range constNames(t, filepath.Join("..", dir)) {
			checked++
			if !strings.HasPrefix(name, id) || len(name) == len(id) {
				t.Errorf("%s: constant %s does not start with the lesson's id %q", dir, name, id)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no constant found: the source tree is not beside the test")
	}
	// The rule can fail: a name without the id is caught.
	if bad := constNamesIn(t, "package x\nconst (\n\tutsGood = 1\n\tbad = 2\n)\n"); len(bad) != 2 || bad[1] != "bad" {
		t.Errorf("constants of a sample: %v", bad)
	}
}

// constNames lists the constants declared in the non-test Go files of dir.
func constNames(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, constNamesIn(t, string(src))...)
	}
	return out
}

func constNamesIn(t *testing.T, src string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			for _, n := range s.(*ast.ValueSpec).Names {
				out = append(out, n.Name)
			}
		}
	}
	return out
}
