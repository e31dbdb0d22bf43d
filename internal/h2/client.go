package h2

import (
	"errors"
	"time"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// Client-role operations: a backend connection opens streams toward the
// server and keeps the connection's health in check with PINGs.

// Errors of OpenStream. None of them means the request reached the peer:
// the caller may send it on another connection.
var (
	ErrGoingAway          = errors.New("http2: connection is going away")
	ErrNoStreamSlot       = errors.New("http2: peer's MAX_CONCURRENT_STREAMS reached")
	ErrStreamIDsExhausted = errors.New("http2: stream identifiers exhausted")
)

// assumedPeerMCS stands in for the peer's SETTINGS_MAX_CONCURRENT_STREAMS
// until its SETTINGS arrive (RFC 9113 5.1.2 says "unlimited", which would
// let a burst open more streams than the server will take).
const assumedPeerMCS = 100

// streamIDReserve: a connection is retired gracefully while it still has
// this many stream ids left, rather than running into the 2^31 limit
// (RFC 9113 5.1.1) mid-burst.
const streamIDReserve = 1 << 10

// MaxOpenable returns how many more streams may be opened now.
func (c *Conn) MaxOpenable() int {
	if c.cfg.Role != Client || c.state == connClosed || c.peerGoAway || c.goAwaySent {
		return 0
	}
	mcs := int64(c.peerMCS)
	if !c.peerSettingsSeen {
		mcs = assumedPeerMCS
	}
	room := mcs - int64(c.activeOurs)
	ids := (int64(frame.MaxStreamID) - streamIDReserve - int64(c.nextLocal)) / 2
	room = min(room, ids)
	if room < 0 {
		return 0
	}
	return int(room)
}

// Retiring reports whether the connection must take no new streams: the
// peer sent GOAWAY, we did, it is closed, or its stream ids run out. It
// then closes once its streams end.
func (c *Conn) Retiring() bool {
	return c.state == connClosed || c.peerGoAway || c.goAwaySent ||
		int64(c.nextLocal) >= int64(frame.MaxStreamID)-streamIDReserve
}

// OpenStream opens a stream carrying a request head (client role). fields
// hold the pseudo-fields first, then the regular fields, names lowercase.
func (c *Conn) OpenStream(fields []Field, endStream bool) (*Stream, error) {
	c.wake()
	if c.cfg.Role != Client {
		panic("h2: internal error: OpenStream on a server connection")
	}
	if c.state == connClosed || c.peerGoAway || c.goAwaySent {
		return nil, ErrGoingAway
	}
	if c.MaxOpenable() <= 0 {
		if c.Retiring() {
			return nil, ErrStreamIDsExhausted
		}
		return nil, ErrNoStreamSlot
	}
	c.t = c.now()
	id := c.nextLocal
	c.nextLocal += 2
	s := c.newStream(id)
	c.activeOurs++
	c.writeHeaders(s, 0, fields, endStream)
	s.headersSent = true
	if endStream {
		c.sentEndStream(s, false)
	}
	return s, nil
}

// Ping sends a PING unless one is outstanding; PingRTT reports the round
// trip once the ACK is back.
func (c *Conn) Ping() {
	c.wake()
	if c.pingOut || c.state == connClosed {
		return
	}
	c.t = c.now()
	c.pingOut = true
	c.pingSentAt = c.t
	c.pingData[0]++
	c.out = frame.AppendPing(c.out, false, c.pingData)
	c.obs.FrameSent(frame.TypePing)
}

// PingOutstanding reports whether a PING awaits its ACK, and since when.
func (c *Conn) PingOutstanding() (bool, time.Time) { return c.pingOut, c.pingSentAt }

// PingRTT is the round-trip time of the last acknowledged PING.
func (c *Conn) PingRTT() time.Duration { return c.lastPingRTT }

// LastFrameIn returns when the peer last sent any frame: the basis of the
// read-idle health check (a black-holed peer sends nothing, not even
// PING ACKs).
func (c *Conn) LastFrameIn() time.Time { return c.lastFrameIn }

// PeerSettingsSeen reports whether the peer's first SETTINGS arrived: for
// a backend connection, the end of the HTTP/2 handshake.
func (c *Conn) PeerSettingsSeen() bool { return c.peerSettingsSeen }
