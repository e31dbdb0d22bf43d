package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// `sluice ctl` against real processes: a sequence of changes, then the
// state a fresh process builds from the saved state file must equal the
// live state before it; refusals exit 1 with the server's reason, bad
// usage exits 2; SIGHUP reloads; SIGTERM drains and exits 0.

const ctlCfg = `
admin_socket = "@DIR@/admin.sock"
saved_state = "@DIR@/state/saved.toml"
access_log = "off"

[[listeners]]
address = "@L1@"
protocol = "http"

[[listeners]]
address = "@L2@"
protocol = "https"

[clusters.app]
frontends = [{ address = "@L1@", hostname = "app.test" }]
backends = [{ address = "127.0.0.1:9", id = "discard" }]
`

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return 0
}

func TestCtlStateSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := BuildSluice(t)
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "state"), 0o700)
	l1, l2, l3 := reservePort(t), reservePort(t), reservePort(t)
	cert := NewCert(t, "secure.test")
	cfgFile := filepath.Join(dir, "sluice.toml")
	os.WriteFile(cfgFile, []byte(strings.NewReplacer("@DIR@", dir, "@L1@", l1, "@L2@", l2).Replace(ctlCfg)), 0o600)
	sock := filepath.Join(dir, "admin.sock")
	p := StartProc(t, bin, cfgFile, sock, filepath.Join(dir, "sluice.log"))

	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket: %v %v, want mode 0600", fi, err)
	}
	steps := [][]string{
		{"cluster", "add", "--cluster", "api", "--load-balancing", "power_of_two", "--backend-protocol", "h2c"},
		{"backend", "add", "--cluster", "api", "--address", "127.0.0.1:7001", "--id", "api-1", "--weight", "30"},
		{"backend", "add", "--cluster", "api", "--address", "127.0.0.1:7002"},
		{"frontend", "add", "--cluster", "api", "--address", l1, "--hostname", "api.test", "--path", "/v1/", "--path-type", "prefix"},
		{"backend", "add", "--cluster", "app", "--address", "127.0.0.1:7003", "--weight", "0"},
		{"backend", "remove", "--cluster", "app", "--address", "127.0.0.1:9"},
		{"listener", "add", "--address", l3, "--protocol", "http", "--h2c=false"},
		{"frontend", "add", "--cluster", "app", "--address", l3, "--hostname", "*.wild.test"},
		{"cert", "add", "--address", l2, "--cert", cert.CertFile, "--key", cert.KeyFile, "--upload"},
		{"frontend", "add", "--cluster", "api", "--address", l2, "--hostname", "secure.test"},
	}
	for _, s := range steps {
		out, err := p.Ctl(s...)
		if err != nil || !strings.HasPrefix(out, "ok: ") {
			t.Fatalf("ctl %v: %v\n%s", s, err, out)
		}
	}
	tables, err := p.Ctl("state")
	if err != nil || !strings.Contains(tables, "api-1") || !strings.Contains(tables, "*.wild.test") {
		t.Errorf("state tables: %v\n%s", err, tables)
	}
	live, err := p.Ctl("state", "--json")
	if err != nil {
		t.Fatal(err)
	}

	// Refusals exit 1 with the server's reason, bad usage exits 2, and
	// neither changes the state.
	if out, err := p.Ctl("backend", "add", "--cluster", "nope", "--address", "127.0.0.1:1"); exitCode(err) != 1 || !strings.Contains(err.Error(), `cluster \"nope\" not found`) && !strings.Contains(err.Error(), `cluster "nope" not found`) {
		t.Errorf("refused change: exit %d, %v %s", exitCode(err), err, out)
	}
	if _, err := p.Ctl("backend", "add", "--cluster", "app"); exitCode(err) != 2 || !strings.Contains(err.Error(), "--address is required") {
		t.Errorf("bad usage: exit %d, %v", exitCode(err), err)
	}
	if _, err := p.Ctl("frobnicate"); exitCode(err) != 2 {
		t.Errorf("unknown command: exit %d", exitCode(err))
	}
	if again, _ := p.Ctl("state", "--json"); again != live {
		t.Error("a refused change altered the state")
	}

	// SIGTERM: drain and exit 0; the socket goes away.
	syscall.Kill(p.PID(), syscall.SIGTERM)
	if code := p.Wait(30 * time.Second); code != 0 {
		t.Fatalf("exit code after SIGTERM: %d\n%s", code, p.ReadLog())
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("admin socket left after exit: %v", err)
	}
	if _, err := RunCtl(bin, sock, "status"); exitCode(err) != 1 || !strings.Contains(err.Error(), "cannot reach sluice") {
		t.Errorf("ctl without a server: %v", err)
	}

	// A fresh process from the same config file comes back with the
	// saved state.
	q := StartProc(t, bin, cfgFile, sock, filepath.Join(dir, "sluice2.log"))
	fresh, err := q.Ctl("state", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if fresh != live {
		t.Errorf("the fresh process's state differs from the live state before the restart:\nbefore: %s\nafter:  %s", live, fresh)
	}
	if len(q.LogLines("live state restored", "saved.toml")) != 1 {
		t.Errorf("the log does not say the state was restored:\n%s", q.ReadLog())
	}

	// SIGHUP reloads the file: its routing replaces the restored one.
	syscall.Kill(q.PID(), syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for len(q.LogLines("op=reload", "peer=SIGHUP", "result=ok")) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	after, _ := q.Ctl("state", "--json")
	if strings.Contains(after, `"api"`) || !strings.Contains(after, "127.0.0.1:9") {
		t.Errorf("after SIGHUP the state is not the file's:\n%s", after)
	}
	if out, err := q.Ctl("shutdown", "--hard"); err != nil || !strings.Contains(out, "hard") {
		t.Errorf("shutdown --hard: %v %s", err, out)
	}
	if code := q.Wait(30 * time.Second); code != 0 {
		t.Errorf("exit code after shutdown --hard: %d", code)
	}
}
