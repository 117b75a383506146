// Package jaegertest starts a real Jaeger for end-to-end tests and reads
// traces back through its HTTP query API.
//
// [Start] runs the binary that scripts/jaeger.sh builds (Jaeger v1.76.0's
// cmd/jaeger, the OpenTelemetry Collector based "v2" server) on free
// loopback ports with in-memory storage, and stops it when the test ends.
// Tests that use it are named TestE2E… so that `make e2e` selects them; they
// skip unless PGWARP_E2E=1, and fail with the build instruction when
// PGWARP_E2E=1 but the binary is missing.
//
// It is for tests only: it depends on package testing and never builds or
// downloads Jaeger itself (that takes minutes, once, in scripts/jaeger.sh).
package jaegertest
