package admin

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain lets the test binary act as an admin client run under another
// uid (TestPeerUIDIsChecked).
func TestMain(m *testing.M) {
	if sock := os.Getenv("SLUICE_ADMIN_TEST_CLIENT"); sock != "" {
		resp, err := NewClient(sock).hc.Get("http://sluice/v1/status")
		if err != nil {
			fmt.Print("dial-error ", err)
			os.Exit(0)
		}
		resp.Body.Close()
		fmt.Print("status ", resp.StatusCode)
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// TestSocketMode: the socket is 0600 (0666 with admin_allowed_uids) from
// the moment it exists; a stale socket is replaced, a live one or a
// regular file is not.
func TestSocketMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "admin.sock")
	for _, tc := range []struct {
		uids []int
		want os.FileMode
	}{{nil, 0o600}, {[]int{1000}, 0o666}} {
		ln, err := ListenSocket(path, socketModeFor(tc.uids))
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != tc.want {
			t.Errorf("uids %v: mode %v, want socket %v", tc.uids, fi.Mode(), tc.want)
		}
		if _, err := ListenSocket(path, SocketMode); err == nil || !strings.Contains(err.Error(), "running process") {
			t.Errorf("second bind on a live socket: %v", err)
		}
		ln.Close() // leaves a stale socket file: unlinking is ours
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("the socket file went with the listener: %v", err)
		}
	}
	ln, err := ListenSocket(path, SocketMode)
	if err != nil {
		t.Fatalf("a stale socket was not replaced: %v", err)
	}
	ln.Close()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %v, want only the socket (no temporary directory left)", entries)
	}
	regular := filepath.Join(dir, "file")
	os.WriteFile(regular, nil, 0o600)
	if _, err := ListenSocket(regular, SocketMode); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("a regular file at the path: %v", err)
	}
}

// TestAPIRemovesItsSocket: closing the API removes the socket file,
// unless it was handed to a new process.
func TestAPIRemovesItsSocket(t *testing.T) {
	a, _ := startBase(t)
	sock := a.api.Path()
	a.stop()
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left after Close: %v", err)
	}
}

// TestPeerUIDIsChecked runs an admin client as another user (nobody):
// refused by the socket's mode by default, refused by the uid check when
// the socket is open to others but the uid is not listed, served when it
// is listed. Needs root to switch users.
func TestPeerUIDIsChecked(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client under another uid")
	}
	const nobody = 65534
	// A directory every user can traverse (t.TempDir is 0700).
	dir, err := os.MkdirTemp("", "sluice-admin-perm-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary must be readable and executable by nobody.
	bin := filepath.Join(dir, "client")
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bin, data, 0o755)

	run := func(sock string) string {
		cmd := exec.Command(bin)
		cmd.Env = []string{"SLUICE_ADMIN_TEST_CLIENT=" + sock}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("client as nobody: %v %s", err, out)
		}
		return string(out)
	}
	for _, tc := range []struct {
		name string
		uids string
		want string
	}{
		{"mode 0600 keeps others out", "", "permission denied"},
		{"listed uid is served", fmt.Sprint(nobody), "status 200"},
		{"unlisted uid is refused", "12345", "status 403"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub, _ := os.MkdirTemp(dir, "s")
			os.Chmod(sub, 0o755)
			cfg := "admin_socket = \"" + filepath.Join(sub, "a.sock") + "\"\naccess_log = \"off\"\n"
			if tc.uids != "" {
				cfg += "admin_allowed_uids = [" + tc.uids + "]\n"
			}
			a := &testAPI{t: t, dir: sub, addrs: map[string]string{}, log: &syncBuffer{}}
			a.start(cfg, nil)
			if got := run(a.api.Path()); !strings.Contains(got, tc.want) {
				t.Errorf("client as nobody got %q, want %q", got, tc.want)
			}
			if tc.want == "status 403" && !strings.Contains(a.log.String(), "uid=65534") {
				t.Errorf("the refusal was not logged with the peer:\n%s", a.log.String())
			}
			// Our own uid is always served.
			if code, _ := a.do(http.MethodGet, "/v1/status", ""); code != 200 {
				t.Errorf("own uid: %d", code)
			}
		})
	}
}

// TestPeerCredentials: the kernel's view of the peer reaches the handler.
func TestPeerCredentials(t *testing.T) {
	dir := t.TempDir()
	ln, err := ListenSocket(filepath.Join(dir, "s"), SocketMode)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := net.DialTimeout("unix", filepath.Join(dir, "s"), time.Second)
		if err == nil {
			time.Sleep(100 * time.Millisecond)
			c.Close()
		}
	}()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	uid, pid, err := peerCred(c.(*net.UnixConn))
	if err != nil || uid != os.Getuid() || pid != os.Getpid() {
		t.Errorf("peerCred = %d %d %v, want %d %d", uid, pid, err, os.Getuid(), os.Getpid())
	}
}
