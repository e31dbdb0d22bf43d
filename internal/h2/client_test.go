package h2

import (
	"testing"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

type nopHandler struct{}

func (nopHandler) OnRequest(*Stream, *Request)        {}
func (nopHandler) OnResponse(*Stream, *Response)      {}
func (nopHandler) OnData(*Stream, []byte, bool)       {}
func (nopHandler) OnTrailers(*Stream, []Field)        {}
func (nopHandler) OnClosed(*Stream)                   {}
func (nopHandler) OnGoAway(StreamID, ErrCode, []byte) {}

// TestClientStreamIDExhaustion: a backend connection whose stream ids run
// out stops taking new streams before the RFC 9113 5.1.1 limit, so it can
// be retired gracefully (finish its streams, then close) instead of failing
// mid-burst.
func TestClientStreamIDExhaustion(t *testing.T) {
	c := NewConn(Config{Role: Client}, nopHandler{}, nil, nil)
	c.Start()
	fields := []Field{{Name: []byte(":method"), Value: []byte("GET")}, {Name: []byte(":scheme"), Value: []byte("http")},
		{Name: []byte(":authority"), Value: []byte("a")}, {Name: []byte(":path"), Value: []byte("/")}}
	if c.Retiring() || c.MaxOpenable() == 0 {
		t.Fatalf("fresh connection: retiring %v, openable %d", c.Retiring(), c.MaxOpenable())
	}
	c.nextLocal = frame.MaxStreamID - streamIDReserve - 2
	if c.MaxOpenable() != 1 {
		t.Fatalf("openable %d with one id left before the reserve", c.MaxOpenable())
	}
	if _, err := c.OpenStream(fields, true); err != nil {
		t.Fatal(err)
	}
	if !c.Retiring() || c.MaxOpenable() != 0 {
		t.Fatalf("near exhaustion: retiring %v, openable %d", c.Retiring(), c.MaxOpenable())
	}
	if _, err := c.OpenStream(fields, true); err != ErrStreamIDsExhausted {
		t.Fatalf("OpenStream past the reserve: %v", err)
	}
}
