// Package h1 parses and serializes HTTP/1.1 messages (RFC 9112) for the
// proxy's hot path.
//
// The package does no I/O. Parsers read a byte slice the caller owns and
// return results that alias it (zero copy): a [RequestHead] is valid until
// the caller reuses the buffer it was parsed from. Serializers append to a
// caller slice and allocate nothing when it has room.
//
// Parsing is strict on purpose. A proxy that is more lenient than the
// server behind it, or frames a message differently, lets a client smuggle
// a second request past it (CL.TE, TE.CL, obs-fold and bare-LF
// desynchronisation). Every ambiguity RFC 9112 allows a recipient to
// "handle" is therefore an error here, and each error carries a stable
// snake_case reason (see [Error]) that the caller counts as a metric label.
//
// Head parsing runs in two passes: a fast scan for the empty line that ends
// the head (line feeds, eight bytes at a time), then one validating pass
// over the complete head. A client that dribbles its head one byte per
// packet thus costs a cheap scan per read, not a full re-validation, and the
// validating pass never has to tell "truncated" from "malformed".
package h1
