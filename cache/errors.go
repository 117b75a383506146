package cache

import (
	"errors"
	"fmt"
)

// ErrLeaderFailed is returned by [Flight.Wait] when the leader of a coalesced
// fill aborted or its result exceeded the byte limits. The follower must run
// the statement itself, uncached.
var ErrLeaderFailed = errors.New("cache: the coalesced fill produced no result; run the statement uncached")

// ErrOversized is reported by [Fill.Complete] when the result exceeded
// [Config.MaxEntryBytes] (or no longer fits the limits after a reload). The
// bytes past the limit were never copied.
var ErrOversized = errors.New("cache: result exceeds max_entry_bytes")

// ErrFillBudget is reported by [Fill.Complete] when the buffers of all fills in
// progress would have exceeded [Config.MaxBytes] together; the result was not
// copied further and is not stored.
var ErrFillBudget = errors.New("cache: too many result bytes are being copied by concurrent fills")

// ErrSuperseded is reported by [Fill.Complete] when a table the result depends
// on was invalidated (or the cache purged) while the result was being
// fetched. The result is not stored because it may predate that write.
var ErrSuperseded = errors.New("cache: a table of this result was invalidated while it was fetched")

// ErrFillFinished is returned when [Fill.Complete] is called on a fill that
// was already completed or aborted; it is a bug in the caller.
var ErrFillFinished = errors.New("cache: fill already completed or aborted")

// ErrKeyIncomplete is returned by [KeyBuilder.Key] when the builder was not
// started with [KeyBuilder.Reset] or was not given exactly one statement; it
// is a bug in the caller, and the statement must not be cached.
var ErrKeyIncomplete = errors.New("cache: key needs Reset and exactly one Statement")

// ErrBadInvalidation wraps every error of [Invalidation.UnmarshalText]: the
// message is malformed and must be ignored (and logged).
var ErrBadInvalidation = errors.New("cache: malformed invalidation message")

// ConfigError describes one invalid field of a [Config]. [Config.Validate]
// joins one ConfigError per problem with [errors.Join].
type ConfigError struct {
	// Field is the path of the field as written in pgwarp.yaml under
	// "cache", such as "rules[2].ttl".
	Field string
	// Problem says what is wrong and how to fix it.
	Problem string
}

// Error returns "cache.<field>: <problem>".
func (e *ConfigError) Error() string {
	return fmt.Sprintf("cache.%s: %s", e.Field, e.Problem)
}
