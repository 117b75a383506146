package migrations

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
)

// Template is the content of a new migration file, byte for byte what
// `dbmate new` writes.
const Template = "-- migrate:up\n\n\n-- migrate:down\n\n"

// NewFile writes a new migration named name into dir (created if missing),
// with the version taken from now in UTC (YYYYMMDDHHMMSS), and returns its
// path. It refuses a name with path separators or white space, and never
// overwrites an existing file.
func NewFile(dir, name string, now time.Time) (string, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.IndexFunc(name, unicode.IsSpace) >= 0 {
		return "", fmt.Errorf("%w: %q", ErrInvalidMigrationID, name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating migrations directory: %w", err)
	}
	path := filepath.Join(dir, now.UTC().Format("20060102150405")+"_"+name+".sql")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("migration file %s already exists", path)
		}
		return "", fmt.Errorf("creating migration file: %w", err)
	}
	if _, err := f.WriteString(Template); err != nil {
		f.Close()
		return "", fmt.Errorf("writing migration file: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("writing migration file: %w", err)
	}
	return path, nil
}
