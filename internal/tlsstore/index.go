package tlsstore

import (
	"hash/maphash"
	"slices"
)

// nShards splits each map of the index so that a change copies the shards
// it touches (about n/256 entries each) and the 256-pointer shard table,
// not all n entries: loading 10,000 two-name certificates one Add at a
// time copies about a million map entries instead of 150 million.
const nShards = 256

// shardSeed is process-wide: every index must hash a key to the same
// shard, and the shards of successive indexes are shared.
var shardSeed = maphash.MakeSeed()

// cowMap is a copy-on-write string-keyed map split into shards. A
// published cowMap is never modified; a cowWriter derives a new one that
// shares every shard it does not touch.
type cowMap[V any] struct {
	shards *[nShards]map[string]V
}

// shardOf picks the shard of a key. maphash.String and maphash.Bytes
// hash equal bytes to equal values, so a key stored as a string is found
// by its bytes.
func shardOf(k string) int { return int(maphash.String(shardSeed, k) % nShards) }

func shardOfBytes(k []byte) int { return int(maphash.Bytes(shardSeed, k) % nShards) }

// get looks a key up.
func (m cowMap[V]) get(k string) (V, bool) {
	var zero V
	if m.shards == nil {
		return zero, false
	}
	v, ok := m.shards[shardOf(k)][k]
	return v, ok
}

// getBytes looks a key up by its bytes without allocating.
func (m cowMap[V]) getBytes(k []byte) (V, bool) {
	var zero V
	if m.shards == nil {
		return zero, false
	}
	v, ok := m.shards[shardOfBytes(k)][string(k)]
	return v, ok
}

// each calls fn for every entry, in no particular order.
func (m cowMap[V]) each(fn func(string, V)) {
	if m.shards == nil {
		return
	}
	for _, sh := range m.shards {
		for k, v := range sh {
			fn(k, v)
		}
	}
}

// cowWriter accumulates changes to a cowMap. Each shard is copied at most
// once per writer, so a batch of changes costs one copy per touched shard.
type cowWriter[V any] struct {
	shards *[nShards]map[string]V
	copied [nShards / 64]uint64 // bit i: shards[i] is private to this writer
	dirty  bool                 // shards itself is private to this writer
	base   cowMap[V]
}

func newCowWriter[V any](base cowMap[V]) *cowWriter[V] {
	return &cowWriter[V]{shards: base.shards, base: base}
}

// shard returns a private, modifiable copy of shard i.
func (w *cowWriter[V]) shard(i int) map[string]V {
	if !w.dirty {
		n := new([nShards]map[string]V)
		if w.shards != nil {
			*n = *w.shards
		}
		w.shards = n
		w.dirty = true
	}
	if w.copied[i/64]&(1<<(i%64)) == 0 {
		old := w.shards[i]
		n := make(map[string]V, len(old)+1)
		for k, v := range old {
			n[k] = v
		}
		w.shards[i] = n
		w.copied[i/64] |= 1 << (i % 64)
	}
	return w.shards[i]
}

func (w *cowWriter[V]) get(k string) (V, bool) {
	return cowMap[V]{w.shards}.get(k)
}

func (w *cowWriter[V]) set(k string, v V) {
	w.shard(shardOf(k))[k] = v
}

func (w *cowWriter[V]) del(k string) {
	if _, ok := w.get(k); !ok {
		return
	}
	i := shardOf(k)
	sh := w.shard(i)
	delete(sh, k)
	if len(sh) == 0 {
		// Drop the empty map; the next write makes a fresh one.
		w.shards[i] = nil
		w.copied[i/64] &^= 1 << (i % 64)
	}
}

// done returns the resulting map; the writer must not be used after.
func (w *cowWriter[V]) done() cowMap[V] {
	if !w.dirty {
		return w.base
	}
	return cowMap[V]{w.shards}
}

// index is one immutable generation of a Store's lookup tables.
type index struct {
	byID  cowMap[*Cert]
	exact cowMap[[]*Cert] // DNS name -> certificates naming it exactly
	wild  cowMap[[]*Cert] // "x.y" -> certificates naming "*.x.y"
	ips   cowMap[[]*Cert] // 16-byte IP -> certificates with that SAN IP
	def   *Cert           // default certificate, nil when none
	count int
}

// indexWriter derives the next index generation from the current one.
type indexWriter struct {
	byID  *cowWriter[*Cert]
	exact *cowWriter[[]*Cert]
	wild  *cowWriter[[]*Cert]
	ips   *cowWriter[[]*Cert]
	def   *Cert
	count int
}

func newIndexWriter(ix *index) *indexWriter {
	return &indexWriter{
		byID:  newCowWriter(ix.byID),
		exact: newCowWriter(ix.exact),
		wild:  newCowWriter(ix.wild),
		ips:   newCowWriter(ix.ips),
		def:   ix.def,
		count: ix.count,
	}
}

func (w *indexWriter) done() *index {
	return &index{
		byID:  w.byID.done(),
		exact: w.exact.done(),
		wild:  w.wild.done(),
		ips:   w.ips.done(),
		def:   w.def,
		count: w.count,
	}
}

// ipKey is the index key of an IP: its 16-byte form, so that an IPv4
// address and its IPv4-mapped IPv6 form are one key.
func ipKey(a [16]byte) string { return string(a[:]) }

func (w *indexWriter) add(c *Cert) {
	w.byID.set(c.ID, c)
	w.count++
	for _, n := range c.Names {
		if parent, ok := wildcardParent(n); ok {
			insertCandidate(w.wild, parent, c)
		} else {
			insertCandidate(w.exact, n, c)
		}
	}
	for _, ip := range c.IPs {
		insertCandidate(w.ips, ipKey(ip.As16()), c)
	}
}

func (w *indexWriter) remove(c *Cert) {
	w.byID.del(c.ID)
	w.count--
	for _, n := range c.Names {
		if parent, ok := wildcardParent(n); ok {
			removeCandidate(w.wild, parent, c)
		} else {
			removeCandidate(w.exact, n, c)
		}
	}
	for _, ip := range c.IPs {
		removeCandidate(w.ips, ipKey(ip.As16()), c)
	}
	if w.def == c {
		w.def = nil
	}
}

// preferred orders candidates for one name: newest first, where newest
// is the latest NotBefore and, on a tie, the latest added.
func preferred(a, b *Cert) int {
	if c := b.NotBefore.Compare(a.NotBefore); c != 0 {
		return c
	}
	switch {
	case a.seq > b.seq:
		return -1
	case a.seq < b.seq:
		return 1
	}
	return 0
}

// insertCandidate adds c to the candidates of key, keeping them in
// preference order. Candidate slices are immutable once published, so a
// new slice is built.
func insertCandidate(w *cowWriter[[]*Cert], key string, c *Cert) {
	old, _ := w.get(key)
	if slices.Contains(old, c) {
		return // a certificate naming the same host twice
	}
	n := make([]*Cert, 0, len(old)+1)
	n = append(n, old...)
	n = append(n, c)
	slices.SortStableFunc(n, preferred)
	w.set(key, n)
}

func removeCandidate(w *cowWriter[[]*Cert], key string, c *Cert) {
	old, _ := w.get(key)
	i := slices.Index(old, c)
	if i < 0 {
		return
	}
	if len(old) == 1 {
		w.del(key)
		return
	}
	n := make([]*Cert, 0, len(old)-1)
	n = append(n, old[:i]...)
	n = append(n, old[i+1:]...)
	w.set(key, n)
}
