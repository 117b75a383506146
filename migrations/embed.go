package migrations

import (
	"embed"
	"io/fs"
)

//go:embed *.sql
var bundled embed.FS

// Bundled returns the migrations of pgwarp's own schema, embedded in the
// binary. The files are at the root of the returned file system.
func Bundled() fs.FS { return bundled }
