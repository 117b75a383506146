package migrations

import (
	"fmt"
	"io/fs"
	"sort"
)

// Load reads and parses every migration file at the root of fsys, ordered
// by file name as dbmate orders them. Files whose names do not match
// [IsMigrationFile] and directories are ignored. A file that does not parse,
// or two files with the same version, make Load fail: a migration set is
// applied whole or not at all.
func Load(fsys fs.FS) ([]*Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("reading migrations directory: %w", err)
	}
	var migs []*Migration
	seen := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || !IsMigrationFile(e.Name()) {
			continue
		}
		src, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("reading migration %s: %w", e.Name(), err)
		}
		m, err := ParseFile(e.Name(), src)
		if err != nil {
			return nil, err
		}
		if other, dup := seen[m.Version]; dup {
			return nil, &ParseError{File: m.File, Err: fmt.Errorf("%w: %s and %s are both version %s", ErrDuplicateVersion, other, m.File, m.Version)}
		}
		seen[m.Version] = m.File
		migs = append(migs, m)
	}
	if len(migs) == 0 {
		return nil, ErrNoMigrationFiles
	}
	sort.Slice(migs, func(i, j int) bool { return migs[i].File < migs[j].File })
	return migs, nil
}
