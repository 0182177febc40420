// Package config loads, decodes, completes and validates fulcrum's YAML
// configuration. It belongs to the control plane: nothing in the data plane
// reads YAML or calls into this package while serving traffic. The runtime
// package builds its immutable snapshot from the *Config that Load returns.
//
// Loading runs in three steps, each collecting every error it finds rather
// than stopping at the first:
//
//  1. decode: the YAML is parsed into a yaml.Node tree, which a small
//     hand-written walker (decode.go, sections.go) turns into the typed
//     structs of types.go. It rejects unknown and duplicate keys, checks the
//     type and range of every value, and records which keys were present so
//     that an explicit 0 can be told from an absent key.
//  2. applyDefaults (defaults.go): fills every value left unset, from the
//     defaults section or from fulcrum's built-in defaults (the constants in
//     defaults.go, listed in docs/configuration.md).
//  3. validate (validate.go): checks what needs more than one value at a
//     time: unique names, references between frontends and backends,
//     addresses, rules, TLS files.
//
// Every error is an *Error carrying the file, line, column and key path of
// the offending value, and Load and Parse return them all at once as Errors,
// sorted by position.
//
// The schema starts from the Noxy project's (global, defaults, frontend[],
// backend[]) and keeps its rules: integers in durations are milliseconds, and
// values in defaults apply to every frontend that does not set its own.
package config
