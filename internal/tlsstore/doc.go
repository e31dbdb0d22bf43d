// Package tlsstore is the TLS half of an https listener: a certificate
// store selected by SNI, the listener's tls.Config (versions, TLS 1.2
// cipher suites, ALPN, session tickets with rotating keys), the identity a
// connection keeps after its handshake, and the HTTP/2 connection
// coalescing check that identity answers for every request.
//
// Ownership and concurrency: a Store has many readers (every handshake) and
// few writers (config load, the admin API). Readers never lock: they load
// one immutable index through an atomic pointer. Writers serialise on a
// mutex and publish a new index that shares everything it did not change
// (copy-on-write by shard), so one Add among 10,000 certificates copies a
// few small maps, not all of them.
//
// A Cert, a NameSet and an Identity are immutable once built; they are
// shared by pointer across connections and streams without copying.
package tlsstore
