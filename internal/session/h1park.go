package session

import (
	"time"

	"github.com/sluice-proxy/sluice/internal/bufpool"
	"github.com/sluice-proxy/sluice/internal/gopool"
	"github.com/sluice-proxy/sluice/internal/h1"
	"github.com/sluice-proxy/sluice/internal/readiness"
)

// Parking an HTTP/1.1 session between keep-alive requests.
//
// A keep-alive connection idles far longer than it works, and while it
// waited in a read it kept its goroutine (whose stack an exchange and a
// TLS handshake had grown), its 32 KiB read buffer, its write buffer and
// its header slice: 26 KiB per idle plain connection and 66 KiB per TLS
// one, measured. Parked, it keeps none of them: the buffers go back to
// their pools, the socket waits in the readiness poller, and the goroutine
// returns. The next bytes resume the session on a pooled goroutine with
// fresh buffers; the idle timeout, a drain or a kill closes it instead.
//
// park moves from parkRunning to parkParked only on the session's own
// goroutine, and back only by a compare-and-swap: exactly one of the
// wakers (readable socket, idle timer, drain, kill) wins and owns the
// session from then on; the others do nothing.

const (
	parkRunning = iota
	parkParked
)

// parkAfter is how long a keep-alive connection waits in a read before
// it parks. Parking costs a few hand-offs (buffers to their pools and
// back, an epoll arm, a goroutine), which a client sending its next
// request at once would pay per request; one idle for longer is worth
// parking.
const parkAfter = 500 * time.Millisecond

// parkOutcome is what tryPark did.
type parkOutcome uint8

const (
	parked     parkOutcome = iota // the session is parked: its goroutine must return
	parkClosed                    // the connection failed or is closing
	parkNot                       // a drain is pending: the loop closes instead
)

// fieldSlices holds the header slices of parked sessions.
var fieldSlices = bufpool.Slices[h1.Field]{MaxCap: 256}

// mayPark reports whether this session can park (decided once).
func (s *h1Session) mayPark() bool {
	if s.parkable == 0 {
		s.parkable = -1
		if s.env.sim == nil && readiness.Default() != nil {
			if s.raw = rawConnOf(s.nc); s.raw != nil {
				s.parkable = 1
			}
		}
	}
	return s.parkable > 0
}

// tryPark parks the session, idle between requests after a read that
// timed out with nothing: crypto/tls holds no complete record it read
// ahead (the read would have returned it), so the socket's readiness
// tells all.
func (s *h1Session) tryPark() parkOutcome {
	if s.drainReq.Load() {
		return parkNot
	}
	if s.reg == nil {
		s.setUpParking()
	}
	s.giveBackBuffers()
	s.idleTimer.Reset(s.env.Limits.FrontTimeout - parkAfter)
	s.park.Store(parkParked)
	// A drain that came before the store saw the session running and
	// only set drainReq; after it, drain's own swap wins. Either way
	// exactly one side closes.
	if s.drainReq.Load() {
		return s.unpark()
	}
	if err := s.reg.Arm(); err != nil {
		return s.unpark()
	}
	return parked
}

// unpark takes a session back that its own goroutine was parking, when
// parking failed; if a waker got it first, it is theirs.
func (s *h1Session) unpark() parkOutcome {
	if !s.park.CompareAndSwap(parkParked, parkRunning) {
		return parked
	}
	s.idleTimer.Stop()
	s.takeBuffers()
	return parkClosed
}

// setUpParking registers the connection with the readiness poller, at
// its first park (mayPark said it can).
func (s *h1Session) setUpParking() {
	s.idleTimer = newStoppedTimer(s.finishParkedIfStill)
	s.reg = readiness.Default().Register(s.raw, s.onReadable)
}

// wake closes a parked session from another goroutine (drain, kill);
// false when it was not parked.
func (s *h1Session) wake() bool {
	if s.reg == nil || !s.park.CompareAndSwap(parkParked, parkRunning) {
		return false
	}
	gopool.Go(s.finish) // drain and kill are rare: the method value may allocate
	return true
}

// onReadable runs on a pooled goroutine when the parked socket has bytes
// (or hung up): the session resumes there.
func (s *h1Session) onReadable() {
	if !s.park.CompareAndSwap(parkParked, parkRunning) {
		return
	}
	s.idleTimer.Stop()
	s.takeBuffers()
	s.run(time.Time{})
}

// finishParkedIfStill is the idle timer's: a session still parked at the
// idle timeout closes.
func (s *h1Session) finishParkedIfStill() {
	if s.park.CompareAndSwap(parkParked, parkRunning) {
		s.finish()
	}
}

// newStoppedTimer is a timer that runs f when Reset and not stopped.
func newStoppedTimer(f func()) *time.Timer {
	t := time.AfterFunc(time.Hour, f)
	t.Stop()
	return t
}
