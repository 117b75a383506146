package cache

import (
	"context"
	"time"
)

// fillMinCap is the first buffer a fill allocates. Buffers double from
// there, so a small result wastes little and a large one is copied about
// log2(size/512) times while it streams in.
const fillMinCap = 512

// Flight is one run of a statement upstream on behalf of the cache, which
// identical lookups join instead of running it again. Followers get it from
// [Cache.Lookup] with [StatusFollow] and call [Flight.Wait]. A Flight is safe
// for concurrent use.
type Flight struct {
	key       Key
	database  string
	tables    []TableID // sorted, without duplicates
	ranges    []RowRange
	rule      *compiledRule
	fetchedAt time.Time
	done      chan struct{}
	entry     *Entry // written before done is closed; nil if the fill failed

	// Guarded by Cache.mu.
	registered bool // lookups may still join it
	superseded bool // a table it reads was invalidated after it started
}

// Wait blocks until the leader finishes or ctx is done, whichever is first.
// ctx should carry the statement's own timeout. Wait returns the leader's
// entry (even if it was not stored because a concurrent write superseded it:
// this request joined before that write was acknowledged), [ErrLeaderFailed]
// if the leader aborted or its result was too large, in which case the caller
// runs the statement itself uncached, or ctx's error.
func (f *Flight) Wait(ctx context.Context) (*Entry, error) {
	select {
	case <-f.done:
	default:
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.entry == nil {
		return nil, ErrLeaderFailed
	}
	return f.entry, nil
}

type fillState uint8

const (
	fillStateCopying    fillState = iota // accepting bytes
	fillStateOverflowed                  // stopped copying; followers released
	fillStateDone                        // completed or aborted
)

// fillRun is a stretch of a fill's buffer that belongs to one segment.
type fillRun struct {
	describe bool
	end      int
}

// Fill is the leader's handle for copying a result into the cache as it
// streams from the upstream to the client. Exactly one of [Fill.Complete] and
// [Fill.Abort] must be called; Abort after Complete does nothing, so
// `defer fill.Abort()` right after the lookup is the safe pattern.
//
// A Fill is owned by one goroutine, the leader's session (or the goroutine
// it hands a refresh to).
type Fill struct {
	c        *Cache
	flight   *Flight
	limit    int64 // max_entry_bytes when the fill started
	refresh  bool
	state    fillState
	err      error // why copying stopped, in fillStateOverflowed
	buf      []byte
	reserved int64 // cap(buf), taken from the fill budget
	runs     []fillRun
	runsBuf  [2]fillRun
}

// Refresh reports whether the fill refreshes a stale entry, as opposed to
// filling a miss.
func (f *Fill) Refresh() bool { return f.refresh }

// Append copies p, which must be one or more complete protocol messages of
// the result segment ([Entry.Result]), and reports whether the fill still
// accepts bytes. Once Append or [Fill.AppendDescribe] has returned false the
// fill has released its buffer, told its followers to run the statement
// themselves, and ignores further bytes; the caller keeps streaming to the
// client and finally calls Complete or Abort as usual. p is not retained.
func (f *Fill) Append(p []byte) bool { return f.append(p, false) }

// AppendDescribe copies p into the describe segment ([Entry.Describe]), in
// any order relative to Append; otherwise it behaves like [Fill.Append].
func (f *Fill) AppendDescribe(p []byte) bool { return f.append(p, true) }

// Oversized reports whether the result stopped being copied because it
// passed max_entry_bytes or the budget of all fills in progress.
func (f *Fill) Oversized() bool { return f.err != nil }

func (f *Fill) append(p []byte, describe bool) bool {
	if f.state != fillStateCopying {
		return false
	}
	if len(p) == 0 {
		return true
	}
	need := len(f.buf) + len(p)
	if int64(need) > f.limit {
		f.overflow(ErrOversized)
		return false
	}
	if need > cap(f.buf) {
		newCap := int(min(int64(max(2*cap(f.buf), need, fillMinCap)), f.limit))
		grow := int64(newCap - cap(f.buf))
		if !f.c.reserve(grow, f.c.rules.Load().maxBytes) {
			f.overflow(ErrFillBudget)
			return false
		}
		f.reserved += grow
		nb := make([]byte, len(f.buf), newCap)
		copy(nb, f.buf)
		f.buf = nb
	}
	f.buf = append(f.buf, p...)
	if f.runs == nil {
		f.runs = f.runsBuf[:0]
	}
	if n := len(f.runs); n > 0 && f.runs[n-1].describe == describe {
		f.runs[n-1].end = len(f.buf)
	} else {
		f.runs = append(f.runs, fillRun{describe: describe, end: len(f.buf)})
	}
	return true
}

// overflow stops copying: it frees the buffer and releases the followers at
// once, so they do not wait for a result that will never be stored.
func (f *Fill) overflow(err error) {
	f.state = fillStateOverflowed
	f.err = err
	f.releaseBuffer()
	switch err {
	case ErrOversized:
		f.c.stats.oversized.Add(1)
	case ErrFillBudget:
		f.c.stats.fillBudget.Add(1)
	}
	f.c.mu.Lock()
	f.c.finishLocked(f.flight, nil)
	f.c.mu.Unlock()
}

func (f *Fill) releaseBuffer() {
	f.buf = nil
	f.runs = nil
	f.c.filling.Add(-f.reserved)
	f.reserved = 0
}

// Complete stores the copied result, unless a table it reads was invalidated
// since the lookup ([ErrSuperseded]) or it was too large ([ErrOversized],
// [ErrFillBudget]), and hands it to the followers. It returns nil when the
// entry was stored, and [ErrFillFinished] if the fill was already finished.
// The leader's own response to its client is unaffected by the error.
func (f *Fill) Complete() error {
	switch f.state {
	case fillStateDone:
		return ErrFillFinished
	case fillStateOverflowed:
		f.state = fillStateDone
		return f.err
	}
	f.state = fillStateDone
	c, fl := f.c, f.flight
	e, err := f.entry(c.rules.Load().maxBytes)
	c.mu.Lock()
	rs := c.rules.Load()
	switch {
	case err != nil:
		e = nil
		c.stats.fillBudget.Add(1)
	case fl.superseded:
		err = ErrSuperseded
		c.stats.superseded.Add(1)
	case int64(len(e.result)+len(e.describe)) > rs.maxEntryBytes || e.size > rs.maxBytes:
		// Only after a reload lowered the limits.
		err = ErrOversized
		c.stats.oversized.Add(1)
	default:
		c.storeLocked(e, fl.rule.stats, rs.maxBytes)
	}
	c.finishLocked(fl, e)
	c.mu.Unlock()
	f.releaseBuffer()
	return err
}

// Abort gives up the fill: nothing is stored, the followers are told to run
// the statement themselves and, for a refresh, a later stale lookup gets the
// refresh instead. Abort after Complete or Abort does nothing.
func (f *Fill) Abort() {
	switch f.state {
	case fillStateDone:
		return
	case fillStateOverflowed:
		f.state = fillStateDone
		return
	}
	f.state = fillStateDone
	f.releaseBuffer()
	f.c.stats.aborted.Add(1)
	f.c.mu.Lock()
	f.c.finishLocked(f.flight, nil)
	f.c.mu.Unlock()
}

// entry builds the immutable entry from the buffer. When the two segments
// were interleaved, or the buffer's spare capacity would waste more than an
// eighth of it, the bytes are copied into an exactly sized buffer laid out
// describe first, then result. That copy is reserved from the fill budget
// like the buffer itself; if the budget is exhausted an interleaved result
// fails with [ErrFillBudget] and a merely roomy buffer is kept as it is.
func (f *Fill) entry(maxBytes int64) (*Entry, error) {
	fl := f.flight
	var resultLen, describeLen, resultRuns, describeRuns int
	start := 0
	for _, r := range f.runs {
		if r.describe {
			describeLen += r.end - start
			describeRuns++
		} else {
			resultLen += r.end - start
			resultRuns++
		}
		start = r.end
	}
	split := resultRuns > 1 || describeRuns > 1
	if split || cap(f.buf)-len(f.buf) > len(f.buf)/8 {
		switch {
		case f.c.reserve(int64(len(f.buf)), maxBytes):
			nb := make([]byte, 0, len(f.buf))
			nb = f.appendSegment(nb, true)
			nb = f.appendSegment(nb, false)
			f.c.filling.Add(-f.reserved)
			f.reserved = int64(cap(nb))
			f.buf = nb
			f.runs = append(f.runs[:0],
				fillRun{describe: true, end: describeLen},
				fillRun{describe: false, end: describeLen + resultLen})
		case split:
			return nil, ErrFillBudget
		}
	}
	e := &Entry{
		key:       fl.key,
		database:  fl.database,
		tables:    fl.tables,
		ranges:    fl.ranges,
		rule:      fl.rule.name,
		fetchedAt: fl.fetchedAt,
		size:      entrySize(cap(f.buf), fl.database, fl.tables) + int64(len(fl.ranges))*rangeOverhead,
	}
	start = 0
	for _, r := range f.runs {
		if seg := f.buf[start:r.end:r.end]; len(seg) > 0 {
			if r.describe {
				e.describe = seg
			} else {
				e.result = seg
			}
		}
		start = r.end
	}
	if e.result == nil {
		e.result = []byte{}
	}
	return e, nil
}

func (f *Fill) appendSegment(dst []byte, describe bool) []byte {
	start := 0
	for _, r := range f.runs {
		if r.describe == describe {
			dst = append(dst, f.buf[start:r.end]...)
		}
		start = r.end
	}
	return dst
}

// finishLocked ends a flight: it stops lookups from joining it and wakes its
// followers with e, or with nil to make them run the statement themselves.
func (c *Cache) finishLocked(fl *Flight, e *Entry) {
	c.unregisterLocked(fl)
	fl.entry = e
	close(fl.done)
	c.active.Add(-1)
}

// unregisterLocked removes a flight from the joinable fills and the table
// index.
func (c *Cache) unregisterLocked(fl *Flight) {
	if !fl.registered {
		return
	}
	fl.registered = false
	if c.fills[fl.key] == fl {
		delete(c.fills, fl.key)
	}
	for _, t := range fl.tables {
		ref := tableRef{fl.database, t}
		if idx := c.tables[ref]; idx != nil {
			delete(idx.fills, fl)
			c.pruneIndexLocked(ref, idx)
		}
	}
}
