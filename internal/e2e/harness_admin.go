package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Helpers for the tests of issue 8 (drain, admin API, saved state,
// upgrade): a frame-level HTTP/2 client that records every frame, and
// sluice run as a real process from a freshly built binary.

// FrameConn is a raw HTTP/2 (h2c prior knowledge) client connection that
// reads every frame the server sends, in order.
type FrameConn struct {
	t   testing.TB
	c   net.Conn
	fr  *http2.Framer
	enc *hpack.Encoder
	dec *hpack.Decoder // one per connection: the dynamic table spans frames
	buf bytes.Buffer
	mu  sync.Mutex // serialises writes
}

// DialFrames connects to an h2c listener, sends the preface and an empty
// SETTINGS, and acknowledges the server's SETTINGS.
func DialFrames(t testing.TB, addr string) *FrameConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	f := &FrameConn{t: t, c: c}
	f.fr = http2.NewFramer(c, c)
	f.fr.SetMaxReadFrameSize(1 << 20)
	f.enc = hpack.NewEncoder(&f.buf)
	f.dec = hpack.NewDecoder(65536, nil)
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := f.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	fr, err := f.Next(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fr.(*http2.SettingsFrame); !ok {
		t.Fatalf("first frame %v, want SETTINGS", fr)
	}
	f.mu.Lock()
	f.fr.WriteSettingsAck()
	f.mu.Unlock()
	return f
}

// Request opens stream id with a request head; endStream when it has no
// body.
func (f *FrameConn) Request(id uint32, method, authority, path string, endStream bool) {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buf.Reset()
	for _, kv := range [][2]string{{":method", method}, {":scheme", "http"}, {":authority", authority}, {":path", path}} {
		f.enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
	}
	if err := f.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: f.buf.Bytes(), EndStream: endStream, EndHeaders: true}); err != nil {
		f.t.Fatal(err)
	}
}

// Data sends request body bytes on stream id.
func (f *FrameConn) Data(id uint32, p []byte, endStream bool) {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fr.WriteData(id, endStream, p); err != nil {
		f.t.Fatal(err)
	}
}

// Frame is a frame the server sent, detached from the framer's buffers.
type Frame struct {
	Type     http2.FrameType
	StreamID uint32
	// GOAWAY
	LastStreamID uint32
	Code         http2.ErrCode // GOAWAY, RST_STREAM
	// HEADERS: the decoded fields; DATA: the payload.
	Fields    map[string]string
	Data      []byte
	EndStream bool
}

func (fr Frame) String() string {
	switch fr.Type {
	case http2.FrameGoAway:
		return fmt.Sprintf("GOAWAY(last=%d, %v)", fr.LastStreamID, fr.Code)
	case http2.FrameRSTStream:
		return fmt.Sprintf("RST_STREAM(%d, %v)", fr.StreamID, fr.Code)
	case http2.FrameHeaders:
		return fmt.Sprintf("HEADERS(%d, %v, end=%v)", fr.StreamID, fr.Fields, fr.EndStream)
	case http2.FrameData:
		return fmt.Sprintf("DATA(%d, %d bytes, end=%v)", fr.StreamID, len(fr.Data), fr.EndStream)
	}
	return fmt.Sprintf("%v(%d)", fr.Type, fr.StreamID)
}

// Next reads the next frame within timeout; io.EOF (or a reset) when the
// server closed the connection.
func (f *FrameConn) Next(timeout time.Duration) (http2.Frame, error) {
	f.c.SetReadDeadline(time.Now().Add(timeout))
	return f.fr.ReadFrame()
}

// NextFrame reads the next frame that matters to a test, answering PINGs
// and skipping SETTINGS, WINDOW_UPDATE and PING frames.
func (f *FrameConn) NextFrame(timeout time.Duration) (Frame, error) {
	for {
		raw, err := f.Next(timeout)
		if err != nil {
			return Frame{}, err
		}
		fr := Frame{Type: raw.Header().Type, StreamID: raw.Header().StreamID}
		switch x := raw.(type) {
		case *http2.SettingsFrame:
			if !x.IsAck() {
				f.mu.Lock()
				f.fr.WriteSettingsAck()
				f.mu.Unlock()
			}
			continue
		case *http2.WindowUpdateFrame:
			continue
		case *http2.PingFrame:
			if !x.IsAck() {
				f.mu.Lock()
				f.fr.WritePing(true, x.Data)
				f.mu.Unlock()
			}
			continue
		case *http2.GoAwayFrame:
			fr.LastStreamID, fr.Code = x.LastStreamID, x.ErrCode
		case *http2.RSTStreamFrame:
			fr.Code = x.ErrCode
		case *http2.HeadersFrame:
			fr.Fields = map[string]string{}
			fields, err := f.dec.DecodeFull(x.HeaderBlockFragment())
			if err != nil {
				return fr, err
			}
			for _, hf := range fields {
				fr.Fields[hf.Name] = hf.Value
			}
			fr.EndStream = x.StreamEnded()
		case *http2.DataFrame:
			fr.Data = append([]byte(nil), x.Data()...)
			fr.EndStream = x.StreamEnded()
			if n := len(x.Data()); n > 0 {
				// Keep the server's windows open: tests read whole bodies.
				f.mu.Lock()
				f.fr.WriteWindowUpdate(0, uint32(n))
				f.fr.WriteWindowUpdate(x.StreamID, uint32(n))
				f.mu.Unlock()
			}
		}
		return fr, nil
	}
}

// IsClosed reports whether err says the server closed the connection.
func IsClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF)
}

// buildMu keeps builds one at a time (they share the build cache).
var buildMu sync.Mutex

// BuildSluice builds cmd/sluice into a directory of the test's and returns
// the binary's path.
func BuildSluice(t testing.TB) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	_, here, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(here), "..", "..")
	bin := filepath.Join(t.TempDir(), "sluice")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/sluice")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/sluice: %v\n%s", err, out)
	}
	return bin
}

// Proc is a sluice process started from a binary: `sluice run -c FILE`.
type Proc struct {
	t      testing.TB
	Bin    string
	Config string
	Socket string // admin_socket of the config
	Log    string // stdout+stderr of this process and of those it upgrades to
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

// StartProc runs `bin run -c config` with its output appended to logFile,
// and waits until its admin socket answers.
func StartProc(t testing.TB, bin, configFile, socket, logFile string) *Proc {
	t.Helper()
	out, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	p := &Proc{t: t, Bin: bin, Config: configFile, Socket: socket, Log: logFile, exited: make(chan struct{})}
	// Files, not pipes: a process it upgrades to inherits them and may
	// outlive it, and Wait must not wait for that one.
	p.cmd = exec.Command(bin, "run", "-c", configFile)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := p.Ctl("status"); err == nil {
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("sluice exited at start: %v\n%s", p.err, p.ReadLog())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sluice's admin socket never answered\n%s", p.ReadLog())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Ctl runs `sluice ctl -s SOCKET args...` and returns its stdout; the error
// carries stderr and the exit code.
func (p *Proc) Ctl(args ...string) (string, error) {
	return RunCtl(p.Bin, p.Socket, args...)
}

// RunCtl runs `bin ctl -s socket args...` (bounded to 2 minutes).
func RunCtl(bin, socket string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"ctl", "-s", socket}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("sluice ctl %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// PID returns the pid of the process answering on the admin socket.
func (p *Proc) PID() int {
	p.t.Helper()
	out, err := p.Ctl("status", "--json")
	if err != nil {
		p.t.Fatal(err)
	}
	var st struct{ PID int }
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		p.t.Fatal(err)
	}
	return st.PID
}

// Wait waits for the process started by StartProc to exit and returns
// its exit code (-1 when it did not exit within timeout).
func (p *Proc) Wait(timeout time.Duration) int {
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		return -1
	}
}

// ReadLog returns the processes' output so far.
func (p *Proc) ReadLog() string {
	b, _ := os.ReadFile(p.Log)
	return string(b)
}

// WaitGone waits until the process pid has exited (or is a zombie: an
// upgraded-to process is not our child, and nobody may reap it).
func WaitGone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); err != nil {
			return true
		}
		if st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
			if f := strings.Fields(string(st)); len(f) > 2 && f[2] == "Z" {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// LogLines returns the lines of the processes' output that contain all of
// parts.
func (p *Proc) LogLines(parts ...string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(p.ReadLog()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		ok := true
		for _, s := range parts {
			ok = ok && strings.Contains(line, s)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}
