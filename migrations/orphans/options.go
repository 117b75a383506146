package orphans

import "time"

// Options configures [Scan]. The zero value of every field is usable.
type Options struct {
	// ChunkSize is the number of referencing rows one query reads at most.
	// Zero means 10000, a tenth of the proxy's default row limit.
	ChunkSize int

	// SampleSize is the number of distinct orphan values kept per
	// relation. Zero means 10.
	SampleSize int

	// ChunkTimeout bounds each chunk query. Zero means 20s.
	ChunkTimeout time.Duration

	// Pause is a rest between chunks that spreads the scan's load. Zero
	// means none.
	Pause time.Duration

	// Only restricts the scan to these referencing columns, written
	// "table.column" or "schema.table.column". Empty means every documented
	// relation. With Only set, problems in other columns' comments are not
	// reported.
	Only []string

	// OnChunk, if not nil, is called after each chunk with its counts, from
	// the goroutine running Scan.
	OnChunk func(Chunk)
}

const (
	defaultChunkSize    = 10000
	defaultSampleSize   = 10
	defaultChunkTimeout = 20 * time.Second
)

func (o Options) withDefaults() Options {
	if o.ChunkSize <= 0 {
		o.ChunkSize = defaultChunkSize
	}
	if o.SampleSize <= 0 {
		o.SampleSize = defaultSampleSize
	}
	if o.ChunkTimeout <= 0 {
		o.ChunkTimeout = defaultChunkTimeout
	}
	return o
}
