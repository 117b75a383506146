package proxy

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// Severities pgwarp uses in its own ErrorResponses.
const (
	SeverityError = "ERROR"
	SeverityFatal = "FATAL"
)

// SQLSTATE codes pgwarp sends itself. Only standard codes are used
// (https://www.postgresql.org/docs/current/errcodes-appendix.html).
const (
	CodeProtocolViolation       = "08P01"
	CodeConnectionFailure       = "08006"
	CodeInvalidAuthSpec         = "28000"
	CodeInvalidPassword         = "28P01"
	CodeInvalidCatalogName      = "3D000"
	CodeTooManyConnections      = "53300"
	CodeAdminShutdown           = "57P01"
	CodeCannotConnectNow        = "57P03"
	CodeQueryCanceled           = "57014"
	CodeProgramLimitExceeded    = "54000"
	CodeFeatureNotSupported     = "0A000"
	CodeInsufficientPrivilege   = "42501"
	CodeSystemError             = "58000"
	CodeTransactionTimeout      = "25P04"
	CodeInFailedTransaction     = "25P02"
	CodeInvalidParameterValue   = "22023"
	CodeDuplicatePreparedStmt   = "42P05"
	CodeUndefinedPreparedStmt   = "26000"
	CodeInvalidCursorName       = "34000"
	CodeSyntaxError             = "42601"
	CodeObjectNotInPrereqState  = "55000"
	CodeConfigurationLimitExcdd = "53400"
	CodeInternalError           = "XX000"
)

// Error is an error that pgwarp reports to a client as an ErrorResponse.
// Every Error has a severity, a SQLSTATE and a message; Detail and Hint are
// optional. An ERROR leaves the session usable (it is followed by
// ReadyForQuery); a FATAL ends it.
type Error struct {
	Severity string
	Code     string
	Message  string
	Detail   string
	Hint     string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (SQLSTATE %s)", e.Severity, e.Message, e.Code)
}

// Fatal reports whether the error ends the session.
func (e *Error) Fatal() bool { return e.Severity != SeverityError }

func newError(code, format string, args ...any) *Error {
	return &Error{Severity: SeverityError, Code: code, Message: fmt.Sprintf(format, args...)}
}

func newFatal(code, format string, args ...any) *Error {
	return &Error{Severity: SeverityFatal, Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) withHint(h string) *Error   { e.Hint = h; return e }
func (e *Error) withDetail(d string) *Error { e.Detail = d; return e }

// fromPgError converts an error reported by an upstream server into an
// Error for the client, keeping its code and texts.
func fromPgError(pe *pgconn.PgError, severity string) *Error {
	return &Error{Severity: severity, Code: pe.Code, Message: pe.Message, Detail: pe.Detail, Hint: pe.Hint}
}

// asError returns err as an *Error if it is one (or wraps one).
func asError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// appendErrorResponse encodes e as an ErrorResponse message.
func appendErrorResponse(dst []byte, e *Error) []byte {
	dst, at := beginMsg(dst, msgErrorResponse)
	dst = append(dst, 'S')
	dst = appendCString(dst, e.Severity)
	dst = append(dst, 'V')
	dst = appendCString(dst, e.Severity)
	dst = append(dst, 'C')
	dst = appendCString(dst, e.Code)
	dst = append(dst, 'M')
	dst = appendCString(dst, e.Message)
	if e.Detail != "" {
		dst = append(dst, 'D')
		dst = appendCString(dst, e.Detail)
	}
	if e.Hint != "" {
		dst = append(dst, 'H')
		dst = appendCString(dst, e.Hint)
	}
	dst = append(dst, 0)
	return finishMsg(dst, at)
}

// parseErrorFields decodes the fields of an ErrorResponse or NoticeResponse
// body that pgwarp needs: severity (non-localized when present), code and
// message.
func parseErrorFields(body []byte) (severity, code, message string) {
	for len(body) > 0 && body[0] != 0 {
		f := body[0]
		v, rest, ok := readCString(body[1:])
		if !ok {
			return
		}
		switch f {
		case 'S':
			if severity == "" {
				severity = v
			}
		case 'V':
			severity = v
		case 'C':
			code = v
		case 'M':
			message = v
		}
		body = rest
	}
	return
}
