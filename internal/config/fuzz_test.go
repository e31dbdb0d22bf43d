package config

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse. It must never panic; an error
// must be a non-empty Errors whose entries have a message, the file name and
// a line inside the file, in line order; a success must be a Config that
// validates again and that ApplyDefaults leaves unchanged.
//
// Seeds are in testdata/fuzz/FuzzParse (the CONTRACT.md example, the bench
// config, alternative spellings and broken files).
func FuzzParse(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte(listenersHTTP + "[clusters.a]\nfrontends = [{ address = \"127.0.0.1:8080\", hostname = \"a\" }]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.toml", data)
		if err != nil {
			if c != nil {
				t.Fatal("Parse returned both a Config and an error")
			}
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %v (%T) is not a non-empty Errors", err, err)
			}
			lines := bytes.Count(data, []byte("\n")) + 1
			for i, e := range es {
				if e.File != "fuzz.toml" || e.Msg == "" || e.Line < 0 || e.Line > lines {
					t.Fatalf("bad error entry %+v (file has %d lines)", *e, lines)
				}
				if i > 0 && es[i-1].Line > e.Line {
					t.Fatalf("errors out of line order:\n%v", err)
				}
			}
			return
		}
		if c == nil {
			t.Fatal("Parse returned neither a Config nor an error")
		}
		if err := Validate(c); err != nil {
			t.Fatalf("a parsed config does not validate again: %v", err)
		}
		before := dump(c)
		ApplyDefaults(c)
		if after := dump(c); after != before {
			t.Fatalf("ApplyDefaults changed a parsed config:\n%s\n%s", before, after)
		}
	})
}
