package config

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// This file turns a TOML document into a small tree in which every key and
// value remembers its line. go-toml's decoder, run first, is the authority on
// whether the document is valid TOML; the tree builder still checks the
// rules it relies on (no key defined twice, no table reopened) so that it
// can never build a wrong tree from a document the decoder let through.

// kind is the TOML type of a value.
type kind uint8

const (
	kString kind = iota + 1
	kInteger
	kFloat
	kBool
	kDateTime
	kArray
	kTable
)

func (k kind) String() string {
	switch k {
	case kString:
		return "a string"
	case kInteger:
		return "an integer"
	case kFloat:
		return "a float"
	case kBool:
		return "a boolean"
	case kDateTime:
		return "a date-time"
	case kArray:
		return "an array"
	case kTable:
		return "a table"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// value is one TOML value and the line it starts on.
type value struct {
	kind kind
	line int
	str  string   // kString: the contents; kFloat, kDateTime: the raw text
	num  int64    // kInteger
	b    bool     // kBool
	arr  []*value // kArray
	tab  *table   // kTable
	// aot marks an array made by [[header]] tables, the only kind of array
	// a later [[header]] may append to (TOML 1.0 "Array of Tables").
	aot bool
}

// origin records how a table came to exist, which decides whether a later
// header or dotted key may add to it (TOML 1.0 "Table", "Inline Table").
type origin uint8

const (
	originImplicit origin = iota // a parent named by a header, e.g. a in [a.b]
	originHeader                 // defined by its own [header]
	originDotted                 // created by a dotted key, e.g. a in a.b = 1
	originInline                 // an inline table { ... }: closed
)

// entry is one key of a table.
type entry struct {
	name string
	line int // line of the key
	val  *value
}

// table keeps its entries in file order.
type table struct {
	line    int
	origin  origin
	entries []*entry
	byName  map[string]*entry
}

func newTable(line int, o origin) *table {
	return &table{line: line, origin: o, byName: map[string]*entry{}}
}

func (t *table) get(name string) *entry { return t.byName[name] }

func (t *table) add(name string, line int, v *value) {
	e := &entry{name: name, line: line, val: v}
	t.entries = append(t.entries, e)
	t.byName[name] = e
}

// syntaxError is a TOML-level problem: the file is not valid TOML.
type syntaxError struct {
	line, col int
	msg       string
}

// builder holds the state of one tree build.
type builder struct {
	data    []byte
	newline []int // offsets of every '\n' in data, for line lookups
	root    *table
	cur     *table // the table key/value lines go into
}

// utf8BOM is skipped at the start of a file: editors on some systems write
// it, and it carries no meaning.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// parseTree validates data as TOML and builds its positioned tree.
func parseTree(data []byte) (*table, *syntaxError) {
	data = bytes.TrimPrefix(data, utf8BOM)
	var generic map[string]any
	if err := toml.Unmarshal(data, &generic); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, col := de.Position()
			return nil, &syntaxError{line: line, col: col, msg: strings.TrimPrefix(de.Error(), "toml: ")}
		}
		return nil, &syntaxError{msg: err.Error()}
	}

	b := &builder{data: data, root: newTable(1, originHeader)}
	b.cur = b.root
	for i, c := range data {
		if c == '\n' {
			b.newline = append(b.newline, i)
		}
	}
	var p unstable.Parser
	p.Reset(data)
	for p.NextExpression() {
		if err := b.expression(p.Expression()); err != nil {
			return nil, err
		}
	}
	if err := p.Error(); err != nil {
		se := &syntaxError{msg: err.Error()}
		var pe *unstable.ParserError
		if errors.As(err, &pe) {
			se.line = b.lineOfSlice(pe.Highlight)
		}
		return nil, se
	}
	return b.root, nil
}

// lineAt is the 1-based line of a byte offset.
func (b *builder) lineAt(offset int) int {
	return sort.SearchInts(b.newline, offset) + 1
}

func (b *builder) lineOf(n *unstable.Node) int { return b.lineAt(int(n.Raw.Offset)) }

// lineOfSlice locates a subslice of the document (a parser highlight).
func (b *builder) lineOfSlice(s []byte) int {
	off := cap(b.data) - cap(s)
	if s == nil || off < 0 || off > len(b.data) {
		return 0
	}
	return b.lineAt(off)
}

type keyPart struct {
	name string
	line int
}

func (b *builder) keyParts(it unstable.Iterator) []keyPart {
	var parts []keyPart
	for it.Next() {
		n := it.Node()
		parts = append(parts, keyPart{name: string(n.Data), line: b.lineOf(n)})
	}
	return parts
}

func (b *builder) errorf(line int, format string, args ...any) *syntaxError {
	return &syntaxError{line: line, msg: fmt.Sprintf(format, args...)}
}

func (b *builder) expression(n *unstable.Node) *syntaxError {
	switch n.Kind {
	case unstable.KeyValue:
		return b.keyValue(b.cur, n)
	case unstable.Table:
		t, err := b.header(b.keyParts(n.Key()), false)
		if err != nil {
			return err
		}
		b.cur = t
	case unstable.ArrayTable:
		t, err := b.header(b.keyParts(n.Key()), true)
		if err != nil {
			return err
		}
		b.cur = t
	}
	return nil
}

func dotted(parts []keyPart) string {
	names := make([]string, len(parts))
	for i, p := range parts {
		names[i] = p.name
	}
	return strings.Join(names, ".")
}

// header opens the table of a [a.b.c] or [[a.b.c]] line and returns it.
func (b *builder) header(parts []keyPart, array bool) (*table, *syntaxError) {
	if len(parts) == 0 {
		return nil, b.errorf(0, "empty table name")
	}
	line := parts[0].line
	t := b.root
	for i, p := range parts[:len(parts)-1] {
		e := t.get(p.name)
		if e == nil {
			nt := newTable(line, originImplicit)
			t.add(p.name, p.line, &value{kind: kTable, line: line, tab: nt})
			t = nt
			continue
		}
		switch {
		case e.val.kind == kTable && e.val.tab.origin != originInline:
			t = e.val.tab
		case e.val.kind == kArray && e.val.aot && len(e.val.arr) > 0:
			// [a.b] after [[a]] adds to the last element of a.
			t = e.val.arr[len(e.val.arr)-1].tab
		default:
			return nil, b.errorf(line, "%s is already defined as %s and cannot hold a table", dotted(parts[:i+1]), e.val.kind)
		}
	}
	last := parts[len(parts)-1]
	e := t.get(last.name)
	if array {
		nt := newTable(line, originHeader)
		elem := &value{kind: kTable, line: line, tab: nt}
		switch {
		case e == nil:
			t.add(last.name, last.line, &value{kind: kArray, line: line, aot: true, arr: []*value{elem}})
		case e.val.kind == kArray && e.val.aot:
			e.val.arr = append(e.val.arr, elem)
		default:
			return nil, b.errorf(line, "%s is already defined as %s, not an array of tables", dotted(parts), e.val.kind)
		}
		return nt, nil
	}
	switch {
	case e == nil:
		nt := newTable(line, originHeader)
		t.add(last.name, last.line, &value{kind: kTable, line: line, tab: nt})
		return nt, nil
	case e.val.kind == kTable && e.val.tab.origin == originImplicit:
		e.val.tab.origin = originHeader
		e.val.tab.line = line
		e.val.line = line
		e.line = last.line
		return e.val.tab, nil
	default:
		return nil, b.errorf(line, "table %s is already defined", dotted(parts))
	}
}

// keyValue adds "a.b.c = v" to table t.
func (b *builder) keyValue(t *table, n *unstable.Node) *syntaxError {
	parts := b.keyParts(n.Key())
	if len(parts) == 0 {
		return b.errorf(0, "empty key")
	}
	for _, p := range parts[:len(parts)-1] {
		e := t.get(p.name)
		if e == nil {
			nt := newTable(p.line, originDotted)
			t.add(p.name, p.line, &value{kind: kTable, line: p.line, tab: nt})
			t = nt
			continue
		}
		// TOML 1.0: dotted keys may extend only tables that dotted keys
		// created; headers and inline tables are closed to them.
		if e.val.kind != kTable || e.val.tab.origin != originDotted {
			return b.errorf(p.line, "key %s is already defined", p.name)
		}
		t = e.val.tab
	}
	last := parts[len(parts)-1]
	if t.get(last.name) != nil {
		return b.errorf(last.line, "key %s is already defined", dotted(parts))
	}
	v, err := b.value(n.Value(), last.line)
	if err != nil {
		return err
	}
	t.add(last.name, last.line, v)
	return nil
}

// value converts a value node. fallback is the line used when the node does
// not carry a position (go-toml leaves arrays without one).
func (b *builder) value(n *unstable.Node, fallback int) (*value, *syntaxError) {
	line := fallback
	if n.Kind != unstable.Array {
		line = b.lineOf(n)
	}
	switch n.Kind {
	case unstable.String:
		return &value{kind: kString, line: line, str: string(n.Data)}, nil
	case unstable.Bool:
		return &value{kind: kBool, line: line, b: string(n.Data) == "true"}, nil
	case unstable.Integer:
		i, err := parseInteger(string(n.Data))
		if err != nil {
			return nil, b.errorf(line, "%v", err)
		}
		return &value{kind: kInteger, line: line, num: i}, nil
	case unstable.Float:
		return &value{kind: kFloat, line: line, str: string(n.Data)}, nil
	case unstable.DateTime, unstable.LocalDateTime, unstable.LocalDate, unstable.LocalTime:
		return &value{kind: kDateTime, line: line, str: string(n.Data)}, nil
	case unstable.Array:
		v := &value{kind: kArray, line: line}
		it := n.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			ev, err := b.value(c, line)
			if err != nil {
				return nil, err
			}
			v.arr = append(v.arr, ev)
		}
		if len(v.arr) > 0 {
			v.line = v.arr[0].line
			if fallback > 0 && fallback < v.line {
				v.line = fallback
			}
		}
		return v, nil
	case unstable.InlineTable:
		t := newTable(line, originInline)
		it := n.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind != unstable.KeyValue {
				continue
			}
			if err := b.keyValue(t, c); err != nil {
				return nil, err
			}
		}
		// Dotted keys inside an inline table are as closed as the table.
		closeTables(t)
		return &value{kind: kTable, line: line, tab: t}, nil
	}
	return nil, b.errorf(line, "unexpected %s value", n.Kind)
}

// closeTables marks t and the tables its dotted keys created as inline.
// Nested inline tables were closed when they were built; not walking into
// them again keeps deep nesting linear.
func closeTables(t *table) {
	t.origin = originInline
	for _, e := range t.entries {
		if e.val.kind == kTable && e.val.tab.origin != originInline {
			closeTables(e.val.tab)
		}
	}
}

// parseInteger reads a TOML integer the parser has already delimited and
// checked for shape: optional sign, or a 0x/0o/0b prefix, digits with single
// underscores between them.
func parseInteger(raw string) (int64, error) {
	s := strings.ReplaceAll(raw, "_", "")
	base := 10
	if len(s) > 2 && s[0] == '0' {
		switch s[1] {
		case 'x':
			base = 16
		case 'o':
			base = 8
		case 'b':
			base = 2
		}
		if base != 10 {
			s = s[2:]
		}
	}
	i, err := strconv.ParseInt(s, base, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("integer %s does not fit in 64 bits", raw)
		}
		return 0, fmt.Errorf("invalid integer %s", raw)
	}
	return i, nil
}
