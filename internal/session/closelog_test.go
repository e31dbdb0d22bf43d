package session

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/sluice-proxy/sluice/internal/backend"
	"github.com/sluice-proxy/sluice/internal/router"
)

// Close-path log severity (DESIGN.md 3.10), on a real session over
// net.Pipe: net.Pipe's writes complete only as the client reads, so a
// client that stops reading and hangs up leaves output unwritten at will.

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// heldBackend receives a value each time the silent backend of
// pipeSession(t, true) accepts a connection.
var heldBackend = make(chan struct{}, 16)

// pipeSession serves one HTTP/2 session on a pipe and returns the client
// end, the log, and a channel closed when the session has ended. With
// route, requests for live.test go to a backend that accepts and never
// answers.
func pipeSession(t *testing.T, route ...bool) (net.Conn, *logBuffer, chan struct{}) {
	t.Helper()
	logs := &logBuffer{}
	env := NewEnv(Env{Listener: "pipe", Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if len(route) > 0 && route[0] {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				bc, err := ln.Accept()
				if err != nil {
					return
				}
				t.Cleanup(func() { bc.Close() })
				heldBackend <- struct{}{}
			}
		}()
		be := backend.NewBackend("held", "held", ln.Addr().String(), 1, backend.Options{Metrics: env.Metrics})
		cl := backend.NewCluster("held", backend.ClusterOptions{Metrics: env.Metrics}, []*backend.Backend{be})
		table, err := router.Build([]router.Rule[*backend.Cluster]{{Hostname: "live.test", Path: "/", Target: cl}})
		if err != nil {
			t.Fatal(err)
		}
		env.Routes.Store(table)
	}
	server, client := net.Pipe()
	client.SetDeadline(time.Now().Add(10 * time.Second))
	ended := make(chan struct{})
	info := ConnInfo{Conn: server, ClientIP: []byte("192.0.2.1"), Client: "192.0.2.1:4321", Done: func() { close(ended) }}
	go env.ServeH2(info, nil)
	t.Cleanup(func() { client.Close() })
	return client, logs, ended
}

// greet reads the server's opening frames (SETTINGS, WINDOW_UPDATE) and
// sends the client preface and SETTINGS followed by extra frames, all in
// one write (on its own goroutine: the pipe is synchronous).
func greet(t *testing.T, c net.Conn, extra func(fr *http2.Framer)) (*http2.Framer, chan struct{}) {
	t.Helper()
	var out bytes.Buffer
	out.WriteString(http2.ClientPreface)
	w := http2.NewFramer(&out, nil)
	w.WriteSettings()
	if extra != nil {
		extra(w)
	}
	written := make(chan struct{})
	go func() {
		c.Write(out.Bytes()) // returns once the session read it all
		close(written)
	}()
	t.Cleanup(func() { <-written })
	fr := http2.NewFramer(nil, c)
	for _, want := range []http2.FrameType{http2.FrameSettings, http2.FrameWindowUpdate} {
		f, err := fr.ReadFrame()
		if err != nil || f.Header().Type != want {
			t.Fatalf("opening frame: %v %v, want %v", f, err, want)
		}
	}
	return fr, written
}

func waitEnd(t *testing.T, ended chan struct{}) {
	t.Helper()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not end")
	}
}

// closeLine returns the session's close-path log line.
func closeLine(t *testing.T, logs *logBuffer) string {
	t.Helper()
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `msg="h2 session closed`) {
			// The envelope is on the line (DESIGN.md 3.10).
			if !strings.Contains(l, " session=") || !strings.Contains(l, " proto=h2") || !strings.Contains(l, " peer=192.0.2.1:4321") {
				t.Errorf("close line without the session envelope: %s", l)
			}
			return l
		}
	}
	t.Fatalf("no close line in the log:\n%s", logs.String())
	return ""
}

func TestCloseLogSeverity(t *testing.T) {
	t.Run("clean", func(t *testing.T) {
		// Nothing owed: a client that hangs up on an idle connection.
		c, logs, ended := pipeSession(t)
		fr, _ := greet(t, c, nil)
		fr.ReadFrame() // SETTINGS ACK
		c.Close()
		waitEnd(t, ended)
		if l := closeLine(t, logs); !strings.Contains(l, "level=DEBUG") {
			t.Errorf("clean close logged %s", l)
		}
	})
	t.Run("unwritten_no_goaway", func(t *testing.T) {
		// The client hangs up before reading our answer to its SETTINGS:
		// output is lost and nothing explains it.
		c, logs, ended := pipeSession(t)
		_, written := greet(t, c, nil)
		<-written // the session read our SETTINGS: its ACK is owed
		c.Close()
		waitEnd(t, ended)
		if l := closeLine(t, logs); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "output unwritten") {
			t.Errorf("unexplained loss logged %s", l)
		}
	})
	t.Run("unwritten_after_goaway", func(t *testing.T) {
		// A PING flood earns a GOAWAY; the client hangs up without
		// reading it: the expected race after a GOAWAY, a warning.
		c, logs, ended := pipeSession(t)
		greet(t, c, func(w *http2.Framer) {
			for i := range 101 {
				w.WritePing(false, [8]byte{byte(i)})
			}
		})
		c.Read(make([]byte, 1))
		c.Close()
		waitEnd(t, ended)
		if l := closeLine(t, logs); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "goaway_sent=true") {
			t.Errorf("loss after GOAWAY logged %s", l)
		}
	})
	t.Run("live_streams", func(t *testing.T) {
		// A request still waiting for its backend when the connection
		// drops, with output owed: responses may be lost.
		c, logs, ended := pipeSession(t, true)
		var hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "live.test"}, {":path", "/"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		greet(t, c, func(w *http2.Framer) {
			w.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true, EndStream: true})
		})
		<-heldBackend // the request reached the backend, which never answers
		// A PING whose ACK the client never reads: output is owed when
		// it hangs up.
		var ping bytes.Buffer
		http2.NewFramer(&ping, nil).WritePing(false, [8]byte{1})
		c.Write(ping.Bytes()) // returns once the session read it
		c.Close()
		waitEnd(t, ended)
		if l := closeLine(t, logs); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "live streams and output unwritten") || !strings.Contains(l, "streams=1") {
			t.Errorf("close with a live stream logged %s", l)
		}
	})
}
