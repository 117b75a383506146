package query

import (
	"bytes"
	"errors"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/pgwarp/pgwarp/internal/intern"
)

// Config configures a [Classifier].
type Config struct {
	// MaxEntries bounds the number of memoised classifications. Zero means
	// 10,000.
	MaxEntries int

	// MaxBytes bounds the approximate memory the memoised classifications
	// retain, keys included; least recently used entries are evicted to
	// stay under it. A single classification larger than MaxBytes/64 is
	// returned but not memoised. Zero means 32 MiB.
	MaxBytes int64
}

const (
	defaultMaxEntries = 10_000
	defaultMaxBytes   = 32 << 20
	// entryOverhead approximates the LRU's bookkeeping per entry.
	entryOverhead = 128
	// maxPooledBuffer is the largest lexing buffer kept for reuse.
	maxPooledBuffer = 64 << 10
	// Bounds of the memo of lexer output by exact text (see lexedText):
	// statements up to maxLexedSQL bytes, at most maxLexedEntries of them,
	// retaining at most maxLexedBytes.
	maxLexedSQL     = 4 << 10
	maxLexedEntries = 4096
	maxLexedBytes   = 4 << 20
	// seenSlots is the size of the filter that admits a text to that memo
	// on its second sighting.
	seenSlots = 4096
)

// Classifier classifies query strings and memoises the results in a
// bounded LRU. It is safe for concurrent use.
//
// The memo is keyed by the literal-normalised token stream of the string
// (see [Classifier.Classify]), so statements that differ only in literal
// values, whitespace, comments and the case of keywords share one parse: a
// pgbench-style workload that sends the same statement with a different
// number each time parses it once. Classifications that depend on a
// literal's value (SET values, set_config, LOAD, PREPARE TRANSACTION
// identifiers, parse errors) are keyed by the exact comment-free text
// instead.
type Classifier struct {
	cache    *lru.Cache[uint64, *entry]
	seed     maphash.Seed
	maxBytes int64
	maxEntry int64

	bytes     atomic.Int64
	hits      atomic.Uint64
	misses    atomic.Uint64
	evictions atomic.Uint64

	buffers sync.Pool
	// texts interns the comment-free texts Classify builds: an
	// application sends the same statements again and again.
	texts *intern.Table

	// lexed memoises the lexer's output by exact statement text, so that
	// a statement sent again verbatim (a dashboard's query, the unnamed
	// statement a driver parses before every execution) skips the lexer.
	// A text enters it on its second sighting in seen, a direct-mapped
	// filter of text hashes, so that statements with a new literal every
	// time (pgbench -S) never fill it.
	lexed      *lru.Cache[uint64, *lexedText]
	lexedBytes atomic.Int64
	seen       [seenSlots]atomic.Uint64
}

// lexedText is the lexer's output for one exact statement text. It is
// immutable once stored.
type lexedText struct {
	sql  string
	key  []byte
	text string
	hint Hint
	lits []litSpan
	size int64
}

// entry is one memoised classification; key guards against hash
// collisions.
type entry struct {
	key  string
	info *Info
	size int64
}

// lexBuffers are the reusable buffers of one Classify call.
type lexBuffers struct {
	key   []byte
	text  []byte
	exact []byte
	lits  []litSpan
}

// Key domains: a normalised key and an exact text never hash alike.
const (
	domainNormal = 0
	domainExact  = 1
)

// ErrConfig reports an invalid [Config].
var ErrConfig = errors.New("query: invalid config")

// NewClassifier returns a Classifier with an empty memo.
func NewClassifier(cfg Config) (*Classifier, error) {
	if cfg.MaxEntries < 0 || cfg.MaxBytes < 0 {
		return nil, ErrConfig
	}
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = defaultMaxEntries
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = defaultMaxBytes
	}
	c := &Classifier{
		seed:     maphash.MakeSeed(),
		maxBytes: cfg.MaxBytes,
		maxEntry: cfg.MaxBytes / 64,
		texts:    intern.NewStatements(),
	}
	c.buffers.New = func() any {
		return &lexBuffers{key: make([]byte, 0, 256), text: make([]byte, 0, 256), exact: make([]byte, 0, 256), lits: make([]litSpan, 0, 16)}
	}
	cache, err := lru.NewWithEvict(cfg.MaxEntries, func(_ uint64, e *entry) {
		c.bytes.Add(-e.size)
		c.evictions.Add(1)
	})
	if err != nil {
		return nil, err
	}
	c.cache = cache
	lexed, err := lru.NewWithEvict(maxLexedEntries, func(_ uint64, e *lexedText) {
		c.lexedBytes.Add(-e.size)
	})
	if err != nil {
		return nil, err
	}
	c.lexed = lexed
	return c, nil
}

// Result is the classification of one query string.
type Result struct {
	// Info is what the string does. It is shared with every other caller
	// whose string has the same structure and must not be modified.
	Info *Info
	// Text is the comment-free text of the string, for cache keys:
	// comments removed, each run of whitespace and comments between two
	// tokens replaced by one space, leading and trailing whitespace and
	// semicolons removed, literals and the case of everything kept. It is
	// a substring of the input when the input is already in that form (as
	// most machine-generated SQL is), so it costs no allocation then.
	Text string
	// Hint holds the pgwarp hints in the string's comments.
	Hint Hint
	// Literals are the literal tokens of the string, in order, as
	// [Values] needs them for [Catalog.ReadKeys] and
	// [Catalog.InvalidationsWith]. They are filled only when the Info has
	// key predicates ([Info.Keyed]), and nil otherwise; their texts are
	// substrings of the string.
	Literals []Literal
}

// Classify classifies sql, a query string as a client sends it in a Query
// or Parse message (possibly several statements). It never fails: a string
// that does not parse gets an Info with Err set.
//
// A memo hit costs one pass of a hand-written lexer over sql, a hash and an
// LRU lookup; only a miss calls PostgreSQL's parser (pg_query, through
// cgo). A string classified before, byte for byte, skips the lexer too: its
// lexer output is memoised by exact text from its second sighting on.
func (c *Classifier) Classify(sql string) Result { return c.ClassifyInto(sql, nil) }

// ClassifyInto is [Classifier.Classify] with [Result.Literals] appended to
// lits[:0], for a caller that reuses one buffer from statement to
// statement.
func (c *Classifier) ClassifyInto(sql string, lits []Literal) Result {
	bufs := c.buffers.Get().(*lexBuffers)
	sc := scan{texts: c.texts}
	var h uint64
	lexed := false
	if len(sql) <= maxLexedSQL {
		h = maphash.String(c.seed, sql)
		if e, ok := c.lexed.Get(h); ok && e.sql == sql {
			// The memoised slices are only read: bufs keeps its own.
			sc.key, sc.text, sc.hint, sc.lits = e.key, e.text, e.hint, e.lits
			lexed = true
		}
	}
	if !lexed {
		sc.key = bufs.key[:0]
		sc.lits = bufs.lits[:0]
		bufs.text = lex(sql, &sc, false, bufs.text)
		bufs.key = sc.key
		bufs.lits = sc.lits
		if len(sql) <= maxLexedSQL {
			c.rememberLexed(h, sql, &sc)
		}
	}

	info := c.lookup(domainNormal, sc.key)
	exact := info != nil && info.valueSensitive
	if info == nil || exact {
		bufs.exact = append(append(bufs.exact[:0], domainExact), sc.text...)
		info = c.lookup(domainExact, bufs.exact)
	}
	if info == nil {
		c.misses.Add(1)
		info = c.miss(sql, &sc, bufs, exact)
	} else {
		c.hits.Add(1)
	}
	res := Result{Info: info, Text: sc.text, Hint: sc.hint}
	if info.keyed && len(sc.lits) > 0 {
		if cap(lits) < len(sc.lits) {
			lits = make([]Literal, 0, len(sc.lits))
		}
		res.Literals = lits[:len(sc.lits)]
		for i, l := range sc.lits {
			res.Literals[i] = Literal{Kind: l.kind, Text: sql[l.start:l.end]}
		}
	}
	if cap(bufs.key) <= maxPooledBuffer && cap(bufs.text) <= maxPooledBuffer && cap(bufs.exact) <= maxPooledBuffer &&
		cap(bufs.lits)*int(unsafe.Sizeof(litSpan{})) <= maxPooledBuffer {
		c.buffers.Put(bufs)
	}
	return res
}

// rememberLexed memoises sc, the lexer's output for sql (whose hash is h),
// when sql was seen before; otherwise it only notes the sighting.
func (c *Classifier) rememberLexed(h uint64, sql string, sc *scan) {
	slot := &c.seen[h%seenSlots]
	if slot.Load() != h {
		slot.Store(h)
		return
	}
	e := &lexedText{
		sql:  strings.Clone(sql),
		key:  bytes.Clone(sc.key),
		text: strings.Clone(sc.text),
		hint: sc.hint,
		lits: slices.Clone(sc.lits),
	}
	e.hint.Malformed = strings.Clone(e.hint.Malformed)
	e.size = int64(len(e.sql)+len(e.key)+len(e.text)+len(e.hint.Malformed)) +
		int64(len(e.lits))*int64(unsafe.Sizeof(litSpan{})) + entryOverhead
	if _, present, _ := c.lexed.PeekOrAdd(h, e); present {
		return
	}
	c.lexedBytes.Add(e.size)
	for c.lexedBytes.Load() > maxLexedBytes {
		if _, _, ok := c.lexed.RemoveOldest(); !ok {
			break
		}
	}
}

// lookup returns the memoised Info for key in domain, or nil.
func (c *Classifier) lookup(domain byte, key []byte) *Info {
	e, ok := c.cache.Get(c.hash(domain, key))
	if !ok || e.key != string(key) {
		return nil
	}
	return e.info
}

func (c *Classifier) hash(domain byte, key []byte) uint64 {
	// The exact domain's keys carry their domain byte already; mixing
	// the domain into the hash keeps the two spaces apart even so.
	return maphash.Bytes(c.seed, key) ^ uint64(domain)*0x9e3779b97f4a7c15
}

// miss parses sql, memoises the result and returns it. bufs.exact holds the
// exact-domain key; exact reports that the normalised key is known to be
// value-sensitive, so the result belongs under the exact key whatever it
// is.
func (c *Classifier) miss(sql string, sc *scan, bufs *lexBuffers, exact bool) *Info {
	var full scan
	lex(sql, &full, true, nil)
	info := parse(sql, &full)
	info.describe(sql)
	c.store(domainNormal, sc.key, info)
	if info.valueSensitive || exact {
		c.store(domainExact, bufs.exact, info)
	}
	return info
}

// store memoises info under key, unless an entry is there already or the
// entry is too large.
func (c *Classifier) store(domain byte, key []byte, info *Info) {
	size := int64(len(key) + info.size + entryOverhead)
	if size > c.maxEntry {
		return
	}
	e := &entry{key: string(key), info: info, size: size}
	if _, present, _ := c.cache.PeekOrAdd(c.hash(domain, key), e); present {
		return
	}
	c.bytes.Add(size)
	for c.bytes.Load() > c.maxBytes {
		if _, _, ok := c.cache.RemoveOldest(); !ok {
			break
		}
	}
}

// Stats are a Classifier's counters.
type Stats struct {
	// Hits and Misses count Classify calls answered from the memo and by
	// the parser.
	Hits, Misses uint64
	// Evictions counts entries removed to respect the bounds.
	Evictions uint64
	// Entries is the number of memoised classifications.
	Entries int
	// Bytes approximates the memory they retain.
	Bytes int64
	// TextEntries and TextBytes are the size of the memo of lexer output
	// by exact statement text, which spares a statement sent again
	// verbatim its lexing.
	TextEntries int
	TextBytes   int64
}

// Stats returns the current counters.
func (c *Classifier) Stats() Stats {
	return Stats{
		Hits:        c.hits.Load(),
		Misses:      c.misses.Load(),
		Evictions:   c.evictions.Load(),
		Entries:     c.cache.Len(),
		Bytes:       c.bytes.Load(),
		TextEntries: c.lexed.Len(),
		TextBytes:   c.lexedBytes.Load(),
	}
}
