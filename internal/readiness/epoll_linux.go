package readiness

import (
	"fmt"
	"os"
	"sync"
	"syscall"

	"github.com/sluice-proxy/sluice/internal/gopool"
)

// Poller is an epoll set of idle sockets and the goroutine that waits on
// it. Sockets are added one-shot and level-triggered: an event disarms
// the socket, and arming it again while bytes are already there reports
// it at once, so nothing that arrives between the last read and the arm
// is missed.
//
// The waiting goroutine parks in Go's own poller: the epoll descriptor is
// itself pollable, so it is handed to Go as a non-blocking file, and the
// goroutine collects events only when Go reports it readable.
type Poller struct {
	epfd int
	file *os.File // epfd, registered with Go's poller

	mu      sync.Mutex
	waiting map[uint64]*Registration
	next    uint64
}

// New starts a Poller.
func New() (*Poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("readiness: epoll_create1: %w", err)
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("readiness: epoll descriptor: %w", err)
	}
	p := &Poller{epfd: epfd, file: os.NewFile(uintptr(epfd), "readiness-epoll"), waiting: make(map[uint64]*Registration)}
	rc, err := p.file.SyscallConn()
	if err != nil {
		p.file.Close()
		return nil, fmt.Errorf("readiness: epoll descriptor: %w", err)
	}
	go p.loop(rc)
	return p, nil
}

// events is how many ready sockets one epoll_wait collects.
const events = 128

// loop runs the callbacks of sockets that became readable, forever (a
// Poller lives as long as the process).
func (p *Poller) loop(rc syscall.RawConn) {
	evs := make([]syscall.EpollEvent, events)
	var n int
	collect := func(fd uintptr) bool {
		for {
			var err error
			n, err = syscall.EpollWait(int(fd), evs, 0)
			if err == syscall.EINTR {
				continue
			}
			return n > 0 || err != nil
		}
	}
	for {
		if err := rc.Read(collect); err != nil {
			return // the descriptor was closed: not while the process runs
		}
		for i := range evs[:n] {
			token := uint64(uint32(evs[i].Fd)) | uint64(uint32(evs[i].Pad))<<32
			if r := p.lookup(token); r != nil {
				gopool.Go(r.ready)
			}
		}
	}
}

// Arm asks for the callback to run once when the socket is readable, or
// at once if it already is. Errors mean the socket is closed or unusable:
// the caller is to treat the connection as failed. It allocates nothing:
// readers arm once per burst of requests.
func (r *Registration) Arm() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return errClosed
	}
	if r.ctl == nil {
		r.ctl = r.ctlFD
	}
	r.ctlErr = nil
	err := r.rc.Control(r.ctl)
	if err == nil {
		err = r.ctlErr
	}
	if err != nil {
		return fmt.Errorf("readiness: arm: %w", err)
	}
	r.added = true
	return nil
}

// ctlFD adds or re-arms fd, one-shot, with the registration's token as
// the event's data; under r.mu, from Arm.
func (r *Registration) ctlFD(fd uintptr) {
	r.ev = syscall.EpollEvent{
		Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT,
		Fd:     int32(uint32(r.token)),
		Pad:    int32(uint32(r.token >> 32)),
	}
	op := syscall.EPOLL_CTL_MOD
	if !r.added {
		op = syscall.EPOLL_CTL_ADD
	}
	r.ctlErr = syscall.EpollCtl(r.p.epfd, op, int(fd), &r.ev)
}

// remove takes fd out of the epoll set.
func (p *Poller) remove(fd int) {
	syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
}

type epollEvent = syscall.EpollEvent
