// Package config reads sluice's TOML configuration file into typed structs,
// fills in defaults and validates the result.
//
// Decoding is strict: an unknown key, a value of the wrong type, a value out
// of range or an inconsistency between sections is an error, never a silent
// no-op. Every error names the file, the 1-based line and the key as the user
// wrote it (for example "sluice.toml:12: listeners[1].protocol: ..."), and all
// errors of a file are reported together as an [Errors] value.
//
// The TOML layer is github.com/pelletier/go-toml/v2: its decoder is the
// authority on what is valid TOML, and its unstable parser gives the byte
// position of every key and value, which is how errors get their line. The
// document is turned into a small positioned tree (tree.go), the tree into a
// [Config] (decode.go), then defaults are applied (defaults.go) and the whole
// configuration is checked (validate.go).
//
// Keys whose zero value is itself a meaningful setting (h2c = false,
// backend_tls_verify = false, connect_retries = 0, retry_buffer_bytes = 0,
// weight = 0, h2_graceful_shutdown_deadline_seconds = 0) cannot be defaulted
// by looking at a zero field: [Parse] knows whether the key was written,
// code that builds a Config by hand starts from [NewListener], [NewCluster]
// and [NewBackend], which set those defaults, and then calls [ApplyDefaults]
// for the rest.
//
// The user-facing reference of every key is docs/configuration.md.
package config
