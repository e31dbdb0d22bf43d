package config

import (
	"sort"
	"strconv"
	"strings"
)

// Error is one problem in a configuration, located at a key.
type Error struct {
	// File is the configuration file; "" for a Config built in code.
	File string
	// Line is the 1-based line of the key or value at fault; 0 when unknown
	// (a Config built in code, or an error about the whole file).
	Line int
	// Key is the key as a user would write it, e.g. "listeners[1].protocol"
	// or "clusters.app.frontends[0].address"; "" for a TOML syntax error.
	Key string
	// Msg says what is wrong.
	Msg string
}

// Error formats the error as "FILE:LINE: KEY: MSG", leaving out the parts
// that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		b.WriteString(e.File)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	case e.File != "":
		b.WriteString(e.File)
		b.WriteString(": ")
	case e.Line > 0:
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a configuration, ordered by line. Parse,
// Load and Validate return it (never empty) as their error; use errors.As
// to list the entries.
type Errors []*Error

// Error is the entries' messages, one per line.
func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.As find an individual *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sortByLine orders errors by line, keeping the order in which they were
// found among errors of one line (and among errors without a line).
func (es Errors) sortByLine() {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Line < es[j].Line })
}
