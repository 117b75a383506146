package migrations

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Migration is one migration file.
type Migration struct {
	// Version is the leading digits of the file name, the key dbmate
	// records in schema_migrations.
	Version string
	// File is the file's base name, such as
	// "20230111090000_create_material_artifact.sql".
	File string
	// Sections are the file's up/down pairs in file order. A file has at
	// least one; dbmate allows several.
	Sections []Section
	// Checksum is the hex SHA-256 of the file's bytes.
	Checksum string
}

// Section is one "-- migrate:up" block and the "-- migrate:down" block that
// follows it.
type Section struct {
	Up   Block
	Down Block
}

// Block is the text of one directive up to the next directive or the end of
// the file. Its SQL starts with the directive line itself, as dbmate's does.
type Block struct {
	// SQL is the block's text, directive line included.
	SQL string
	// Line is the 1-based line of the directive in the file.
	Line int
	// Options are the directive's key:value options ("transaction:false").
	Options Options
	// Malformed lists the directive's words that are not key:value pairs;
	// dbmate ignores them, the linter warns about them.
	Malformed []string
}

// Options are the key:value options of a migration directive.
type Options map[string]string

// Transaction reports whether the block runs inside a transaction: always,
// unless the option transaction:false is given.
func (o Options) Transaction() bool { return o["transaction"] != "false" }

// Parse errors. A [*ParseError] wraps one of them.
var (
	ErrMissingUp          = errors.New("the file has no '-- migrate:up' directive")
	ErrMissingDown        = errors.New("the '-- migrate:up' section has no '-- migrate:down' directive")
	ErrMultipleDown       = errors.New("the section has more than one '-- migrate:down' directive; start a new section with '-- migrate:up'")
	ErrStatementBeforeUp  = errors.New("only comments and blank lines may precede the first '-- migrate:up'")
	ErrInvalidFileName    = errors.New("a migration file name is the version digits, optionally a name, and .sql (YYYYMMDDHHMMSS_name.sql)")
	ErrDuplicateVersion   = errors.New("two migration files have the same version")
	ErrNoMigrationFiles   = errors.New("no migration files found")
	ErrInvalidMigrationID = errors.New("a migration name may not be empty or contain path separators or white space")
)

// ParseError locates a problem in a migration file.
type ParseError struct {
	File string
	// Line is 1-based; 0 when the problem is the file as a whole.
	Line int
	Err  error
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// fileNameRE is dbmate's rule for migration files: leading digits (the
// version), anything, ".sql".
var fileNameRE = regexp.MustCompile(`^(\d+).*\.sql$`)

// IsMigrationFile reports whether a base name is one the runner (and dbmate)
// treats as a migration.
func IsMigrationFile(name string) bool { return fileNameRE.MatchString(name) }

// ParseFile parses a migration file in dbmate's format. name is its base
// name, which must match [IsMigrationFile]; src is its content.
//
// A directive is a line that starts with "--", optional blanks, then
// "migrate:up" or "migrate:down", followed by the end of the line or blanks
// and key:value options. A new "-- migrate:up" starts a new section. Lines
// before the first directive may only be blank or "--" comments.
func ParseFile(name string, src []byte) (*Migration, error) {
	m := fileNameRE.FindStringSubmatch(name)
	if m == nil {
		return nil, &ParseError{File: name, Err: ErrInvalidFileName}
	}
	text := string(src)
	sum := sha256.Sum256(src)
	mig := &Migration{Version: m[1], File: name, Checksum: hex.EncodeToString(sum[:])}

	type directive struct {
		up        bool
		offset    int
		line      int
		options   Options
		malformed []string
	}
	var dirs []directive
	offset, seenUp := 0, false
	for i, line := range strings.SplitAfter(text, "\n") {
		if up, rest, ok := parseDirective(line); ok {
			// Down directives before the first up are comments to dbmate.
			if up || seenUp {
				opts, bad := parseOptions(rest)
				dirs = append(dirs, directive{up: up, offset: offset, line: i + 1, options: opts, malformed: bad})
			}
			seenUp = seenUp || up
		} else if !seenUp && !isBlankOrComment(line) {
			return nil, &ParseError{File: name, Line: i + 1, Err: ErrStatementBeforeUp}
		}
		offset += len(line)
	}
	if len(dirs) == 0 {
		return nil, &ParseError{File: name, Err: ErrMissingUp}
	}
	for i := 0; i < len(dirs); {
		up := dirs[i]
		j := i + 1
		for j < len(dirs) && !dirs[j].up {
			j++
		}
		downs := dirs[i+1 : j]
		if len(downs) == 0 {
			return nil, &ParseError{File: name, Line: up.line, Err: ErrMissingDown}
		}
		if len(downs) > 1 {
			return nil, &ParseError{File: name, Line: downs[1].line, Err: ErrMultipleDown}
		}
		down := downs[0]
		end := len(text)
		if j < len(dirs) {
			end = dirs[j].offset
		}
		mig.Sections = append(mig.Sections, Section{
			Up:   Block{SQL: text[up.offset:down.offset], Line: up.line, Options: up.options, Malformed: up.malformed},
			Down: Block{SQL: text[down.offset:end], Line: down.line, Options: down.options, Malformed: down.malformed},
		})
		i = j
	}
	return mig, nil
}

// parseDirective recognises a directive line and returns whether it is an up
// directive and the text after "migrate:up"/"migrate:down".
func parseDirective(line string) (up bool, rest string, ok bool) {
	s, found := strings.CutPrefix(line, "--")
	if !found {
		return false, "", false
	}
	s = strings.TrimLeft(s, " \t\r\f\v")
	switch {
	case strings.HasPrefix(s, "migrate:up"):
		up, rest = true, s[len("migrate:up"):]
	case strings.HasPrefix(s, "migrate:down"):
		rest = s[len("migrate:down"):]
	default:
		return false, "", false
	}
	// The keyword must end the line or be followed by a blank.
	if rest != "" && !isBlank(rest[0]) {
		return false, "", false
	}
	return up, rest, true
}

func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// parseOptions splits the rest of a directive line into key:value options;
// words that are not exactly one key and one value are returned as
// malformed.
func parseOptions(rest string) (Options, []string) {
	opts := Options{}
	var bad []string
	for _, w := range strings.Fields(rest) {
		k, v, ok := strings.Cut(w, ":")
		if !ok || k == "" || v == "" || strings.Contains(v, ":") {
			bad = append(bad, w)
			continue
		}
		opts[k] = v
	}
	return opts, bad
}

func isBlankOrComment(line string) bool {
	s := strings.TrimLeft(line, " \t\n\r\f\v")
	return s == "" || strings.HasPrefix(s, "--")
}
