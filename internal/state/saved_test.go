package state

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/internal/backend"
	"github.com/sluice-proxy/sluice/internal/config"
	"github.com/sluice-proxy/sluice/internal/metrics"
)

// TestSaveIsAtomicAndReadable: Save leaves exactly one private file, a
// config file whose every path is absolute, that loads back to the same
// config.
func TestSaveIsAtomicAndReadable(t *testing.T) {
	c, _ := loadFull(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "saved.toml")
	for range 2 { // the second Save replaces the first
		if err := Save(path, c); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %v, want only saved.toml (no temporary file left)", entries)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	back, err := config.Load(path)
	if err != nil {
		t.Fatalf("the saved state does not load: %v", err)
	}
	want := stripLines(c)
	for _, p := range []*string{&want.AdminSocket, &want.SavedState} {
		*p, _ = filepath.Abs(*p)
	}
	if got := stripLines(back); !reflect.DeepEqual(want, got) {
		t.Errorf("saved state loads as\n%+v\nwant\n%+v", got, want)
	}
}

// TestRestore: without a saved state file the config file applies; with
// one, its listeners and clusters replace the file's while the top-level
// keys stay the file's; a broken saved state is an error, not ignored.
func TestRestore(t *testing.T) {
	dir := t.TempDir()
	base, err := config.Parse(filepath.Join(dir, "sluice.toml"), []byte(`
log_level = "debug"
saved_state = "saved.toml"
[[listeners]]
address = "127.0.0.1:8080"
protocol = "http"
`))
	if err != nil {
		t.Fatal(err)
	}
	got, restored, err := Restore(base)
	if err != nil || restored || got != base {
		t.Fatalf("no saved state: %v %v %v", got, restored, err)
	}

	saved := CloneConfig(base)
	saved.LogLevel = "error" // must not win over the file
	saved.Listeners = append(saved.Listeners, config.NewListener("127.0.0.1:8081", "http"))
	cl := config.NewCluster("added")
	cl.Frontends = []*config.Frontend{config.NewFrontend("127.0.0.1:8081", "a.test")}
	saved.Clusters = []*config.Cluster{cl}
	if err := Save(base.SavedState, saved); err != nil {
		t.Fatal(err)
	}
	got, restored, err = Restore(base)
	if err != nil || !restored {
		t.Fatalf("Restore: %v %v", restored, err)
	}
	if got.LogLevel != "debug" || len(got.Listeners) != 2 || len(got.Clusters) != 1 || got.Clusters[0].ID != "added" {
		t.Errorf("restored %+v", got)
	}

	os.WriteFile(base.SavedState, []byte("[[listeners]]\naddress = 5\n"), 0o600)
	if _, _, err := Restore(base); err == nil || !strings.Contains(err.Error(), "saved state") {
		t.Errorf("broken saved state: err = %v, want an error naming it", err)
	}
}

// TestApplyRetiresAfterGrace: a removed backend still takes the requests
// routed by the previous table during RetireGrace, and none after.
func TestApplyRetiresAfterGrace(t *testing.T) {
	old := RetireGrace
	RetireGrace = 50 * time.Millisecond
	defer func() { RetireGrace = old }()

	cfg := &config.Config{Listeners: []*config.Listener{config.NewListener("127.0.0.1:8080", "http")}}
	cl := config.NewCluster("app")
	cl.Backends = []*config.Backend{config.NewBackend("127.0.0.1:9001"), config.NewBackend("127.0.0.1:9002")}
	cfg.Clusters = []*config.Cluster{cl}
	config.ApplyDefaults(cfg)
	s := New(metrics.New())
	if err := s.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	var gone *backend.Backend
	for _, b := range s.Backends() {
		if b.Address == "127.0.0.1:9002" {
			gone = b
		}
	}
	next := CloneConfig(cfg)
	next.Clusters[0].Backends = next.Clusters[0].Backends[:1]
	if err := s.Apply(next); err != nil {
		t.Fatal(err)
	}
	if !gone.Up() {
		t.Fatal("the removed backend was retired at once: requests routed a moment before would fail")
	}
	if len(s.Backends()) != 1 {
		t.Errorf("live backends: %d, want 1", len(s.Backends()))
	}
	deadline := time.Now().Add(5 * time.Second)
	for gone.Up() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if gone.Up() {
		t.Fatal("the removed backend was never retired")
	}
}

// TestCloseRetiresPending: Close does not leave a backend in its grace.
func TestCloseRetiresPending(t *testing.T) {
	old := RetireGrace
	RetireGrace = time.Hour
	defer func() { RetireGrace = old }()
	cfg := &config.Config{}
	cl := config.NewCluster("app")
	cl.Backends = []*config.Backend{config.NewBackend("127.0.0.1:9001")}
	cfg.Clusters = []*config.Cluster{cl}
	config.ApplyDefaults(cfg)
	s := New(nil)
	s.Apply(cfg)
	b := s.Backends()[0]
	s.Apply(&config.Config{})
	s.Close()
	if b.Up() {
		t.Error("Close left a removed backend up")
	}
}
