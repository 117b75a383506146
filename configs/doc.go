// Package configs loads pgwarp.yaml: it decodes the YAML node by node,
// rejects unknown keys and invalid values with the file, line and dotted key
// path, applies the defaults (set in one place, [Default]) and validates the
// relations between settings.
//
// The package also holds the documented reference configuration,
// pgwarp.yaml, and the configuration `pgwarp dev` uses, dev.yaml.
//
// It is not for business logic: it produces a [Config] that the command
// wiring turns into each package's own configuration (pool, cache, policy,
// telemetry).
package configs
