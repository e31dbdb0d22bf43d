package e2e

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// The lingering close (session/linger.go): when sluice answers and closes
// while the client is still sending, the client must read the answer, not
// a TCP reset caused by the bytes sluice never read.

// junkWriter sends n bytes on c in the background; sluice never reads
// most of them.
func junkWriter(c net.Conn, n int) chan error {
	done := make(chan error, 1)
	go func() {
		_, err := c.Write(bytes.Repeat([]byte("z"), n))
		done <- err
	}()
	return done
}

func TestLingerH1AnswerSurvivesUnreadBytes(t *testing.T) {
	big := bytes.Repeat([]byte("b"), 1<<20)
	be := StartBackend(t, func(w http.ResponseWriter, r *http.Request) { w.Write(big) })
	s := startOne(t, be.Addr, nil)
	for i := range 3 {
		c, err := net.Dial("tcp", s.Addr("@L1@"))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		// A request with a large answer, then a malformed head (a space
		// before the colon), answered 400 with the connection closed,
		// while the client is still writing. The client reads late, so
		// when sluice closes its answers are still in its send buffer:
		// a reset would discard them.
		pipelined := "GET /big HTTP/1.1\r\nHost: app.test\r\n\r\nGET / HTTP/1.1\r\nHost: app.test\r\nBad : x\r\n\r\n"
		if _, err := c.Write([]byte(pipelined)); err != nil {
			t.Fatal(err)
		}
		junkWriter(c, 256<<10)
		time.Sleep(200 * time.Millisecond)
		br := bufio.NewReader(c)
		for _, want := range []int{200, 400} {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("round %d: reading the %d answer: %v (a reset destroyed it?)", i, want, err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("round %d: reading the %d body after %d bytes: %v (a reset destroyed it?)", i, want, n, err)
			}
			if resp.StatusCode != want {
				t.Fatalf("round %d: status %d, want %d", i, resp.StatusCode, want)
			}
		}
		c.Close()
	}
	for _, r := range be.Requests() {
		if r.URL.Path != "/big" {
			t.Fatalf("the malformed request reached the backend: %s", r.URL)
		}
	}
}

func TestLingerH2GoAwaySurvivesUnreadBytes(t *testing.T) {
	big := bytes.Repeat([]byte("b"), 1<<20)
	be := StartBackend(t, func(w http.ResponseWriter, r *http.Request) { w.Write(big) })
	s := startOne(t, be.Addr, nil)
	for i := range 3 {
		c, err := net.Dial("tcp", s.Addr("@L1@"))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		var out bytes.Buffer
		out.WriteString(http2.ClientPreface)
		fr := http2.NewFramer(&out, nil)
		fr.AllowIllegalWrites = true
		fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 8 << 20})
		fr.WriteWindowUpdate(0, 8<<20)
		var hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "app.test"}, {":path", "/big"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true, EndStream: true})
		if _, err := c.Write(out.Bytes()); err != nil {
			t.Fatal(err)
		}
		// Let the answer reach sluice's send buffer, then commit a
		// connection error (a zero WINDOW_UPDATE increment, RFC 9113
		// 6.9) followed by bytes sluice will never read.
		time.Sleep(100 * time.Millisecond)
		out.Reset()
		fr.WriteWindowUpdate(0, 0)
		if _, err := c.Write(out.Bytes()); err != nil {
			t.Fatal(err)
		}
		junkWriter(c, 256<<10)
		time.Sleep(200 * time.Millisecond)
		rf := http2.NewFramer(io.Discard, c)
		var goAway *http2.GoAwayFrame
		data := 0
		for goAway == nil {
			f, err := rf.ReadFrame()
			if err != nil {
				t.Fatalf("round %d: reading until GOAWAY (after %d data bytes): %v (a reset destroyed it?)", i, data, err)
			}
			if d, ok := f.(*http2.DataFrame); ok {
				data += len(d.Data())
			}
			goAway, _ = f.(*http2.GoAwayFrame)
		}
		if goAway.ErrCode != http2.ErrCodeProtocol {
			t.Fatalf("round %d: GOAWAY %v, want PROTOCOL_ERROR", i, goAway.ErrCode)
		}
		c.Close()
	}
}

// TestLingerIsBounded: a client that keeps sending after the answer
// cannot hold the connection: sluice closes after its linger bound.
func TestLingerIsBounded(t *testing.T) {
	be := StartBackend(t, func(w http.ResponseWriter, r *http.Request) {})
	s := startOne(t, be.Addr, nil)
	c, err := net.Dial("tcp", s.Addr("@L1@"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: app.test\r\nBad : x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	// Keep sending small writes; sluice must end the connection anyway.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if _, err := c.Write([]byte("more")); err != nil {
				return
			}
		}
	}()
	all, err := io.ReadAll(c)
	if !strings.HasPrefix(string(all), "HTTP/1.1 400") {
		t.Fatalf("answer %q (err %v), want a 400 then the end of the connection", all, err)
	}
	// io.ReadAll returned: sluice closed (EOF after the write side shut,
	// or a reset once the linger bound passed) within the test deadline.
}
