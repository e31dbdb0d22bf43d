// Package hpackx wraps golang.org/x/net/http2/hpack (RFC 7541) with the
// limits and storage discipline sluice needs on an internet-facing
// connection.
//
// Decoder bounds what a peer can make us hold: the dynamic table size the
// peer may select is capped at what we advertised (RFC 7541 4.2, 6.3),
// and each header block is limited in field count and in header list size
// (name + value + 32 per field, RFC 9113 6.5.2). A block over a field or
// list limit is still decoded to its end, so the HPACK dynamic table stays
// in sync and the engine can refuse just that stream (RST_STREAM or 431)
// instead of the whole connection (DESIGN.md 3.2, 3.7 "HPACK bomb").
// Decoded names and values live in one reused slab per decoder.
//
// Encoder appends field encodings to caller-owned slices. It never indexes
// values that are unique per message (content-length, :path, etag, ...),
// and it hands x/net only strings that are safe for it to keep, so the
// steady state encodes without allocating.
//
// Both types are per connection and per direction, and, like the HPACK
// state they carry, owned by the connection's single owner goroutine: they
// are not safe for concurrent use.
package hpackx
