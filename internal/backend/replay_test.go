package backend

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// TestReplayedBodyNotRecordedAgain: a request with a body refused twice by
// an HTTP/2 backend is sent a third time with its body once, not twice.
// The upload records what it sends; on a retry what it sends is the
// recording, which must not be appended to itself (simulator seed 57).
func TestReplayedBodyNotRecordedAgain(t *testing.T) {
	c := NewCluster("c", ClusterOptions{RetryBufferBytes: 1 << 10}, nil)
	body := []byte("request body")
	tr := trip{c: c, req: &Request{Method: []byte("POST"), HasBody: true, ContentLength: -1}, body: &replayBody{data: body}, replay: &replayBuffer{limit: 1 << 10}}
	refused := Outcome{Err: &staleConnError{e: &Error{Status: 502}, notProcessed: true}, NotProcessed: true}
	var res Result
	for attempt := 0; attempt < 3; attempt++ {
		// What an attempt's upload does: read the body, record it.
		p, err := tr.body.Next()
		if err != io.EOF {
			t.Fatalf("attempt %d: Next: %v", attempt, err)
		}
		if !bytes.Equal(p, body) {
			t.Fatalf("attempt %d sends %q, want %q", attempt, p, body)
		}
		tr.replay.record(p)
		done, err := tr.settle(nil, refused, &res)
		if attempt < 2 && (done || err != nil) {
			t.Fatalf("attempt %d: not retried: %v", attempt, err)
		}
	}
}

// TestFailedUploadNotReplayed: an upload that failed part way (the stream
// closed under it, refused) leaves a recording of the body's start only:
// the request must not be replayed with it (simulator seed 3).
func TestFailedUploadNotReplayed(t *testing.T) {
	replay := &replayBuffer{limit: 1 << 10}
	replay.record([]byte("the first half"))
	x := h2Exchange{c: &h2Call{}}
	var res Result
	refused := &staleConnError{e: &Error{Status: 502}, notProcessed: true}
	x.uploaded(refused, errBackendConnLost, false, &res, replay)
	if replay.replayable() {
		t.Fatal("a body whose upload failed part way is replayable")
	}
}

// TestSlotWaitDoesNotMarkDown: waiting in vain for a stream slot on a
// busy HTTP/2 backend (every connection at its MAX_CONCURRENT_STREAMS) is
// not a connect failure: the request is answered 503 and the backend stays
// in rotation (seen in the simulator's traces, seed 9).
func TestSlotWaitDoesNotMarkDown(t *testing.T) {
	b := NewBackend("c", "b", "192.0.2.1:80", 1, Options{Protocol: H2C})
	c := NewCluster("c", ClusterOptions{}, []*Backend{b})
	tr := trip{c: c, req: &Request{Method: []byte("GET")}}
	var res Result
	done, err := tr.settle(b, h2Outcome(b, acquireError(errNoSlot), &res), &res)
	var e *Error
	if !done || !errors.As(err, &e) || e.Status != 503 {
		t.Fatalf("settle: done %v, err %v; want a 503 answer", done, err)
	}
	if !b.Up() {
		t.Fatal("a backend whose stream slots were all busy was marked down")
	}
}

// TestReplayStaysReplayable: a replayed attempt whose upload failed (its
// stream refused again) leaves the recording whole: a further retry may
// still send it.
func TestReplayStaysReplayable(t *testing.T) {
	replay := &replayBuffer{limit: 1 << 10}
	replay.record([]byte("the whole body"))
	replay.replays = 1
	x := h2Exchange{c: &h2Call{}}
	var res Result
	refused := &staleConnError{e: &Error{Status: 502}, notProcessed: true}
	x.uploaded(refused, errBackendConnLost, false, &res, replay)
	if !replay.replayable() {
		t.Fatal("a whole recording became unreplayable after a replay's upload failed")
	}
}
