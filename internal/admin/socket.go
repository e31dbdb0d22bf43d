package admin

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// SocketMode is the admin socket's mode without admin_allowed_uids: only
// our user (and root) can connect(2) to it.
const SocketMode os.FileMode = 0o600

// sharedSocketMode is its mode with admin_allowed_uids: anyone who can
// reach the directory can connect, and the peer's uid decides (guard).
const sharedSocketMode os.FileMode = 0o666

// socketModeFor returns the mode an admin socket gets.
func socketModeFor(allowedUIDs []int) os.FileMode {
	if len(allowedUIDs) > 0 {
		return sharedSocketMode
	}
	return SocketMode
}

// ListenSocket binds the admin socket at path with the given mode. The
// socket is bound in a private directory beside path, given its mode and
// then renamed into place, so it is never reachable with a wider mode.
// A stale socket left by a process that died is replaced; a socket a live
// process answers on is an error (two sluices would fight over it).
func ListenSocket(path string, mode os.FileMode) (*net.UnixListener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("admin socket %s: exists and is not a socket", path)
		}
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("admin socket %s: a running process is listening on it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("admin socket %s: removing the stale socket: %w", path, err)
		}
	}
	dir, err := os.MkdirTemp(filepath.Dir(path), ".sluice-admin-")
	if err != nil {
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	// The listener is known by its temporary name; unlinking is ours.
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	return ln, nil
}

// API is the admin API serving on a socket.
type API struct {
	path string
	ln   *net.UnixListener
	hs   *http.Server
	ino  uint64 // of the socket file we own, to unlink only ours

	mu        sync.Mutex
	handedOff bool
	done      chan struct{}
}

// Serve serves c's API on ln, the socket bound at path.
func (c *Controller) Serve(ln *net.UnixListener, path string) *API {
	a := &API{path: path, ln: ln, done: make(chan struct{})}
	if fi, err := os.Stat(path); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			a.ino = st.Ino
		}
	}
	a.hs = &http.Server{
		Handler:           c.Handler(),
		ConnContext:       connContext,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// An upgrade answers once the new process is ready (upgradeTimeout).
		WriteTimeout: upgradeTimeout + 30*time.Second,
		IdleTimeout:  60 * time.Second,
	}
	go func() {
		defer close(a.done)
		a.hs.Serve(ln)
	}()
	return a
}

// Path returns the socket's path.
func (a *API) Path() string { return a.path }

// File returns a duplicate of the socket's descriptor for a new process
// (an upgrade). Once that process serves it, call HandedOff.
func (a *API) File() (*os.File, error) { return a.ln.File() }

// HandedOff makes Close leave the socket file (a new process serves it).
func (a *API) HandedOff() {
	a.mu.Lock()
	a.handedOff = true
	a.mu.Unlock()
}

// Close stops serving (answers in progress finish, within ctx) and
// removes the socket file unless it was handed off or replaced.
func (a *API) Close(ctx context.Context) {
	a.hs.Shutdown(ctx)
	<-a.done
	a.mu.Lock()
	handedOff := a.handedOff
	a.mu.Unlock()
	if handedOff {
		return
	}
	if fi, err := os.Lstat(a.path); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Ino == a.ino {
			os.Remove(a.path)
		}
	}
}
