package admin

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-proxy/sluice/internal/config"
	"github.com/sluice-proxy/sluice/internal/server"
	"github.com/sluice-proxy/sluice/internal/state"
)

// Zero-downtime upgrade. The old process starts the binary at its own path
// with its own arguments and hands it, through inherited file descriptors
// (os/exec ExtraFiles), every listening socket (the listeners, the metrics
// listener, the admin socket) and, through a file, its live state. The new
// process starts serving on those sockets (both processes accept for a
// moment: the kernel gives each connection to one of them, none is
// refused), then writes "ready PID" on a pipe. Only then does the old
// process stop accepting and drain. If the new process fails or is not
// ready in time, it is killed and the old one goes on as if nothing
// happened.
//
// The hand-over is described to the new process by environment variables,
// removed from its environment as soon as it reads them:
//
//	SLUICE_UPGRADE_FDS    name=fd;name=fd...  (listener address, "metrics", "admin")
//	SLUICE_UPGRADE_READY  fd of the pipe to write "ready PID\n" on
//	SLUICE_UPGRADE_STATE  path of the live state (a config file)

const (
	envFDs   = "SLUICE_UPGRADE_FDS"
	envReady = "SLUICE_UPGRADE_READY"
	envState = "SLUICE_UPGRADE_STATE"

	adminFD = "admin"
)

// upgradeTimeout bounds the new process's start: loading thousands of
// certificates takes seconds, not minutes.
const upgradeTimeout = 60 * time.Second

// upgrade runs one zero-downtime upgrade and, on success, starts this
// process's drain.
func (p *process) upgrade() (*UpgradeResult, error) {
	if !p.upgradeMu.TryLock() {
		return nil, conflict("an upgrade is already in progress")
	}
	defer p.upgradeMu.Unlock()
	if p.upgraded {
		return nil, conflict("this process was upgraded already and is draining")
	}
	if p.o.ConfigFile == "" {
		return nil, conflict("upgrade needs a config file (sluice run -c FILE): the embedded demo config's backend lives in this process")
	}
	// No change may slip in between the state we hand over and the new
	// process taking over: hold the change lock throughout.
	p.ctrl.mu.Lock()
	defer p.ctrl.mu.Unlock()

	p.log.Info("upgrade: starting the new process", "binary", p.exe)
	files, err := p.srv.SocketFiles()
	if err != nil {
		return nil, errorf(http.StatusServiceUnavailable, "upgrade: %v", err)
	}
	closeFiles := func() {
		for _, f := range files {
			f.Close()
		}
	}
	if p.api != nil {
		f, err := p.api.File()
		if err != nil {
			closeFiles()
			return nil, errorf(http.StatusInternalServerError, "upgrade: admin socket: %v", err)
		}
		files[adminFD] = f
	}
	live := p.srv.Live()
	statePath := filepath.Join(os.TempDir(), fmt.Sprintf("sluice-upgrade-%d-%d.toml", os.Getpid(), time.Now().UnixNano()))
	if err := state.Save(statePath, live); err != nil {
		closeFiles()
		return nil, errorf(http.StatusInternalServerError, "upgrade: writing the live state: %v", err)
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		closeFiles()
		os.Remove(statePath)
		return nil, errorf(http.StatusInternalServerError, "upgrade: %v", err)
	}
	defer readyR.Close()

	cmd := exec.Command(p.exe, p.o.Args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{readyW}
	var fds []string
	for name, f := range files {
		fds = append(fds, name+"="+strconv.Itoa(3+len(cmd.ExtraFiles)))
		cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	}
	cmd.Env = append(os.Environ(), envFDs+"="+strings.Join(fds, ";"), envReady+"=3", envState+"="+statePath)
	err = cmd.Start()
	readyW.Close()
	closeFiles()
	if err != nil {
		os.Remove(statePath)
		return nil, errorf(http.StatusInternalServerError, "upgrade: starting %s: %v", p.exe, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()

	readyR.SetReadDeadline(time.Now().Add(upgradeTimeout))
	line, err := bufio.NewReader(readyR).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready ") {
		cmd.Process.Kill()
		<-exited
		os.Remove(statePath)
		why := "it exited before it was ready (its log says why)"
		if errors.Is(err, os.ErrDeadlineExceeded) {
			why = fmt.Sprintf("it was not ready within %s", upgradeTimeout)
		}
		p.log.Error("upgrade failed: the new process was stopped; this one goes on serving", "why", why)
		return nil, errorf(http.StatusInternalServerError, "upgrade failed: the new process (%s) was stopped: %s; this process goes on serving", p.exe, why)
	}
	newPID := cmd.Process.Pid
	p.upgraded = true
	p.log.Info("upgrade: the new process is ready; this one stops accepting and drains", "new_pid", newPID)
	if p.api != nil {
		// The socket file is the new process's now; stop accepting on our
		// copy at once so every new admin request reaches it.
		p.api.HandedOff()
		p.api.ln.Close()
	}
	p.requestShutdown(false)
	return &UpgradeResult{OldPID: os.Getpid(), NewPID: newPID}, nil
}

// inheritance is what a process started by an upgrade received.
type inheritance struct {
	listeners map[string]net.Listener
	metrics   net.Listener
	admin     *net.UnixListener
	statePath string
	ready     *os.File
	// parent is the previous process's live config (its top-level keys
	// tell which socket the inherited metrics and admin sockets are).
	parent *config.Config
}

// takeInheritance reads the hand-over from the environment (nothing when
// this process was not started by an upgrade).
func takeInheritance() (*inheritance, error) {
	inh := &inheritance{listeners: map[string]net.Listener{}}
	spec, ok := os.LookupEnv(envFDs)
	if !ok {
		return inh, nil
	}
	ready, state := os.Getenv(envReady), os.Getenv(envState)
	os.Unsetenv(envFDs)
	os.Unsetenv(envReady)
	os.Unsetenv(envState)
	inh.statePath = state
	if fd, err := strconv.Atoi(ready); err == nil {
		inh.ready = os.NewFile(uintptr(fd), "upgrade-ready")
	}
	entries, err := parseFDSpec(spec)
	if err != nil {
		inh.close()
		return nil, err
	}
	for _, ent := range entries {
		name, fd := ent.name, ent.fd
		f := os.NewFile(uintptr(fd), name)
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil {
			inh.close()
			return nil, fmt.Errorf("inherited socket %s: %w", name, err)
		}
		switch name {
		case adminFD:
			ul, ok := ln.(*net.UnixListener)
			if !ok {
				ln.Close()
				continue
			}
			ul.SetUnlinkOnClose(false)
			inh.admin = ul
		case server.MetricsSocket:
			inh.metrics = ln
		default:
			inh.listeners[name] = ln
		}
	}
	return inh, nil
}

// fdEntry is one inherited socket: its name and descriptor.
type fdEntry struct {
	name string
	fd   int
}

// parseFDSpec parses SLUICE_UPGRADE_FDS ("name=fd;name=fd"). Names are
// listener addresses, "metrics" or "admin", each at most once; descriptors
// are those os/exec gives ExtraFiles (3 and up), each at most once.
func parseFDSpec(spec string) ([]fdEntry, error) {
	var out []fdEntry
	names, fds := map[string]bool{}, map[int]bool{}
	for _, kv := range strings.Split(spec, ";") {
		if kv == "" {
			continue
		}
		name, fdText, ok := strings.Cut(kv, "=")
		fd, err := strconv.Atoi(fdText)
		switch {
		case !ok || err != nil || name == "":
			return nil, fmt.Errorf("%s: bad entry %q (want name=fd)", envFDs, kv)
		case fd < 3 || fd > 1<<16:
			return nil, fmt.Errorf("%s: %q: descriptor %d is not an inherited one", envFDs, kv, fd)
		case names[name] || fds[fd]:
			return nil, fmt.Errorf("%s: %q: named twice", envFDs, kv)
		}
		names[name], fds[fd] = true, true
		out = append(out, fdEntry{name, fd})
	}
	return out, nil
}

// closeUnused closes inherited sockets cfg does not use (a listener
// removed from the config file, metrics or admin turned off or moved).
func (inh *inheritance) closeUnused(cfg *config.Config) {
	want := map[string]bool{}
	for _, l := range cfg.Listeners {
		want[l.Address] = true
	}
	for addr, ln := range inh.listeners {
		if !want[addr] {
			ln.Close()
			delete(inh.listeners, addr)
		}
	}
	if inh.metrics != nil && (inh.parent == nil || cfg.MetricsAddress != inh.parent.MetricsAddress) {
		inh.metrics.Close()
		inh.metrics = nil
	}
	if inh.admin != nil && (inh.parent == nil || !samePath(cfg.AdminSocket, inh.parent.AdminSocket)) {
		// Moved or turned off: the old path is left to the old process,
		// which removes it when it stops.
		inh.admin.Close()
		inh.admin = nil
	}
}

// samePath reports whether two paths name the same file location.
func samePath(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

// close closes everything inherited (a start that failed).
func (inh *inheritance) close() {
	for _, ln := range inh.listeners {
		ln.Close()
	}
	closeListener(inh.metrics)
	if inh.admin != nil {
		inh.admin.Close()
	}
	if inh.ready != nil {
		inh.ready.Close()
	}
}
