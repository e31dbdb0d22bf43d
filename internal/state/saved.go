package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pelletier/go-toml/v2"

	"github.com/sluice-proxy/sluice/internal/config"
)

// savedHeader starts every saved-state file: it is a config file, and
// says where it came from.
const savedHeader = `# sluice saved state: the live listeners and clusters, rewritten after
# every change made through the admin API. It is a config file (sluice
# check -c accepts it). At start, when it exists, its listeners and
# clusters replace those of the config file (docs/operations.md).
`

// TOML renders the document as a config file.
func (d *Document) TOML() ([]byte, error) {
	var b bytes.Buffer
	enc := toml.NewEncoder(&b)
	enc.SetIndentTables(false)
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// JSON renders the document as indented JSON with a final newline.
func (d *Document) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Save writes c to path as a config file, atomically: the data goes to a
// temporary file in the same directory, is synced, and the file is
// renamed over path (rename(2) replaces atomically within a file system),
// then the directory is synced so the rename survives a crash. A reader,
// or a crash at any point, sees the previous file or the new one, whole.
func Save(path string, c *config.Config) error {
	doc := NewDocument(c)
	doc.Absolute()
	body, err := doc.TOML()
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, append([]byte(savedHeader+"\n"), body...))
}

// WriteFileAtomic replaces the file at path with data, private to its
// owner (saved state and uploaded keys are secrets): a temporary file in
// the same directory is written, synced and renamed over path, then the
// directory is synced so the rename survives a crash.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Absolute makes every file path of the document absolute (relative
// ones are relative to the working directory, as config.Parse leaves
// them for a file in the working directory): a config file resolves
// relative paths against its own directory, and the saved state need not
// live beside the config file.
func (d *Document) Absolute() {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			if a, err := filepath.Abs(*p); err == nil {
				*p = a
			}
		}
	}
	abs(&d.AdminSocket)
	abs(&d.SavedState)
	switch d.AccessLog {
	case config.AccessLogStdout, config.AccessLogStderr, config.AccessLogOff:
	default:
		abs(&d.AccessLog)
	}
	for _, l := range d.Listeners {
		abs(&l.Certificate)
		abs(&l.Key)
		abs(&l.CertificateChain)
		for _, c := range l.Certificates {
			abs(&c.Certificate)
			abs(&c.Key)
			abs(&c.CertificateChain)
		}
	}
	for _, c := range d.Clusters {
		abs(&c.BackendTLSCA)
		for code, p := range c.Answers {
			abs(&p)
			c.Answers[code] = p
		}
		for _, f := range c.Frontends {
			abs(&f.Certificate)
			abs(&f.Key)
			abs(&f.CertificateChain)
		}
	}
}

// Restore returns the config a process starts with: base (the config
// file) when it names no saved state or the saved state does not exist
// yet; otherwise base's top-level keys with the listeners and clusters of
// the saved state. restored reports which. A saved state that cannot be
// read or is invalid is an error (never silently ignored: starting from
// the config file instead would bring back routes an operator removed).
func Restore(base *config.Config) (cfg *config.Config, restored bool, err error) {
	if base.SavedState == "" {
		return base, false, nil
	}
	if _, err := os.Stat(base.SavedState); errors.Is(err, os.ErrNotExist) {
		return base, false, nil
	}
	saved, err := config.Load(base.SavedState)
	if err != nil {
		return nil, false, fmt.Errorf("saved state %s: %w", base.SavedState, err)
	}
	return Merge(base, saved)
}

// Merge returns base's top-level keys with the listeners and clusters of
// routing, validated.
func Merge(base, routing *config.Config) (*config.Config, bool, error) {
	m := CloneConfig(base)
	r := CloneConfig(routing)
	m.Listeners, m.Clusters = r.Listeners, r.Clusters
	config.ApplyDefaults(m)
	if err := config.Validate(m); err != nil {
		return nil, false, fmt.Errorf("saved state %s: %w", base.SavedState, err)
	}
	return m, true, nil
}

// maxAnswerBytes is config's bound on a custom answer file.
const maxAnswerBytes = 1 << 20

// readAnswer reads a custom answer file, at most maxAnswerBytes.
func readAnswer(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxAnswerBytes+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxAnswerBytes {
		return "", fmt.Errorf("%s is larger than %d bytes", path, maxAnswerBytes)
	}
	return string(b), nil
}
