package e2e

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// cancelBackend answers by path: /reset-internal resets the stream with
// INTERNAL_ERROR before any response; /complete-then-noerror sends a full
// response and then RST_STREAM(NO_ERROR) (RFC 9113 8.1: "stop sending the
// request body"); /hang never answers.
func cancelBackend(t *testing.T) *ScriptedH2Backend {
	return StartScriptedH2Backend(t, func(s *H2Stream) {
		switch {
		case strings.HasSuffix(s.Path, "/reset-internal"):
			s.Reset(http2.ErrCodeInternal)
		case strings.HasSuffix(s.Path, "/complete-then-noerror"):
			s.Respond(200, false, "content-length", "5")
			s.Data([]byte("hello"), true)
			s.Reset(http2.ErrCodeNo)
		case strings.HasSuffix(s.Path, "/hang"):
		default:
			s.Respond(200, false)
			s.Data([]byte("ok"), true)
		}
	})
}

const cancelConfig = `
access_log = "stdout"
[[listeners]]
address = "@L1@"
protocol = "http"
[clusters.app]
backend_protocol = "h2c"
frontends = [ { address = "@L1@", hostname = "localhost" } ]
backends = [ { address = "@BE@" } ]
`

// TestH2ClientCancelResetsBackendStream: a client that resets its stream
// (Go's transport sends RST_STREAM(CANCEL) when the request context ends)
// makes sluice reset the backend stream with CANCEL.
func TestH2ClientCancelResetsBackendStream(t *testing.T) {
	be := cancelBackend(t)
	s := Start(t, cancelConfig, map[string]string{"BE": be.Addr})
	client := H2CClient(s.Addr("@L1@"))
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://localhost/hang", nil)
	done := make(chan error, 1)
	go func() {
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	Eventually(t, "the request reaches the backend", func() bool { return s.MetricValue("sluice_backend_h2_streams_active", nil) == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("client error %v", err)
	}
	Eventually(t, "backend stream reset with CANCEL", func() bool {
		for _, code := range be.Resets() {
			if code == http2.ErrCodeCancel {
				return true
			}
		}
		return false
	})
	lines := s.WaitAccessLog(1)
	if len(lines) != 1 || !strings.Contains(lines[0], `"message":"client_reset"`) {
		t.Fatalf("access log: %v", lines)
	}
}

// TestH2BackendResetReachesClient: a backend RST_STREAM(INTERNAL_ERROR)
// reaches an HTTP/2 client as RST_STREAM(INTERNAL_ERROR) and an HTTP/1.1
// client as a 502; the access log says why.
func TestH2BackendResetReachesClient(t *testing.T) {
	be := cancelBackend(t)
	s := Start(t, cancelConfig, map[string]string{"BE": be.Addr})
	_, err := H2CClient(s.Addr("@L1@")).Get("http://localhost/reset-internal")
	var se http2.StreamError
	if !errors.As(err, &se) || se.Code != http2.ErrCodeInternal {
		t.Fatalf("HTTP/2 client: %v, want a stream error INTERNAL_ERROR", err)
	}
	resp, err := H1Client(s.Addr("@L1@"), nil, "").Get("http://localhost/reset-internal")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 502 {
		t.Fatalf("HTTP/1.1 client: %d, want 502", resp.StatusCode)
	}
	lines := s.WaitAccessLog(2)
	for _, l := range lines {
		if !strings.Contains(l, `"message":"backend_reset"`) {
			t.Errorf("access log line without backend_reset: %s", l)
		}
	}
	if !strings.Contains(strings.Join(lines, "\n"), `"reset_code":"INTERNAL_ERROR"`) {
		t.Errorf("no reset_code in %v", lines)
	}
}

// TestH2BackendNoErrorResetAfterResponse: RST_STREAM(NO_ERROR) after a
// complete response does not discard it.
func TestH2BackendNoErrorResetAfterResponse(t *testing.T) {
	be := cancelBackend(t)
	s := Start(t, cancelConfig, map[string]string{"BE": be.Addr})
	for _, client := range []*http.Client{H2CClient(s.Addr("@L1@")), H1Client(s.Addr("@L1@"), nil, "")} {
		for range 5 {
			resp, err := client.Get("http://localhost/complete-then-noerror")
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || string(body) != "hello" {
				t.Fatalf("%d %q %v", resp.StatusCode, body, err)
			}
		}
	}
	_ = time.Second
}
