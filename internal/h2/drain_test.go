package h2

import (
	"testing"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// Graceful drain (RFC 9113 6.8, DESIGN.md 3.9): GOAWAY(2^31-1) first, the
// streams in flight finish, then GOAWAY(NO_ERROR, real last id).

func TestDrainTwoGoAways(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.writeHeaders(1, false, postFields())
	st.do(st.c.StartDrain)
	st.wantGoAway(frame.MaxStreamID, frame.NoError)
	st.wantNoFrame()
	if !st.c.Draining() || st.c.ShouldClose() {
		t.Fatalf("draining %v, should close %v", st.c.Draining(), st.c.ShouldClose())
	}
	// A second drain request sends nothing (one initial GOAWAY).
	st.do(st.c.StartDrain)
	st.wantNoFrame()

	// A stream the client opened before it saw the GOAWAY is served.
	st.writeRequest(3)
	st.h.request(3)
	// The request body in flight is still read.
	st.writeData(1, true, []byte("body"))
	if string(st.h.data[1]) != "body" {
		t.Fatalf("body during drain %q", st.h.data[1])
	}
	st.respond(1, 204, true)
	st.wantStatus(1, "204", true)
	st.wantNoFrame() // stream 3 still open
	st.respond(3, 204, true)
	st.wantStatus(3, "204", true)
	st.wantGoAway(3, frame.NoError)
	if !st.c.ShouldClose() {
		t.Fatalf("drained connection not closing")
	}
	st.do(st.c.StartDrain)
	st.wantNoFrame()
}

func TestDrainIdle(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.writeRequest(1)
	st.respond(1, 204, true)
	st.wantStatus(1, "204", true)
	st.do(st.c.StartDrain)
	st.wantGoAway(frame.MaxStreamID, frame.NoError)
	st.wantGoAway(1, frame.NoError)
	if !st.c.ShouldClose() {
		t.Fatalf("idle drain not closing")
	}
}

// TestNoStreamAfterFinalGoAway: streams above the final GOAWAY's last id
// are ignored, and so are the frames the client had in flight for them
// (RFC 9113 6.8); the connection is not torn down for it.
func TestNoStreamAfterFinalGoAway(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.writeRequest(1)
	st.respond(1, 204, true)
	st.wantStatus(1, "204", true)
	st.do(st.c.StartDrain)
	st.wantGoAway(frame.MaxStreamID, frame.NoError)
	st.wantGoAway(1, frame.NoError)
	// The client had streams 3 and 5 in flight.
	st.writeHeaders(3, false, postFields())
	st.writeData(3, true, []byte("ignored"))
	st.writeHeaders(5, true, reqFields())
	st.writeRST(5, frame.Cancel)
	st.writeWindowUpdate(3, 10)
	st.wantNoFrame()
	if len(st.h.requests) != 1 {
		t.Fatalf("requests after the final GOAWAY: %v", st.h.requests)
	}
	if st.err != nil {
		t.Fatalf("connection error %v for frames in flight", st.err)
	}
	// A real error still gets a GOAWAY, whose last id does not grow
	// past the one already sent (RFC 9113 6.8).
	st.writeWindowUpdate(0, 0)
	st.wantGoAway(1, frame.ProtocolError)
}

// TestGoAwayNow: GoAway ends the connection at once with the real last id,
// closing what is open.
func TestGoAwayNow(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.writeHeaders(1, false, postFields())
	st.writeHeaders(3, false, postFields())
	st.do(func() { st.c.GoAway(frame.EnhanceYourCalm, []byte("bye")) })
	st.wantGoAway(3, frame.EnhanceYourCalm)
	st.wantClosed(1, frame.EnhanceYourCalm)
	st.wantClosed(3, frame.EnhanceYourCalm)
	if !st.c.ShouldClose() {
		t.Fatalf("not closing")
	}
	st.do(func() { st.c.GoAway(frame.NoError, nil) })
	st.do(st.c.StartDrain)
	st.wantNoFrame()
}

// TestDrainThenGoAway: a drain followed by a hard stop sends one more
// GOAWAY with the real last id, never a larger one.
func TestDrainThenGoAway(t *testing.T) {
	st := newServerTester(t)
	st.greet()
	st.writeHeaders(1, false, postFields())
	st.do(st.c.StartDrain)
	st.wantGoAway(frame.MaxStreamID, frame.NoError)
	st.do(func() { st.c.GoAway(frame.NoError, nil) })
	st.wantGoAway(1, frame.NoError)
	st.wantClosed(1, frame.NoError)
}
