// Package router maps a request's host and path to a target (a cluster).
//
// Matching order, most specific first:
//  1. an exact hostname beats a "*.parent" wildcard (which covers exactly one
//     extra label);
//  2. within one hostname, path rules are tried as: equals, then regex (in
//     the order they were added), then the longest prefix.
//
// The request host is compared without its port and case-insensitively. A
// Table is immutable once built; the live state swaps whole tables, so a
// request sees either the old routing or the new, never a mix.
package router

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// PathType says how a rule's path is compared with the request path.
type PathType uint8

// Path rule kinds.
const (
	Prefix PathType = iota
	Equals
	Regex
)

func (p PathType) String() string {
	switch p {
	case Prefix:
		return "prefix"
	case Equals:
		return "equals"
	case Regex:
		return "regex"
	}
	return fmt.Sprintf("PathType(%d)", uint8(p))
}

// ParsePathType maps the config spelling to a PathType.
func ParsePathType(s string) (PathType, error) {
	switch s {
	case "", "prefix":
		return Prefix, nil
	case "equals":
		return Equals, nil
	case "regex":
		return Regex, nil
	}
	return 0, fmt.Errorf("unknown path type %q (want prefix, equals or regex)", s)
}

// Rule is one frontend: a hostname and a path that lead to a target.
type Rule[T any] struct {
	Hostname string // lowercase; "*.example.com" for a one-label wildcard
	Path     string
	PathType PathType
	Target   T
}

type pathRules[T any] struct {
	equals   map[string]T
	regexes  []regexRule[T]
	prefixes []prefixRule[T] // longest first
}

type regexRule[T any] struct {
	re     *regexp.Regexp
	target T
}

type prefixRule[T any] struct {
	prefix string
	target T
}

// Table is an immutable routing table for one listener.
type Table[T any] struct {
	exact    map[string]*pathRules[T]
	wildcard map[string]*pathRules[T] // keyed by the parent: "*.example.com" -> "example.com"
}

// Build compiles rules into a table. Duplicate (hostname, path, type) rules
// are an error.
func Build[T any](rules []Rule[T]) (*Table[T], error) {
	t := &Table[T]{exact: map[string]*pathRules[T]{}, wildcard: map[string]*pathRules[T]{}}
	seen := map[string]bool{}
	for _, r := range rules {
		host := strings.ToLower(strings.TrimSuffix(r.Hostname, "."))
		key := host + "\x00" + r.PathType.String() + "\x00" + r.Path
		if seen[key] {
			return nil, fmt.Errorf("duplicate frontend %s %s %q", host, r.PathType, r.Path)
		}
		seen[key] = true
		m := t.exact
		if parent, ok := strings.CutPrefix(host, "*."); ok {
			m, host = t.wildcard, parent
		} else if strings.Contains(host, "*") {
			return nil, fmt.Errorf("hostname %q: a wildcard must be the whole left-most label", r.Hostname)
		}
		pr := m[host]
		if pr == nil {
			pr = &pathRules[T]{equals: map[string]T{}}
			m[host] = pr
		}
		switch r.PathType {
		case Equals:
			pr.equals[r.Path] = r.Target
		case Regex:
			re, err := regexp.Compile(r.Path)
			if err != nil {
				return nil, fmt.Errorf("path regex %q: %v", r.Path, err)
			}
			pr.regexes = append(pr.regexes, regexRule[T]{re, r.Target})
		default:
			pr.prefixes = append(pr.prefixes, prefixRule[T]{r.Path, r.Target})
		}
	}
	for _, m := range []map[string]*pathRules[T]{t.exact, t.wildcard} {
		for _, pr := range m {
			sort.SliceStable(pr.prefixes, func(i, j int) bool { return len(pr.prefixes[i].prefix) > len(pr.prefixes[j].prefix) })
		}
	}
	return t, nil
}

// Match finds the target for a host (with or without a port, any case) and a
// path (without the query string). host may be modified in place (lowercased).
func (t *Table[T]) Match(host, path []byte) (T, bool) {
	var zero T
	if t == nil {
		return zero, false
	}
	h := normalizeHost(host)
	if pr := t.exact[string(h)]; pr != nil {
		if v, ok := pr.match(path); ok {
			return v, true
		}
	}
	if i := indexByte(h, '.'); i > 0 {
		if pr := t.wildcard[string(h[i+1:])]; pr != nil {
			if v, ok := pr.match(path); ok {
				return v, true
			}
		}
	}
	return zero, false
}

func (pr *pathRules[T]) match(path []byte) (T, bool) {
	if v, ok := pr.equals[string(path)]; ok {
		return v, true
	}
	for i := range pr.regexes {
		if pr.regexes[i].re.Match(path) {
			return pr.regexes[i].target, true
		}
	}
	for i := range pr.prefixes {
		p := pr.prefixes[i].prefix
		if len(path) >= len(p) && string(path[:len(p)]) == p {
			return pr.prefixes[i].target, true
		}
	}
	var zero T
	return zero, false
}

// normalizeHost strips the port and a trailing dot and lowercases in place.
func normalizeHost(h []byte) []byte {
	h = StripPort(h)
	if n := len(h); n > 0 && h[n-1] == '.' {
		h = h[:n-1]
	}
	for i, c := range h {
		if 'A' <= c && c <= 'Z' {
			h[i] = c + ('a' - 'A')
		}
	}
	return h
}

// StripPort removes a ":port" suffix, keeping IPv6 literals ("[::1]:80" ->
// "[::1]").
func StripPort(h []byte) []byte {
	if len(h) > 0 && h[0] == '[' {
		if i := indexByte(h, ']'); i >= 0 {
			return h[:i+1]
		}
		return h
	}
	if i := indexByte(h, ':'); i >= 0 {
		return h[:i]
	}
	return h
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
