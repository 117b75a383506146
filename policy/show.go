package policy

import (
	"strconv"
	"time"
)

// Row is one line of SHOW POLICY: a setting, its value in configuration
// syntax, and where it comes from ("default", "config", or
// "override database=… user=…").
type Row struct {
	Name   string
	Value  string
	Source string
}

// Rows renders the policy in force: the six global settings, then every
// setting each override sets, in configuration order. A limit of 0 renders
// as "0 (unlimited)".
func (e *Engine) Rows() []Row {
	rs := e.rules.Load()
	rows := make([]Row, 0, int(numFields)*(1+len(rs.overrides)))
	for f := range numFields {
		rows = append(rows, Row{fieldNames[f], formatValue(f, rs.global[f]), rs.globalScopes[f].row()})
	}
	for i := range rs.overrides {
		l := &rs.overrides[i]
		for f := range numFields {
			if l.set&(1<<f) != 0 {
				rows = append(rows, Row{fieldNames[f], formatValue(f, l.v[f]), l.scope.row()})
			}
		}
	}
	return rows
}

// RowsFor renders the settings in force for user on database, one row per
// setting, each with the layer that set it. The values are those
// [Engine.Check] uses, before it zeroes limits that do not apply to a given
// statement.
func (e *Engine) RowsFor(database, user string) []Row {
	v, scopes := e.rules.Load().explain(database, user)
	rows := make([]Row, 0, numFields)
	for f := range numFields {
		rows = append(rows, Row{fieldNames[f], formatValue(f, v[f]), scopes[f].row()})
	}
	return rows
}

// formatValue renders the value of field f in configuration syntax.
func formatValue(f field, v int64) string {
	switch {
	case f == fieldMode:
		return Mode(v).String()
	case v == 0:
		return "0 (unlimited)"
	case f == fieldMaxResultBytes:
		return formatSize(v)
	case f == fieldTransactionTimeout || f == fieldStatementTimeout:
		return formatDuration(time.Duration(v))
	default:
		return strconv.FormatInt(v, 10)
	}
}
