package e2e

// The sluice command (issue 2 item 2, CONTRACT.md "CLI"): built and run as
// a subprocess.

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// sluiceBinary builds ./cmd/sluice once per test binary.
func sluiceBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sluice-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "sluice")
		goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
		out, err := exec.Command(goTool, "build", "-o", buildPath, "../../cmd/sluice").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("go build ./cmd/sluice: %v", buildErr)
	}
	return buildPath
}

// runSluice runs the binary to completion and returns stdout, stderr and
// the exit code.
func runSluice(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sluiceBinary(t), args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run sluice %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

func writeCLIFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCLIVersion(t *testing.T) {
	out, _, code := runSluice(t, "version")
	if code != 0 || !strings.HasPrefix(out, "sluice ") || !strings.Contains(out, "go: go1.") {
		t.Fatalf("exit %d, output %q", code, out)
	}
}

func TestCLIUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"check"}, {"check", "-c"}, {"run", "extra-arg"}} {
		_, stderr, code := runSluice(t, args...)
		if code != 2 || !strings.Contains(stderr, "usage") {
			t.Errorf("sluice %v: exit %d, stderr %q; want 2 and a usage message", args, code, stderr)
		}
	}
}

func TestCLICheck(t *testing.T) {
	good := writeCLIFile(t, "good.toml", `
[[listeners]]
address = "127.0.0.1:18080"
protocol = "http"
[clusters.app]
frontends = [ { address = "127.0.0.1:18080", hostname = "app.localhost" } ]
backends = [ { address = "127.0.0.1:9001" } ]
`)
	out, stderr, code := runSluice(t, "check", "-c", good)
	if code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("good config: exit %d, stdout %q, stderr %q", code, out, stderr)
	}

	bad := writeCLIFile(t, "bad.toml", `
[[listeners]]
address = "127.0.0.1:18080"
protocol = "http"
frobnicate = true

[clusters.app]
frontends = [ { address = "127.0.0.1:9999", hostname = "app.localhost" } ]
backends = [ { address = "127.0.0.1:9001" } ]

[clusters.re]
frontends = [ { address = "127.0.0.1:18080", hostname = "re.localhost", path = "([", path_type = "regex" } ]
backends = [ { address = "not an address" } ]
`)
	out, stderr, code = runSluice(t, "check", "-c", bad)
	if code != 1 {
		t.Fatalf("bad config: exit %d, want 1 (stdout %q stderr %q)", code, out, stderr)
	}
	// Every error reads file:line: key: what is wrong.
	line := regexp.MustCompile(`^` + regexp.QuoteMeta(bad) + `:(\d+): ([a-z_.\[\]0-9]+): .+`)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	want := map[string]string{"5": "frobnicate", "8": "address", "12": "path", "13": "address"}
	seen := map[string]bool{}
	for _, l := range lines {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("error line %q is not file:line: key: message", l)
			continue
		}
		if k, ok := want[m[1]]; ok && strings.HasSuffix(m[2], k) {
			seen[m[1]] = true
		}
	}
	for ln, key := range want {
		if !seen[ln] {
			t.Errorf("no error for line %s (%s) in:\n%s", ln, key, stderr)
		}
	}

	if _, stderr, code := runSluice(t, "check", "-c", filepath.Join(t.TempDir(), "missing.toml")); code != 1 || stderr == "" {
		t.Errorf("missing file: exit %d stderr %q", code, stderr)
	}
	if _, stderr, code := runSluice(t, "run", "-c", bad); code != 1 || !strings.Contains(stderr, "frobnicate") {
		t.Errorf("run with a bad config: exit %d stderr %q", code, stderr)
	}
}

// startSluiceProcess starts `sluice args...` and returns it with its
// combined output; the process is killed at cleanup.
func startSluiceProcess(t *testing.T, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(sluiceBinary(t), args...)
	out := &syncBuffer{}
	cmd.Stderr, cmd.Stdout = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, out
}

// stopProcess sends sig and returns the exit code.
func stopProcess(t *testing.T, cmd *exec.Cmd, sig os.Signal) int {
	t.Helper()
	cmd.Process.Signal(sig)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		return 0
	case <-time.After(10 * time.Second):
		t.Fatalf("sluice did not stop on %v", sig)
		return -1
	}
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestCLIRunConfig: `sluice run -c FILE` serves the config and stops
// cleanly (exit 0) on SIGTERM and on SIGINT.
func TestCLIRunConfig(t *testing.T) {
	curl := RequireTool(t, "curl")
	be := namedBackend(t, "from-config")
	for _, sig := range []os.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			addr := freePort(t)
			cfg := writeCLIFile(t, "sluice.toml", `
access_log = "stderr"
[[listeners]]
address = "`+addr+`"
protocol = "http"
[clusters.app]
frontends = [ { address = "`+addr+`", hostname = "127.0.0.1" } ]
backends = [ { address = "`+be.Addr+`" } ]
`)
			cmd, logs := startSluiceProcess(t, "run", "-c", cfg)
			Eventually(t, "sluice to answer", func() bool {
				out, _ := Run(t, 5*time.Second, curl, "-sS", "--max-time", "2", "http://"+addr+"/")
				return out == "from-config"
			})
			if code := stopProcess(t, cmd, sig); code != 0 {
				t.Fatalf("exit %d after %v; logs:\n%s", code, sig, logs.String())
			}
			if !strings.Contains(logs.String(), `"status":200`) {
				t.Errorf("no access-log line on stderr:\n%s", logs.String())
			}
		})
	}
}

// TestCLIRunEmbeddedDemo: `sluice run` without a file serves the demo page
// on 127.0.0.1:8080 and prints the curl command. It needs the real ports,
// so it is skipped when they are taken.
func TestCLIRunEmbeddedDemo(t *testing.T) {
	curl := RequireTool(t, "curl")
	for _, p := range []string{"127.0.0.1:8080", "127.0.0.1:8443"} {
		ln, err := net.Listen("tcp", p)
		if err != nil {
			t.Skipf("%s is in use: %v", p, err)
		}
		ln.Close()
	}
	cmd, logs := startSluiceProcess(t, "run")
	var out string
	Eventually(t, "the demo to answer", func() bool {
		out, _ = Run(t, 5*time.Second, curl, "-sS", "--max-time", "2", "http://127.0.0.1:8080/")
		return strings.Contains(out, "sluice")
	})
	if !strings.Contains(out, "X-Forwarded-For") {
		t.Errorf("demo page does not show the forwarded request:\n%s", out)
	}
	if !strings.Contains(logs.String(), "curl -v http://127.0.0.1:8080/") {
		t.Errorf("no curl hint printed:\n%s", logs.String())
	}
	if code := stopProcess(t, cmd, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
}
