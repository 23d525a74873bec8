package class

import (
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"
)

// Result is one learner × lesson, the unit of every export. A learner who
// opened no lesson has one Result with Lesson "".
type Result struct {
	Learner        string `json:"learner"`
	Lesson         string `json:"lesson"`
	Part           string `json:"part"` // the last part they were at
	Predicted      bool   `json:"predicted"`
	PredictedRight bool   `json:"predicted_right"`
	Hints          int    `json:"hints"`
	Solved         bool   `json:"solved"`
	SolutionShown  bool   `json:"solution_shown"`
	// Seconds from opening the lesson to solving it (0: not solved).
	SecondsToSolve int64 `json:"seconds_to_solve"`
}

// Results flattens records into one Result per learner × lesson, sorted
// by learner, then lesson.
func Results(recs []Record) []Result {
	var out []Result
	for _, r := range recs {
		ids := slices.Sorted(maps.Keys(r.Lessons))
		if len(ids) == 0 {
			out = append(out, Result{Learner: r.Name})
		}
		for _, id := range ids {
			l := r.Lessons[id]
			res := Result{
				Learner: r.Name, Lesson: id, Part: string(l.Part),
				Predicted: l.Predicted, PredictedRight: l.PredictedRight, Hints: l.Hints,
				Solved: l.Solved, SolutionShown: l.SolutionShown,
			}
			if l.Solved && !l.SolvedAt.IsZero() {
				res.SecondsToSolve = int64(max(0, l.SolvedAt.Sub(l.Opened)) / time.Second)
			}
			out = append(out, res)
		}
	}
	return out
}

// CSVHeader is the export's first line.
var csvHeader = []string{"learner", "lesson", "part", "predicted", "predicted_right", "hints", "solved", "solution_shown", "seconds_to_solve"}

// WriteCSV writes one line per learner × lesson, under a header line.
func WriteCSV(w io.Writer, recs []Record) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("writing CSV: %w", err)
	}
	for _, r := range Results(recs) {
		line := []string{
			r.Learner, r.Lesson, r.Part, strconv.FormatBool(r.Predicted), strconv.FormatBool(r.PredictedRight),
			strconv.Itoa(r.Hints), strconv.FormatBool(r.Solved), strconv.FormatBool(r.SolutionShown),
			strconv.FormatInt(r.SecondsToSolve, 10),
		}
		if err := cw.Write(line); err != nil {
			return fmt.Errorf("writing CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing CSV: %w", err)
	}
	return nil
}

// WriteJSON writes {"results": [...]}, one object per learner × lesson.
func WriteJSON(w io.Writer, recs []Record) error {
	res := Results(recs)
	if res == nil {
		res = []Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(struct {
		Results []Result `json:"results"`
	}{res}); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}

// The JUnit XML schema as CI servers read it: one testsuite per learner,
// one testcase per lesson they opened.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Skipped  int          `xml:"skipped,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name     string      `xml:"name,attr"`
		Tests    int         `xml:"tests,attr"`
		Failures int         `xml:"failures,attr"`
		Skipped  int         `xml:"skipped,attr"`
		Cases    []junitCase `xml:"testcase"`
	}
	junitCase struct {
		Name       string        `xml:"name,attr"`
		Classname  string        `xml:"classname,attr"`
		Time       string        `xml:"time,attr"`
		Properties *junitProps   `xml:"properties,omitempty"`
		Failure    *junitFailure `xml:"failure,omitempty"`
		Skipped    *junitSkipped `xml:"skipped,omitempty"`
	}
	junitProps struct {
		Props []junitProp `xml:"property"`
	}
	junitProp struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitFailure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
	}
	junitSkipped struct {
		Message string `xml:"message,attr"`
	}
)

// WriteJUnit writes JUnit XML: a testcase per learner × lesson that
// passes when the learner solved the challenge themselves, fails when it
// is not solved, and is skipped when they were shown the solution. Each
// testcase's properties carry the prediction, hints and last part.
func WriteJUnit(w io.Writer, recs []Record) error {
	doc := junitSuites{Name: "nslab class"}
	var suite *junitSuite
	for _, r := range Results(recs) {
		if suite == nil || suite.Name != r.Learner {
			doc.Suites = append(doc.Suites, junitSuite{Name: r.Learner})
			suite = &doc.Suites[len(doc.Suites)-1]
		}
		if r.Lesson == "" {
			continue // joined, opened nothing: an empty suite
		}
		prediction := "none"
		if r.Predicted {
			prediction = "wrong"
			if r.PredictedRight {
				prediction = "right"
			}
		}
		c := junitCase{
			Name: r.Lesson, Classname: "nslab." + r.Learner, Time: strconv.FormatInt(r.SecondsToSolve, 10),
			Properties: &junitProps{Props: []junitProp{
				{Name: "part", Value: r.Part},
				{Name: "prediction", Value: prediction},
				{Name: "hints", Value: strconv.Itoa(r.Hints)},
				{Name: "solution_shown", Value: strconv.FormatBool(r.SolutionShown)},
			}},
		}
		switch {
		case r.SolutionShown:
			c.Skipped = &junitSkipped{Message: "the solution was shown"}
			suite.Skipped++
			doc.Skipped++
		case !r.Solved:
			c.Failure = &junitFailure{Message: "challenge not solved (last part: " + r.Part + ")", Type: "unsolved"}
			suite.Failures++
			doc.Failures++
		}
		suite.Tests++
		doc.Tests++
		suite.Cases = append(suite.Cases, c)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("writing JUnit XML: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("writing JUnit XML: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("writing JUnit XML: %w", err)
	}
	return nil
}
