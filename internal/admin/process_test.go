package admin

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/internal/config"
	"github.com/sluice-proxy/sluice/internal/server"
)

// TestRunLifecycle runs a whole process in-process: SIGHUP reloads the
// config file (replacing a change made through the API), the API's
// shutdown drains and Run returns 0, leaving no socket behind.
func TestRunLifecycle(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddrs(t, 1)[0]
	file := filepath.Join(dir, "sluice.toml")
	text := "admin_socket = \"" + dir + "/a.sock\"\nsaved_state = \"" + dir + "/saved.toml\"\naccess_log = \"off\"\n" +
		"[[listeners]]\naddress = \"" + addr + "\"\nprotocol = \"http\"\n"
	os.WriteFile(file, []byte(text), 0o600)
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	started := make(chan *server.Server, 1)
	exit := make(chan int, 1)
	go func() {
		exit <- Run(RunOptions{ConfigFile: file, Config: cfg, Args: []string{"run", "-c", file},
			Log: slog.New(slog.NewTextHandler(logs, nil)), Stderr: io.Discard,
			Started: func(s *server.Server) { started <- s }})
	}()
	var srv *server.Server
	select {
	case srv = <-started:
	case code := <-exit:
		t.Fatalf("Run returned %d at start:\n%s", code, logs.String())
	}
	c := NewClient(filepath.Join(dir, "a.sock"))
	if _, err := c.Do("POST", "/v1/clusters", nil, map[string]any{"id": "x"}); err != nil {
		t.Fatal(err)
	}

	// SIGHUP: the file's routing (no cluster) replaces the API's change.
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitLog(t, logs, "peer=SIGHUP op=reload")
	if got := len(srv.Live().Clusters); got != 0 {
		t.Errorf("after SIGHUP: %d clusters, want the file's 0", got)
	}

	if _, err := c.Do("POST", "/v1/shutdown", nil, map[string]any{"hard": false}); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exit:
		if code != ExitOK {
			t.Errorf("exit code %d", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after the shutdown request")
	}
	if _, err := os.Stat(filepath.Join(dir, "a.sock")); !os.IsNotExist(err) {
		t.Errorf("socket left: %v", err)
	}
	if !strings.Contains(logs.String(), "msg=stopped") {
		t.Errorf("no final log line:\n%s", logs.String())
	}
}

// TestUpgradeRefusedWithoutConfigFile: the embedded config cannot be
// upgraded (its backend lives in the process).
func TestUpgradeRefusedWithoutConfigFile(t *testing.T) {
	a, _ := startBase(t)
	p := &process{o: RunOptions{}, log: slog.New(slog.NewTextHandler(io.Discard, nil)), srv: a.srv, ctrl: a.ctrl, shutdown: make(chan bool, 1)}
	a.ctrl.onUpgrade = p.upgrade
	code, body := a.do("POST", "/v1/upgrade", "")
	if code != 409 || !strings.Contains(body, "needs a config file") {
		t.Errorf("upgrade of the embedded config: %d %s", code, body)
	}
	if got := a.changes("upgrade", "refused"); got != 1 {
		t.Errorf("refused upgrades counted: %v", got)
	}
}

func waitLog(t *testing.T, logs *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log never said %q:\n%s", want, logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
