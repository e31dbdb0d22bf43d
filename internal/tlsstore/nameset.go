package tlsstore

import "strings"

// maxHostLen is the longest DNS name in text form: 255 octets on the wire
// (RFC 1035 2.3.4) are at most 253 characters without the trailing dot.
const maxHostLen = 253

// linearMax is the set size up to which a linear scan beats a map lookup;
// most certificates carry one to four names, so most sets stay maps-free
// (and small: 10,000 loaded certificates each keep one NameSet).
const linearMax = 8

// NameSet is a frozen set of DNS names (exact names and "*." wildcards)
// answering "is this host covered" with the RFC 6125 6.4.3 rules. It is
// immutable and safe for concurrent use; one set is shared by every
// connection served with the same certificate.
type NameSet struct {
	names []string // normalized, certificate order, as reported by Names
	exact []string // names without a wildcard
	wild  []string // "x.y" for every "*.x.y"
	// exactMap and wildMap replace the slices for large sets (a SAN list
	// can hold hundreds of names).
	exactMap map[string]struct{}
	wildMap  map[string]struct{}
}

// NewNameSet builds a set from DNS names as found in certificates; each is
// lowercased and loses a trailing dot. A name with a wildcard anywhere but
// as the whole left-most label ("f*.example.com", "a.*.example.com") is
// kept in Names but never matches (RFC 6125 6.4.3 lets a client refuse
// partial wildcards; browsers do, so we do).
func NewNameSet(names ...string) *NameSet {
	norm := make([]string, 0, len(names))
	for _, n := range names {
		if n = normalizeName(n); n != "" {
			norm = append(norm, n)
		}
	}
	return newNameSet(norm)
}

// newNameSet builds a set from names already normalized.
func newNameSet(names []string) *NameSet {
	s := &NameSet{names: names}
	for _, n := range names {
		if parent, ok := wildcardParent(n); ok {
			s.wild = append(s.wild, parent)
		} else if !strings.Contains(n, "*") {
			s.exact = append(s.exact, n)
		}
	}
	if len(s.exact) > linearMax {
		s.exactMap = make(map[string]struct{}, len(s.exact))
		for _, n := range s.exact {
			s.exactMap[n] = struct{}{}
		}
		s.exact = nil
	}
	if len(s.wild) > linearMax {
		s.wildMap = make(map[string]struct{}, len(s.wild))
		for _, n := range s.wild {
			s.wildMap[n] = struct{}{}
		}
		s.wild = nil
	}
	return s
}

// wildcardParent returns "x.y" for the pattern "*.x.y". RFC 6125 6.4.3:
// the wildcard must be the complete left-most label; we also require the
// rest to be wildcard-free and to have at least one label.
func wildcardParent(pattern string) (string, bool) {
	if len(pattern) < 3 || pattern[0] != '*' || pattern[1] != '.' {
		return "", false
	}
	parent := pattern[2:]
	if strings.Contains(parent, "*") || parent[0] == '.' {
		return "", false
	}
	return parent, true
}

// Names returns the names of the set in certificate order. The slice is
// shared: do not modify it.
func (s *NameSet) Names() []string { return s.names }

// Len returns the number of names in the set.
func (s *NameSet) Len() int { return len(s.names) }

// String lists the names, for logs.
func (s *NameSet) String() string {
	if s == nil {
		return "<none>"
	}
	return "[" + strings.Join(s.names, " ") + "]"
}

// Covers reports whether host (lowercase, no trailing dot, no port) is one
// of the exact names or matches a wildcard of the set.
func (s *NameSet) Covers(host string) bool { return covers(s, host) }

// covers is Covers for both strings and byte slices, so the per-request
// check needs no conversion (and no allocation).
func covers[T string | []byte](s *NameSet, host T) bool {
	if len(host) == 0 {
		return false
	}
	if s.exactMap != nil {
		if _, ok := s.exactMap[string(host)]; ok {
			return true
		}
	} else {
		for _, n := range s.exact {
			if string(host) == n {
				return true
			}
		}
	}
	// RFC 6125 6.4.3: "*" matches exactly one whole label, so the host must
	// be "<label>.<parent>" with a non-empty label, and a wildcard never
	// matches the bare parent. An IP literal is not a DNS name and never
	// matches a wildcard (RFC 6125 1.7.2 puts IP identities out of scope).
	dot := -1
	for i := 0; i < len(host); i++ {
		if host[i] == '.' {
			dot = i
			break
		}
	}
	if dot <= 0 || numericLastLabel(host) {
		return false
	}
	parent := host[dot+1:]
	if s.wildMap != nil {
		_, ok := s.wildMap[string(parent)]
		return ok
	}
	for _, p := range s.wild {
		if string(parent) == p {
			return true
		}
	}
	return false
}

// numericLastLabel reports whether the last label is all digits, which no
// top-level domain is (RFC 3696 2) but every IPv4 literal's is.
func numericLastLabel[T string | []byte](host T) bool {
	i := len(host) - 1
	if i < 0 {
		return false
	}
	for ; i >= 0 && host[i] != '.'; i-- {
		if host[i] < '0' || host[i] > '9' {
			return false
		}
	}
	return true
}
