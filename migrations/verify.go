package migrations

import (
	"context"
	"fmt"
	"sort"
)

// VerifyState is the verdict on one applied migration.
type VerifyState int

// Verify verdicts.
const (
	// VerifyOK: the file is unchanged since pgwarp applied it.
	VerifyOK VerifyState = iota + 1
	// VerifyModified: the file was edited after it was applied; the
	// database has the old version of its change.
	VerifyModified
	// VerifyMissingFile: the version is applied but no file has it.
	VerifyMissingFile
	// VerifyUnrecorded: the version was applied by another tool (dbmate),
	// so there is no checksum to compare with.
	VerifyUnrecorded
)

// String returns the verdict as printed by `pgwarp migrate verify`.
func (s VerifyState) String() string {
	switch s {
	case VerifyOK:
		return "ok"
	case VerifyModified:
		return "MODIFIED"
	case VerifyMissingFile:
		return "MISSING"
	case VerifyUnrecorded:
		return "unrecorded"
	}
	return fmt.Sprintf("VerifyState(%d)", int(s))
}

// VerifyEntry is the verdict on one applied version.
type VerifyEntry struct {
	Version string
	// File is the migration's file name now, or the recorded one when the
	// file is missing.
	File  string
	State VerifyState
	// Recorded is the checksum stored when the migration was applied;
	// Current is the file's checksum now. Either may be empty.
	Recorded, Current string
}

// VerifyReport is the result of [Runner.Verify], ordered by version.
type VerifyReport struct {
	Entries []VerifyEntry
}

// Problems returns the entries that are modified or missing their file.
func (v *VerifyReport) Problems() []VerifyEntry {
	var out []VerifyEntry
	for _, e := range v.Entries {
		if e.State == VerifyModified || e.State == VerifyMissingFile {
			out = append(out, e)
		}
	}
	return out
}

// Verify compares every applied migration with its file: a checksum that
// differs from the one recorded when pgwarp applied it means the file was
// edited afterwards. Pending migrations are not part of the report.
func (r *Runner) Verify(ctx context.Context) (*VerifyReport, error) {
	conn, err := r.connect(ctx, "")
	if err != nil {
		return nil, err
	}
	defer closeConn(conn)
	t, err := r.locateTables(ctx, conn)
	if err != nil {
		return nil, err
	}
	applied, err := readApplied(ctx, conn, t)
	if err != nil {
		return nil, err
	}
	sums, err := readChecksums(ctx, conn, t)
	if err != nil {
		return nil, err
	}
	files := map[string]*Migration{}
	for _, m := range r.migs {
		files[m.Version] = m
	}
	rep := &VerifyReport{}
	for v := range applied {
		e := VerifyEntry{Version: v}
		rec, recorded := sums[v]
		if recorded {
			e.Recorded, e.File = rec.sha256, rec.file
		}
		m, ok := files[v]
		switch {
		case !ok:
			e.State = VerifyMissingFile
		case !recorded:
			e.File, e.Current, e.State = m.File, m.Checksum, VerifyUnrecorded
		case rec.sha256 != m.Checksum:
			e.File, e.Current, e.State = m.File, m.Checksum, VerifyModified
		default:
			e.File, e.Current, e.State = m.File, m.Checksum, VerifyOK
		}
		rep.Entries = append(rep.Entries, e)
	}
	sort.Slice(rep.Entries, func(i, j int) bool { return rep.Entries[i].Version < rep.Entries[j].Version })
	return rep, nil
}
