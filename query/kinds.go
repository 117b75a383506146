package query

import "strconv"

// Kind is a statement's kind.
type Kind uint8

// Statement kinds. KindDDL covers every CREATE, ALTER, DROP, GRANT, REVOKE,
// COMMENT and similar definition statement; KindUtility is whatever has no
// kind of its own.
const (
	KindUnknown Kind = iota
	KindSelect
	KindInsert
	KindUpdate
	KindDelete
	KindMerge
	KindCopyFrom
	KindCopyTo
	KindExplain
	KindDDL
	KindTruncate
	KindTransaction
	KindSet
	KindReset
	KindShow
	KindCall
	KindDo
	KindLock
	KindListen
	KindUnlisten
	KindNotify
	KindPrepare
	KindExecute
	KindDeallocate
	KindDeclareCursor
	KindFetch
	KindClose
	KindDiscard
	KindLoad
	KindRefreshMatView
	KindMaintenance
	KindUtility
)

var kindNames = [...]string{
	KindUnknown:        "unknown",
	KindSelect:         "select",
	KindInsert:         "insert",
	KindUpdate:         "update",
	KindDelete:         "delete",
	KindMerge:          "merge",
	KindCopyFrom:       "copy from",
	KindCopyTo:         "copy to",
	KindExplain:        "explain",
	KindDDL:            "ddl",
	KindTruncate:       "truncate",
	KindTransaction:    "transaction",
	KindSet:            "set",
	KindReset:          "reset",
	KindShow:           "show",
	KindCall:           "call",
	KindDo:             "do",
	KindLock:           "lock",
	KindListen:         "listen",
	KindUnlisten:       "unlisten",
	KindNotify:         "notify",
	KindPrepare:        "prepare",
	KindExecute:        "execute",
	KindDeallocate:     "deallocate",
	KindDeclareCursor:  "declare cursor",
	KindFetch:          "fetch",
	KindClose:          "close",
	KindDiscard:        "discard",
	KindLoad:           "load",
	KindRefreshMatView: "refresh materialized view",
	KindMaintenance:    "maintenance",
	KindUtility:        "utility",
}

// String returns the kind in lower case, such as "select" or "copy from".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Volatility is a function's volatility class, as pg_proc.provolatile
// records it. The classes are ordered: a larger value is more volatile.
type Volatility uint8

// Volatility classes. VolatilityUnknown means "not known here"; a [Catalog]
// treats a function it does not know as VolatilityVolatile.
const (
	VolatilityUnknown Volatility = iota
	VolatilityImmutable
	VolatilityStable
	VolatilityVolatile
)

// String returns "immutable", "stable", "volatile" or "unknown".
func (v Volatility) String() string {
	switch v {
	case VolatilityUnknown:
		return "unknown"
	case VolatilityImmutable:
		return "immutable"
	case VolatilityStable:
		return "stable"
	case VolatilityVolatile:
		return "volatile"
	}
	return "Volatility(" + strconv.Itoa(int(v)) + ")"
}

// LockStrength is a row-locking clause's strength, weakest first.
type LockStrength uint8

// Row-locking clauses.
const (
	LockNone LockStrength = iota
	LockForKeyShare
	LockForShare
	LockForNoKeyUpdate
	LockForUpdate
)

// String returns the clause in SQL, such as "FOR NO KEY UPDATE", or "none".
func (l LockStrength) String() string {
	switch l {
	case LockNone:
		return "none"
	case LockForKeyShare:
		return "FOR KEY SHARE"
	case LockForShare:
		return "FOR SHARE"
	case LockForNoKeyUpdate:
		return "FOR NO KEY UPDATE"
	case LockForUpdate:
		return "FOR UPDATE"
	}
	return "LockStrength(" + strconv.Itoa(int(l)) + ")"
}

// TxKind is a transaction-control command.
type TxKind uint8

// Transaction-control commands. BEGIN and START TRANSACTION are TxBegin,
// END is TxCommit and ABORT is TxRollback.
const (
	TxNone TxKind = iota
	TxBegin
	TxCommit
	TxRollback
	TxSavepoint
	TxRelease
	TxRollbackTo
	TxPrepare
	TxCommitPrepared
	TxRollbackPrepared
)

// String returns the command in SQL, such as "ROLLBACK TO", or "none".
func (k TxKind) String() string {
	switch k {
	case TxNone:
		return "none"
	case TxBegin:
		return "BEGIN"
	case TxCommit:
		return "COMMIT"
	case TxRollback:
		return "ROLLBACK"
	case TxSavepoint:
		return "SAVEPOINT"
	case TxRelease:
		return "RELEASE"
	case TxRollbackTo:
		return "ROLLBACK TO"
	case TxPrepare:
		return "PREPARE TRANSACTION"
	case TxCommitPrepared:
		return "COMMIT PREPARED"
	case TxRollbackPrepared:
		return "ROLLBACK PREPARED"
	}
	return "TxKind(" + strconv.Itoa(int(k)) + ")"
}

// TxAccess is the access mode a BEGIN asks for.
type TxAccess uint8

// Access modes.
const (
	TxAccessDefault TxAccess = iota
	TxAccessReadOnly
	TxAccessReadWrite
)

// String returns "default", "READ ONLY" or "READ WRITE".
func (a TxAccess) String() string {
	switch a {
	case TxAccessDefault:
		return "default"
	case TxAccessReadOnly:
		return "READ ONLY"
	case TxAccessReadWrite:
		return "READ WRITE"
	}
	return "TxAccess(" + strconv.Itoa(int(a)) + ")"
}

// EffectKind is a kind of session-state change.
type EffectKind uint8

// Session-state changes. The pooler replays the EffectSet/EffectReset
// family on whichever backend serves the client next, and pins the session
// to its backend for the others until they are undone.
const (
	// EffectUnknown is a change pgwarp cannot describe: set_config with a
	// non-literal argument, SET … FROM CURRENT, a SET whose value is not a
	// plain literal. Name is the setting when known.
	EffectUnknown EffectKind = iota
	// EffectSet is SET name = value, SET LOCAL, a literal set_config, and
	// SET SESSION CHARACTERISTICS (reported as the default_transaction_*
	// settings it changes) and SET TRANSACTION (the transaction_* settings,
	// Local).
	EffectSet
	// EffectReset is RESET name and SET name TO DEFAULT.
	EffectReset
	// EffectResetAll is RESET ALL. It does not reset the role or the session
	// authorization.
	EffectResetAll
	// EffectSetRole is SET ROLE name; Value is the role.
	EffectSetRole
	// EffectResetRole is RESET ROLE, SET ROLE NONE and SET ROLE DEFAULT.
	EffectResetRole
	// EffectSetSessionAuthorization is SET SESSION AUTHORIZATION name.
	EffectSetSessionAuthorization
	// EffectResetSessionAuthorization is RESET SESSION AUTHORIZATION and SET
	// SESSION AUTHORIZATION DEFAULT.
	EffectResetSessionAuthorization
	// EffectDiscardAll is DISCARD ALL.
	EffectDiscardAll
	// EffectDiscardPlans is DISCARD PLANS.
	EffectDiscardPlans
	// EffectDiscardSequences is DISCARD SEQUENCES.
	EffectDiscardSequences
	// EffectDiscardTemp is DISCARD TEMP.
	EffectDiscardTemp
	// EffectListen is LISTEN channel.
	EffectListen
	// EffectUnlisten is UNLISTEN channel.
	EffectUnlisten
	// EffectUnlistenAll is UNLISTEN *.
	EffectUnlistenAll
	// EffectAdvisoryLock is a call of a session-level advisory lock function
	// (pg_advisory_lock, pg_advisory_lock_shared, pg_try_advisory_lock,
	// pg_try_advisory_lock_shared); Name is the function. A try variant may
	// not have acquired the lock.
	EffectAdvisoryLock
	// EffectAdvisoryUnlock is pg_advisory_unlock or
	// pg_advisory_unlock_shared; Name is the function.
	EffectAdvisoryUnlock
	// EffectAdvisoryUnlockAll is pg_advisory_unlock_all().
	EffectAdvisoryUnlockAll
	// EffectCreateTemp is the creation of a temporary table, view or
	// sequence (CREATE TEMP …, SELECT … INTO TEMP, CREATE TABLE pg_temp.x);
	// Name is the relation.
	EffectCreateTemp
	// EffectDeclareHold is DECLARE name … WITH HOLD, a cursor that outlives
	// its transaction.
	EffectDeclareHold
	// EffectClose is CLOSE name.
	EffectClose
	// EffectCloseAll is CLOSE ALL.
	EffectCloseAll
	// EffectPrepare is SQL-level PREPARE name.
	EffectPrepare
	// EffectExecute is EXECUTE name.
	EffectExecute
	// EffectDeallocate is DEALLOCATE name.
	EffectDeallocate
	// EffectDeallocateAll is DEALLOCATE ALL.
	EffectDeallocateAll
	// EffectLoad is LOAD 'library'; Value is the file name.
	EffectLoad
)

var effectNames = [...]string{
	EffectUnknown:                   "unknown",
	EffectSet:                       "set",
	EffectReset:                     "reset",
	EffectResetAll:                  "reset all",
	EffectSetRole:                   "set role",
	EffectResetRole:                 "reset role",
	EffectSetSessionAuthorization:   "set session authorization",
	EffectResetSessionAuthorization: "reset session authorization",
	EffectDiscardAll:                "discard all",
	EffectDiscardPlans:              "discard plans",
	EffectDiscardSequences:          "discard sequences",
	EffectDiscardTemp:               "discard temp",
	EffectListen:                    "listen",
	EffectUnlisten:                  "unlisten",
	EffectUnlistenAll:               "unlisten all",
	EffectAdvisoryLock:              "advisory lock",
	EffectAdvisoryUnlock:            "advisory unlock",
	EffectAdvisoryUnlockAll:         "advisory unlock all",
	EffectCreateTemp:                "create temp",
	EffectDeclareHold:               "declare with hold",
	EffectClose:                     "close",
	EffectCloseAll:                  "close all",
	EffectPrepare:                   "prepare",
	EffectExecute:                   "execute",
	EffectDeallocate:                "deallocate",
	EffectDeallocateAll:             "deallocate all",
	EffectLoad:                      "load",
}

// String returns the effect in lower case, such as "advisory lock".
func (k EffectKind) String() string {
	if int(k) < len(effectNames) {
		return effectNames[k]
	}
	return "EffectKind(" + strconv.Itoa(int(k)) + ")"
}

// Pins reports whether the effect ties the session to its backend: a
// listening channel, an advisory lock, a temporary relation, a holdable
// cursor, a role or session authorization, a loaded library, or a change
// pgwarp cannot describe. SET-family effects and prepared statements can be
// replayed instead, and the DISCARD, UNLISTEN, unlock, CLOSE and DEALLOCATE
// effects undo state rather than create it.
func (k EffectKind) Pins() bool {
	switch k {
	case EffectUnknown, EffectListen, EffectAdvisoryLock, EffectCreateTemp,
		EffectDeclareHold, EffectSetRole, EffectSetSessionAuthorization, EffectLoad:
		return true
	}
	return false
}
