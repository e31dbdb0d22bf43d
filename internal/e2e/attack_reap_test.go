package e2e

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/sluice-proxy/sluice/internal/config"
)

// Peers that hold resources by saying nothing, or next to nothing
// (DESIGN.md 3.6): the per-stream reapers and the SETTINGS timeout.

// TestAttackSlowMultiplex: a client opens every stream the connection
// allows and then says nothing on any of them. "pings": PINGs keep the
// connection busy (control frames reset no timer); "silent": not a single
// byte more, so nothing but the session's timer can run the reaper and
// flush its resets. Each stream is reaped after
// h2_stream_idle_timeout_seconds with RST_STREAM(CANCEL), logged
// h2_idle_timeout, counted, and its slot serves a request again.
func TestAttackSlowMultiplex(t *testing.T) {
	t.Parallel()
	at := startAttackTarget(t, func(l *config.Listener) {
		l.H2MaxConcurrentStreams = 10
		l.H2StreamIdleTimeout = 500 * time.Millisecond
		l.BackTimeout = 20 * time.Second
	})
	good := serveGoodClient(t, at.addr)
	for i, pings := range []bool{true, false} {
		a := dialAttacker(t, at.addr, 0)
		b := newBurst()
		for id := uint32(1); id <= 19; id += 2 {
			b.headers(id, false, a.reqBlock("POST", "/attack/silent"))
		}
		a.send(b)
		stop := make(chan struct{})
		pinger := make(chan struct{})
		go func() {
			defer close(pinger)
			for i := 0; pings && i < 200; i++ {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				b := newBurst()
				b.fr.WritePing(false, [8]byte{1})
				if a.send(b) != nil {
					return
				}
			}
		}()
		reaped := map[uint32]bool{}
		for len(reaped) < 10 {
			switch f := a.read().(type) {
			case *http2.RSTStreamFrame:
				if f.ErrCode != http2.ErrCodeCancel || reaped[f.StreamID] {
					t.Fatalf("RST_STREAM(%v) on stream %d", f.ErrCode, f.StreamID)
				}
				reaped[f.StreamID] = true
			case *http2.GoAwayFrame:
				t.Fatalf("GOAWAY(%v)", f.ErrCode)
			}
		}
		close(stop)
		<-pinger
		at.wantMetric(t, float64(10*(i+1)), "sluice_h2_streams_reaped_total", "reason", "idle_timeout")
		// The slots are free: the same connection is served again.
		a.request(21, "GET", "/good", true)
		if status, body, _ := a.waitStream(21); status != "200" || string(body) != "good" {
			t.Fatalf("request after the reaps: %s %q", status, body)
		}
	}
	// Each reaped stream is logged once its backend exchange has been
	// abandoned, which happens just after the reset.
	Eventually(t, "20 reaped streams logged h2_idle_timeout", func() bool {
		n := 0
		for _, r := range h2Records(t, at.AccessLog()) {
			if r.str("path") == "/attack/silent" {
				if r.str("message") != "h2_idle_timeout" || r.str("reset_code") != "CANCEL" {
					t.Fatalf("reaped stream logged as %v", r)
				}
				n++
			}
		}
		return n == 20
	})
	good.check()
}

// TestAttackWindowUpdateDrip: a client that opens its receive window one
// octet at a time (each WINDOW_UPDATE(+1) lets one octet of DATA out, so
// the stream is never silent) keeps a response, its buffers and its
// backend connection alive forever unless the window stall is judged by
// progress: under 16 KiB sent since the stall began, the stream is reaped
// after h2_stream_idle_timeout_seconds (logged h2_window_stall, counted
// as window_stall and stall_budget).
func TestAttackWindowUpdateDrip(t *testing.T) {
	t.Parallel()
	at := startAttackTarget(t, func(l *config.Listener) {
		l.H2StreamIdleTimeout = time.Second
		l.BackTimeout = 20 * time.Second
	})
	good := serveGoodClient(t, at.addr)
	a := dialAttacker(t, at.addr, 1)
	a.request(1, "GET", "/big", true)
	dripped := 0
	for i := 0; ; i++ {
		if i == 200 {
			t.Fatalf("not reaped after %d drips", i)
		}
		b := newBurst()
		b.fr.WriteWindowUpdate(1, 1)
		time.Sleep(50 * time.Millisecond)
		if a.send(b) != nil {
			t.Fatal("connection closed")
		}
		rst := false
		for !rst {
			f := a.read()
			switch f := f.(type) {
			case *http2.DataFrame:
				dripped += len(f.Data())
			case *http2.RSTStreamFrame:
				if f.StreamID != 1 || f.ErrCode != http2.ErrCodeCancel {
					t.Fatalf("RST_STREAM(%v) on %d", f.ErrCode, f.StreamID)
				}
				rst = true
			case *http2.GoAwayFrame:
				t.Fatalf("GOAWAY(%v)", f.ErrCode)
			}
			if _, ok := f.(*http2.DataFrame); ok {
				break
			}
		}
		if rst {
			break
		}
	}
	if dripped < 3 {
		t.Errorf("only %d octets dripped out before the reap", dripped)
	}
	at.wantMetric(t, 1, "sluice_h2_streams_reaped_total", "reason", "window_stall")
	at.wantMetric(t, 1, "sluice_h2_streams_reaped_total", "reason", "stall_budget")
	rec := h2WaitRecord(t, at.Sluice, func(r h2Record) bool { return r.str("path") == "/big" })
	if rec.str("message") != "h2_window_stall" || rec.str("reset_code") != "CANCEL" {
		t.Errorf("reaped stream logged as %v", rec)
	}
	good.check()
}

// TestAttackSettingsNeverAcked: a client that never acknowledges our
// SETTINGS (so we cannot know which limits it applies) is cut off with
// GOAWAY(SETTINGS_TIMEOUT) (RFC 9113 6.5.3), however busy it keeps the
// connection otherwise.
func TestAttackSettingsNeverAcked(t *testing.T) {
	t.Parallel()
	at := startAttackTarget(t, func(l *config.Listener) { l.H2SettingsAckTimeout = 300 * time.Millisecond })
	good := serveGoodClient(t, at.addr)
	runs := good.during(2, func(int) {
		a := &attacker{rawH2: dialRaw(t, at.addr, 0, false)}
		a.henc = hpack.NewEncoder(&a.hbuf)
		go func() {
			for i := 0; i < 40; i++ {
				b := newBurst()
				b.fr.WritePing(false, [8]byte{byte(i)})
				if a.send(b) != nil {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
		a.wantGoAway(t, http2.ErrCodeSettingsTimeout)
	})
	at.wantMetric(t, float64(runs), "sluice_h2_goaway_sent_total", "code", "SETTINGS_TIMEOUT")
	good.check()
}

// stallingH2Backend is an h2c backend that never opens its stream
// windows (SETTINGS_INITIAL_WINDOW_SIZE 0) and never answers; with drip
// set it grants one octet per stream every 50 ms. It records the
// RST_STREAM frames it receives.
type stallingH2Backend struct {
	Addr   string
	mu     sync.Mutex
	resets map[uint32]http2.ErrCode
}

func startStallingH2Backend(t *testing.T, drip bool) *stallingH2Backend {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	sb := &stallingH2Backend{Addr: ln.Addr().String(), resets: map[uint32]http2.ErrCode{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go sb.serve(c, drip)
		}
	}()
	return sb
}

func (sb *stallingH2Backend) serve(c net.Conn, drip bool) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadFull(c, make([]byte, len(http2.ClientPreface))); err != nil {
		return
	}
	var wmu sync.Mutex
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	done := make(chan struct{})
	defer close(done)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				wmu.Lock()
				fr.WriteSettingsAck()
				wmu.Unlock()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				wmu.Lock()
				fr.WritePing(true, f.Data)
				wmu.Unlock()
			}
		case *http2.MetaHeadersFrame:
			if drip {
				id := f.StreamID
				go func() {
					for i := 0; i < 400; i++ {
						select {
						case <-done:
							return
						case <-time.After(50 * time.Millisecond):
						}
						wmu.Lock()
						err := fr.WriteWindowUpdate(id, 1)
						wmu.Unlock()
						if err != nil {
							return
						}
					}
				}()
			}
		case *http2.RSTStreamFrame:
			sb.mu.Lock()
			sb.resets[f.StreamID] = f.ErrCode
			sb.mu.Unlock()
		}
	}
}

func (sb *stallingH2Backend) reset(code http2.ErrCode) bool {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	for _, c := range sb.resets {
		if c == code {
			return true
		}
	}
	return false
}

// TestAttackUploadStalledByH2Backend: the window-stall reaper guards the
// other direction too. An upload toward an HTTP/2 backend that keeps its
// stream window shut ("shut"), or opens it an octet at a time ("drip"),
// would hold the client's request, its buffers and a backend stream
// slot; after h2_stream_idle_timeout_seconds the backend stream is reset
// (CANCEL) and the client answered 502, logged h2_window_stall.
func TestAttackUploadStalledByH2Backend(t *testing.T) {
	t.Parallel()
	for _, drip := range []bool{false, true} {
		name := map[bool]string{false: "shut", true: "drip"}[drip]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sb := startStallingH2Backend(t, drip)
			s := StartWith(t, `
access_log = "stdout"
[[listeners]]
address = "@L1@"
protocol = "http"
[clusters.app]
backend_protocol = "h2c"
frontends = [ { address = "@L1@", hostname = "127.0.0.1" } ]
backends = [ { address = "@BE@" } ]
`, map[string]string{"BE": sb.Addr}, func(c *config.Config) {
				for _, l := range c.Listeners {
					l.H2StreamIdleTimeout = 500 * time.Millisecond
					l.BackTimeout = 20 * time.Second
				}
			})
			for _, client := range []*http.Client{H1Client(s.Addr("@L1@"), nil, ""), H2CClient(s.Addr("@L1@"))} {
				resp, err := client.Post("http://127.0.0.1/upload", "application/octet-stream", bytes.NewReader(make([]byte, 200<<10)))
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 502 {
					t.Fatalf("stalled upload answered %d %q, want 502", resp.StatusCode, body)
				}
			}
			Eventually(t, "the backend stream reset with CANCEL", func() bool { return sb.reset(http2.ErrCodeCancel) })
			reaped := s.MetricValue("sluice_backend_h2_streams_reaped_total", map[string]string{"cluster": "app", "reason": "window_stall"})
			if reaped != 2 {
				t.Errorf("sluice_backend_h2_streams_reaped_total{reason=window_stall} = %v, want 2", reaped)
			}
			n := 0
			for _, l := range s.WaitAccessLog(2) {
				if strings.Contains(l, `"message":"h2_window_stall"`) && strings.Contains(l, `"status":502`) {
					n++
				}
			}
			if n != 2 {
				t.Errorf("access log: %d lines say 502 h2_window_stall, want 2:\n%s", n, strings.Join(s.AccessLog(), "\n"))
			}
		})
	}
}
