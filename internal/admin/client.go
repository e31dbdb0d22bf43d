package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Client talks to a sluice's admin API over its unix socket; `sluice ctl`
// is a thin shell around it.
type Client struct {
	Socket string
	hc     *http.Client
}

// clientTimeout bounds every request; an upgrade, the slowest, waits for
// the new process to be ready (upgradeTimeout).
const clientTimeout = upgradeTimeout + 15*time.Second

// NewClient returns a client of the API on socket.
func NewClient(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		ResponseHeaderTimeout: clientTimeout,
		DisableKeepAlives:     true,
	}
	return &Client{Socket: socket, hc: &http.Client{Transport: tr, Timeout: clientTimeout}}
}

// Do sends a request (body, when not nil, as JSON) and returns the answer's
// body. A refusal comes back as an *Error carrying the server's reason
// and status; a socket nobody listens on as an error saying so.
func (c *Client) Do(method, path string, query url.Values, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	u := "http://sluice" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach sluice at %s: %w", c.Socket, unwrapURL(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Message == "" {
			e.Message = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(data))
		}
		return nil, e
	}
	return data, nil
}

// Get is Do for a GET decoding the answer into v.
func (c *Client) Get(path string, query url.Values, v any) error {
	data, err := c.Do(http.MethodGet, path, query, nil)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

func unwrapURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// PathEscape escapes a path element (a listener or backend address) for
// the API's URLs.
func PathEscape(s string) string { return url.PathEscape(s) }
