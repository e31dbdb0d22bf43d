package config

import "fmt"

// maxConfigBytes bounds the configuration file; real ones are a few KiB.
const maxConfigBytes = 16 << 20

// Load reads and parses the configuration file at path. See Parse.
func Load(path string) (*Config, error) {
	data, err := readFileLimited(path, maxConfigBytes)
	if err != nil {
		return nil, Errors{{File: path, Msg: err.Error()}}
	}
	return Parse(path, data)
}

// Parse decodes a configuration file's contents. filename names the file in
// errors and is the base of the relative paths in it; it may be "" for an
// embedded configuration (paths are then relative to the working
// directory). Parse applies the defaults, reads the custom answer files,
// and validates everything, certificates included. On any problem it
// returns a nil Config and an Errors listing every problem, ordered by line.
func Parse(filename string, data []byte) (*Config, error) {
	root, serr := parseTree(data)
	if serr != nil {
		msg := "invalid TOML: " + serr.msg
		if serr.col > 0 {
			msg = fmt.Sprintf("invalid TOML (column %d): %s", serr.col, serr.msg)
		}
		return nil, Errors{{File: filename, Line: serr.line, Msg: msg}}
	}

	d := newDecoder(filename)
	c := d.config(root)
	ApplyDefaults(c)
	v := &validator{file: filename, lines: d.lines, bad: d.bad, errs: d.errs}
	v.config(c)
	if len(v.errs) > 0 {
		v.errs.sortByLine()
		return nil, v.errs
	}
	return c, nil
}
