package pgcluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrNoBinaries is returned by [FindBinDir] when no PostgreSQL server
// binaries can be found. Its message says what to install.
var ErrNoBinaries = errors.New("PostgreSQL server binaries (initdb, postgres, pg_ctl) not found " +
	"in $PGWARP_PG_BIN, on PATH, via `pg_config --bindir`, or under /usr/lib/postgresql/*/bin; " +
	"install them: `apt-get install -y postgresql` (Debian/Ubuntu), `dnf install postgresql-server` (Fedora), " +
	"`brew install postgresql@16` (macOS), then retry (or set PGWARP_PG_BIN to the directory holding initdb)")

// FindBinDir returns the directory holding initdb and postgres. It looks, in
// order, at $PGWARP_PG_BIN, at PATH, at `pg_config --bindir` and at the newest
// /usr/lib/postgresql/<version>/bin (where Debian installs the server without
// putting it on PATH).
func FindBinDir() (string, error) {
	if d := os.Getenv("PGWARP_PG_BIN"); d != "" {
		if hasServer(d) {
			return d, nil
		}
		return "", fmt.Errorf("PGWARP_PG_BIN=%s holds no initdb and postgres: %w", d, ErrNoBinaries)
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		// Resolve symlinks (Debian's wrappers, /usr/local/bin links) so
		// that the installation's lib and share directories are found.
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		if d := filepath.Dir(p); hasServer(d) {
			return d, nil
		}
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); hasServer(d) {
			return d, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if hasServer(d) {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

func hasServer(dir string) bool {
	for _, name := range []string{"initdb", "postgres", "pg_ctl"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// versionOf extracts the major version from /usr/lib/postgresql/<v>/bin.
func versionOf(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

// ClientBin returns the path of a client program (psql, pgbench, pg_dump…)
// belonging to the same installation as binDir, falling back to PATH.
func ClientBin(binDir, name string) (string, error) {
	p := filepath.Join(binDir, name)
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
		return p, nil
	}
	return exec.LookPath(name)
}
