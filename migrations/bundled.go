package migrations

import (
	"context"
	"io"
)

// ApplyBundled creates the database named by databaseURL if it does not
// exist and applies every pending migration of pgwarp's bundled schema,
// with the default limits and lint. Progress goes to log (nil discards it).
// It is what `pgwarp dev` runs on start; it is safe to call on every start
// and from several processes at once.
func ApplyBundled(ctx context.Context, databaseURL string, log io.Writer) (*Result, error) {
	r, err := New(Config{URL: databaseURL, Log: log})
	if err != nil {
		return nil, err
	}
	return r.Up(ctx)
}
