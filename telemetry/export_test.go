package telemetry

// Seams for the black-box tests in package telemetry_test.
var (
	ParseTraceparent = parseTraceparent
	IsLoopbackAddr   = isLoopbackAddr
)
