package telemetry

import (
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Span names of the spans pgwarp creates besides the per-query span, whose
// name is its db.query.summary.
const (
	SpanSession      = "pgwarp.session"
	SpanPoolAcquire  = "pgwarp.pool.acquire"
	SpanUpstream     = "pgwarp.upstream"
	spanQueryUnknown = "postgresql"
)

// EventPolicy is the name of the span event that records a policy verdict.
const EventPolicy = "pgwarp.policy"

// pgwarp's own attribute keys. The database ones follow the OpenTelemetry
// semantic conventions (semconv v1.43.0); see docs/observability.md for the
// full list.
const (
	AttrCacheStatus     = attribute.Key("pgwarp.cache.status")
	AttrCacheReason     = attribute.Key("pgwarp.cache.reason")
	AttrPoolWait        = attribute.Key("pgwarp.pool.wait")
	AttrPinned          = attribute.Key("pgwarp.pinned")
	AttrRows            = attribute.Key("pgwarp.rows")
	AttrBytes           = attribute.Key("pgwarp.bytes")
	AttrSessionID       = attribute.Key("pgwarp.session.id")
	AttrUser            = attribute.Key("pgwarp.user")
	AttrApplicationName = attribute.Key("pgwarp.application_name")
	AttrPolicyLimit     = attribute.Key("pgwarp.policy.limit")
	AttrPolicyMode      = attribute.Key("pgwarp.policy.mode")
	AttrPolicyAction    = attribute.Key("pgwarp.policy.action")
	AttrPolicyObserved  = attribute.Key("pgwarp.policy.observed")
	AttrPolicyMax       = attribute.Key("pgwarp.policy.max")
)

var (
	attrDBSystemPostgres = semconv.DBSystemNamePostgreSQL
	keyDBNamespace       = semconv.DBNamespaceKey
	keyDBOperationName   = semconv.DBOperationNameKey
	keyDBCollectionName  = semconv.DBCollectionNameKey
	keyDBQuerySummary    = semconv.DBQuerySummaryKey
	keyDBQueryText       = semconv.DBQueryTextKey
	keyDBResponseStatus  = semconv.DBResponseStatusCodeKey
	keyErrorType         = semconv.ErrorTypeKey
	keyServerAddress     = semconv.ServerAddressKey
	keyServerPort        = semconv.ServerPortKey
	keyClientAddress     = semconv.ClientAddressKey
	keyClientPort        = semconv.ClientPortKey
	keyTLSEstablished    = semconv.TLSEstablishedKey
	keyTLSVersion        = semconv.TLSProtocolVersionKey
)
