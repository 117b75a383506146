package orphans

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/pgwarp/pgwarp/migrations/relations"
)

// Chunk is what one chunk query of a relation found.
type Chunk struct {
	Relation relations.Relation
	// Scanned is the number of referencing rows the chunk read.
	Scanned int64
	// OrphanRows is the number of those rows that point at nothing.
	OrphanRows int64
}

// RelationReport is the result for one documented relation.
type RelationReport struct {
	Relation relations.Relation
	// ScannedRows is the number of referencing rows read.
	ScannedRows int64
	// OrphanRows is the number of rows whose non-null value has no match.
	OrphanRows int64
	// Sample holds up to Options.SampleSize distinct orphan values, as text,
	// in the order found.
	Sample []string
	// Chunks is the number of chunk queries run.
	Chunks int
	// Err is set when the relation could not be scanned (no usable key,
	// incomparable types, a timeout); the counts are then partial.
	Err error
}

// Report is the result of [Scan].
type Report struct {
	// Relations has one entry per scanned relation, ordered by referencing
	// column.
	Relations []RelationReport
	// Problems are relation comments that could not be used.
	Problems []relations.Problem
}

// OrphanRows returns the total number of orphan rows found.
func (r *Report) OrphanRows() int64 {
	var n int64
	for _, rel := range r.Relations {
		n += rel.OrphanRows
	}
	return n
}

// Failed reports whether a relation could not be scanned or a relation
// comment could not be used: the report is then incomplete.
func (r *Report) Failed() bool {
	if len(r.Problems) > 0 {
		return true
	}
	for _, rel := range r.Relations {
		if rel.Err != nil {
			return true
		}
	}
	return false
}

type relationJSON struct {
	From        string   `json:"from"`
	To          string   `json:"to"`
	ScannedRows int64    `json:"scanned_rows"`
	OrphanRows  int64    `json:"orphan_rows"`
	Sample      []string `json:"sample"`
	Chunks      int      `json:"chunks"`
	Error       string   `json:"error,omitempty"`
}

// MarshalJSON encodes the report as pgwarp orphans --json prints it.
func (r *Report) MarshalJSON() ([]byte, error) {
	out := struct {
		OrphanRows int64          `json:"orphan_rows"`
		Relations  []relationJSON `json:"relations"`
		Problems   []string       `json:"problems"`
	}{OrphanRows: r.OrphanRows(), Relations: []relationJSON{}, Problems: []string{}}
	for _, rel := range r.Relations {
		j := relationJSON{
			From: rel.Relation.From.String(), To: rel.Relation.To.String(),
			ScannedRows: rel.ScannedRows, OrphanRows: rel.OrphanRows, Sample: rel.Sample, Chunks: rel.Chunks,
		}
		if j.Sample == nil {
			j.Sample = []string{}
		}
		if rel.Err != nil {
			j.Error = rel.Err.Error()
		}
		out.Relations = append(out.Relations, j)
	}
	for _, p := range r.Problems {
		out.Problems = append(out.Problems, p.Error())
	}
	return json.Marshal(out)
}

// WriteText prints the report for people: one line per relation, then the
// problems and a summary line.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, rel := range r.Relations {
		switch {
		case rel.Err != nil:
			fmt.Fprintf(&b, "ERROR    %s: %v\n", rel.Relation, rel.Err)
		case rel.OrphanRows > 0:
			fmt.Fprintf(&b, "ORPHANS  %s: %d of %d rows point at nothing (sample: %s)\n",
				rel.Relation, rel.OrphanRows, rel.ScannedRows, strings.Join(rel.Sample, ", "))
		default:
			fmt.Fprintf(&b, "ok       %s: %d rows\n", rel.Relation, rel.ScannedRows)
		}
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "ERROR    %v\n", p)
	}
	with := 0
	for _, rel := range r.Relations {
		if rel.OrphanRows > 0 {
			with++
		}
	}
	fmt.Fprintf(&b, "\n%d orphan rows in %d of %d relations", r.OrphanRows(), with, len(r.Relations))
	if n := len(r.Problems); n > 0 {
		fmt.Fprintf(&b, "; %d relation comments unusable", n)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}
