package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/sluice-proxy/sluice/internal/config"
	"github.com/sluice-proxy/sluice/internal/state"
)

// Frame-level tests of the graceful drain through a real sluice (DESIGN.md
// 3.9, RFC 9113 6.8): a raw HTTP/2 client records every frame sluice sends
// while its listener drains.

const drainCfg = `
access_log = "off"
[[listeners]]
address = "@L1@"
protocol = "http"
[clusters.app]
frontends = [{ address = "@L1@", hostname = "app.test" }]
backends = [{ address = "@BE@" }]
`

// drainBackend answers /upload with the size of the body it read, /get
// with "hello", and holds /hang until release is closed; arrived gets a
// value when a /hang request reaches it.
type drainBackend struct {
	addr    string
	arrived chan struct{}
	release chan struct{}
}

func startDrainBackend(t *testing.T) *drainBackend {
	t.Helper()
	b := &drainBackend{arrived: make(chan struct{}, 4), release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/upload":
			n, _ := io.Copy(io.Discard, r.Body)
			fmt.Fprintf(w, "got %d", n)
		case "/hang":
			b.arrived <- struct{}{}
			select {
			case <-b.release:
			case <-r.Context().Done():
			}
			fmt.Fprint(w, "released")
		default:
			fmt.Fprint(w, "hello")
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		select {
		case <-b.release:
		default:
			close(b.release)
		}
	})
	b.addr = strings.TrimPrefix(srv.URL, "http://")
	return b
}

// startDrain starts sluice with the drain deadline set (0 = wait forever).
func startDrain(t *testing.T, deadline time.Duration) (*Sluice, *drainBackend) {
	t.Helper()
	be := startDrainBackend(t)
	s := StartWith(t, drainCfg, map[string]string{"BE": be.addr}, func(c *config.Config) {
		c.Listeners[0].H2GracefulShutdownDeadline = deadline
	})
	return s, be
}

// sync makes sure sluice processed everything sent before: PING is
// answered in order.
func (f *FrameConn) sync(t *testing.T) {
	t.Helper()
	data := [8]byte{'d', 'r', 'a', 'i', 'n'}
	f.mu.Lock()
	f.fr.WritePing(false, data)
	f.mu.Unlock()
	for {
		raw, err := f.Next(10 * time.Second)
		if err != nil {
			t.Fatalf("waiting for the PING ACK: %v", err)
		}
		if p, ok := raw.(*http2.PingFrame); ok && p.IsAck() && p.Data == data {
			return
		}
		if _, ok := raw.(*http2.SettingsFrame); ok {
			continue
		}
		if _, ok := raw.(*http2.WindowUpdateFrame); ok {
			continue
		}
		t.Fatalf("unexpected frame before the PING ACK: %v", raw)
	}
}

// expectFrame reads the next meaningful frame and checks it is want.
func expectFrame(t *testing.T, f *FrameConn, what string, match func(Frame) bool) Frame {
	t.Helper()
	fr, err := f.NextFrame(20 * time.Second)
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	if !match(fr) {
		t.Fatalf("got %v, want %s", fr, what)
	}
	return fr
}

func isGoAway(last uint32) func(Frame) bool {
	return func(fr Frame) bool {
		return fr.Type == http2.FrameGoAway && fr.LastStreamID == last && fr.Code == http2.ErrCodeNo
	}
}

// TestDrainDoubleGoAway: on shutdown sluice sends GOAWAY(2^31-1,
// NO_ERROR), keeps reading the body of a request in flight and accepts a
// stream opened before the client saw it, answers both, then sends
// GOAWAY(NO_ERROR) naming the last stream it processed (3), and closes.
func TestDrainDoubleGoAway(t *testing.T) {
	s, _ := startDrain(t, 10*time.Second)
	f := DialFrames(t, s.Addr("@L1@"))
	f.Request(1, "POST", "app.test", "/upload", false)
	f.Data(1, make([]byte, 1000), false)
	f.sync(t)

	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		shut <- s.Shutdown(ctx)
	}()
	// RFC 9113 6.8: the first GOAWAY announces the shutdown with the
	// largest stream id, so streams already on their way are not refused.
	expectFrame(t, f, "GOAWAY(2147483647, NO_ERROR)", isGoAway(1<<31-1))

	// A stream the client opens now is processed, and the body of stream
	// 1 is still read.
	f.Request(3, "GET", "app.test", "/get", true)
	f.Data(1, make([]byte, 500), true)
	got := map[uint32]string{}
	ended := map[uint32]bool{}
	for !ended[1] || !ended[3] {
		fr := expectFrame(t, f, "the responses of streams 1 and 3", func(fr Frame) bool {
			return (fr.Type == http2.FrameHeaders || fr.Type == http2.FrameData) && (fr.StreamID == 1 || fr.StreamID == 3)
		})
		if fr.Type == http2.FrameHeaders && fr.Fields[":status"] != "200" {
			t.Fatalf("stream %d: status %s", fr.StreamID, fr.Fields[":status"])
		}
		got[fr.StreamID] += string(fr.Data)
		ended[fr.StreamID] = fr.EndStream
	}
	if got[1] != "got 1500" || got[3] != "hello" {
		t.Errorf("bodies: %v", got)
	}
	// The final GOAWAY names the highest stream processed.
	expectFrame(t, f, "GOAWAY(3, NO_ERROR)", isGoAway(3))
	if _, err := f.NextFrame(10 * time.Second); !IsClosed(err) {
		t.Errorf("after the final GOAWAY: %v, want the connection closed", err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v, want a graceful end (no force-close)", err)
	}
}

// TestDrainDeadlineForceCloses: a stream that never finishes is cut when
// h2_graceful_shutdown_deadline_seconds runs out; here the drain comes
// from removing the listener, which drains like a shutdown.
func TestDrainDeadlineForceCloses(t *testing.T) {
	s, be := startDrain(t, 300*time.Millisecond)
	f := DialFrames(t, s.Addr("@L1@"))
	f.Request(1, "GET", "app.test", "/hang", true)
	<-be.arrived

	next := state.CloneConfig(s.Live())
	next.Listeners = nil
	next.Clusters[0].Frontends = nil
	if _, err := s.Reconfigure(next); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	expectFrame(t, f, "GOAWAY(2147483647, NO_ERROR)", isGoAway(1<<31-1))
	var frames []Frame
	for {
		fr, err := f.NextFrame(20 * time.Second)
		if IsClosed(err) {
			break
		}
		if err != nil {
			t.Fatalf("waiting for the deadline to close the connection: %v (frames %v)", err, frames)
		}
		frames = append(frames, fr)
	}
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Errorf("closed after %v, before the 300ms deadline", waited)
	}
	for _, fr := range frames {
		if fr.StreamID == 1 && (fr.Type == http2.FrameHeaders || fr.Type == http2.FrameData) {
			t.Errorf("stream 1 got a response (%v): the deadline should have cut it", fr)
		}
	}
	if len(frames) == 0 || frames[len(frames)-1].Type != http2.FrameGoAway {
		t.Errorf("frames before the close: %v, want a final GOAWAY", frames)
	}
}

// TestDrainDeadlineZeroWaits: with h2_graceful_shutdown_deadline_seconds
// = 0 the drain waits for the stream however long it takes, then ends
// gracefully.
func TestDrainDeadlineZeroWaits(t *testing.T) {
	s, be := startDrain(t, 0)
	f := DialFrames(t, s.Addr("@L1@"))
	f.Request(1, "GET", "app.test", "/hang", true)
	<-be.arrived
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		shut <- s.Shutdown(ctx)
	}()
	expectFrame(t, f, "GOAWAY(2147483647, NO_ERROR)", isGoAway(1<<31-1))
	// Far longer than the 300ms the previous test's deadline allowed:
	// nothing happens, the stream stays open.
	if fr, err := f.NextFrame(1500 * time.Millisecond); !os.IsTimeout(err) {
		t.Fatalf("while waiting: %v %v, want silence (no deadline)", fr, err)
	}
	close(be.release)
	fr := expectFrame(t, f, "the response to stream 1", func(fr Frame) bool { return fr.Type == http2.FrameHeaders && fr.StreamID == 1 })
	if fr.Fields[":status"] != "200" {
		t.Errorf("status %s", fr.Fields[":status"])
	}
	for {
		fr, err := f.NextFrame(10 * time.Second)
		if err != nil {
			t.Fatalf("waiting for the final GOAWAY: %v", err)
		}
		if fr.Type == http2.FrameGoAway {
			if fr.LastStreamID != 1 || fr.Code != http2.ErrCodeNo {
				t.Errorf("final %v, want GOAWAY(1, NO_ERROR)", fr)
			}
			break
		}
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestPeerGoAwayDoesNotArmDeadline: a client's GOAWAY does not start our
// drain deadline: its open stream is still answered long after.
func TestPeerGoAwayDoesNotArmDeadline(t *testing.T) {
	s, be := startDrain(t, 300*time.Millisecond)
	f := DialFrames(t, s.Addr("@L1@"))
	f.Request(1, "GET", "app.test", "/hang", true)
	<-be.arrived
	f.mu.Lock()
	f.fr.WriteGoAway(0, http2.ErrCodeNo, nil)
	f.mu.Unlock()
	if fr, err := f.NextFrame(1 * time.Second); !os.IsTimeout(err) {
		t.Fatalf("after our GOAWAY: %v %v, want silence", fr, err)
	}
	close(be.release)
	fr := expectFrame(t, f, "the response to stream 1", func(fr Frame) bool { return fr.StreamID == 1 })
	if fr.Type != http2.FrameHeaders || fr.Fields[":status"] != "200" {
		t.Errorf("got %v, want the response", fr)
	}
	_ = s
}
