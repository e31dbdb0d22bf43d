package h2

import (
	"testing"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// The stream state machine of RFC 9113 5.1, as a table: every state a
// client-opened stream can be in on a server (reserved states cannot
// occur: nobody pushes), crossed with every frame a client can send on it,
// and what must follow.

// stateSetup brings stream 1 into a state; it returns what the peer
// should see as that state.
type stateSetup struct {
	name  string
	setup func(st *serverTester)
	// want is the engine state stream 1 must be in afterwards
	// (StateIdle: not in the map, never opened; StateClosed: gone).
	want StreamState
}

var stateSetups = []stateSetup{
	{"idle", func(st *serverTester) {}, StateIdle},
	{"open", func(st *serverTester) {
		st.writeHeaders(1, false, postFields())
	}, StateOpen},
	{"half_closed_remote", func(st *serverTester) {
		st.writeHeaders(1, true, reqFields())
	}, StateHalfClosedRemote},
	{"half_closed_local", func(st *serverTester) {
		st.writeHeaders(1, false, postFields())
		st.respond(1, 200, true)
		st.wantStatus(1, "200", true)
	}, StateHalfClosedLocal},
	{"closed_end_stream", func(st *serverTester) {
		st.writeHeaders(1, true, reqFields())
		st.respond(1, 204, true)
		st.wantStatus(1, "204", true)
	}, StateClosed},
	{"closed_rst_received", func(st *serverTester) {
		st.writeHeaders(1, false, postFields())
		st.respond(1, 200, false)
		st.wantStatus(1, "200", false)
		st.writeRST(1, frame.Cancel)
	}, StateClosed},
	{"closed_rst_sent", func(st *serverTester) {
		st.writeHeaders(1, false, postFields())
		s := st.stream(1)
		st.do(func() { st.c.Reset(s, frame.Cancel) })
		st.wantRSTStream(1, frame.Cancel)
	}, StateClosed},
}

// stateFrame is one frame the client sends on stream 1.
type stateFrame struct {
	name string
	send func(st *serverTester, opening bool)
}

var stateFrames = []stateFrame{
	{"DATA", func(st *serverTester, _ bool) { st.writeData(1, false, []byte("x")) }},
	{"DATA_END_STREAM", func(st *serverTester, _ bool) { st.writeData(1, true, []byte("x")) }},
	{"HEADERS", func(st *serverTester, opening bool) {
		// A request on an idle stream, trailers anywhere else.
		if opening {
			st.writeHeaders(1, true, reqFields())
		} else {
			st.writeHeaders(1, true, hf("x-trailer", "1"))
		}
	}},
	{"HEADERS_NO_END_STREAM", func(st *serverTester, opening bool) {
		if opening {
			st.writeHeaders(1, false, postFields())
		} else {
			st.writeHeaders(1, false, hf("x-trailer", "1"))
		}
	}},
	{"PRIORITY", func(st *serverTester, _ bool) {
		st.feed(frame.AppendPriority(nil, 1, frame.Priority{StreamDep: 0, Weight: 15}))
	}},
	{"RST_STREAM", func(st *serverTester, _ bool) { st.writeRST(1, frame.Cancel) }},
	{"WINDOW_UPDATE", func(st *serverTester, _ bool) { st.writeWindowUpdate(1, 100) }},
	{"CONTINUATION", func(st *serverTester, _ bool) {
		st.feed(frame.AppendContinuation(nil, 1, true, []byte{0x82}))
	}},
	{"PUSH_PROMISE", func(st *serverTester, _ bool) {
		st.feed(frame.AppendPushPromise(nil, 1, 2, true, []byte{0x82}))
	}},
	// PRIORITY_UPDATE travels on stream 0 and names stream 1 (RFC 9218
	// 7.1); the connection-only frames below carry stream id 1.
	{"PRIORITY_UPDATE", func(st *serverTester, _ bool) {
		st.feed(frame.AppendPriorityUpdate(nil, 1, []byte("u=1")))
	}},
	{"SETTINGS_ON_STREAM", func(st *serverTester, _ bool) {
		st.writeRaw(frame.Header{Type: frame.TypeSettings, StreamID: 1}, nil)
	}},
	{"PING_ON_STREAM", func(st *serverTester, _ bool) {
		st.writeRaw(frame.Header{Type: frame.TypePing, StreamID: 1}, make([]byte, 8))
	}},
	{"GOAWAY_ON_STREAM", func(st *serverTester, _ bool) {
		st.writeRaw(frame.Header{Type: frame.TypeGoAway, StreamID: 1}, make([]byte, 8))
	}},
}

// In every state: a PRIORITY_UPDATE changes nothing visible, and
// SETTINGS, PING and GOAWAY on a stream are connection PROTOCOL_ERRORs
// (RFC 9113 6.5, 6.7, 6.8).
func init() {
	for name, row := range stateTable {
		var st StreamState
		for _, s := range stateSetups {
			if s.name == name {
				st = s.want
			}
		}
		row["PRIORITY_UPDATE"] = okState(st, "")
		row["SETTINGS_ON_STREAM"] = connFail(frame.ProtocolError)
		row["PING_ON_STREAM"] = connFail(frame.ProtocolError)
		row["GOAWAY_ON_STREAM"] = connFail(frame.ProtocolError)
	}
}

// outcome is what must follow.
type outcome struct {
	kind  string // "ok" (no frame), "rst" (RST_STREAM on 1), "conn" (GOAWAY)
	code  ErrCode
	state StreamState // stream 1's state after (ok and rst)
	event string      // handler event: "request", "data", "trailers", "closed" or ""
}

func okState(s StreamState, ev string) outcome { return outcome{kind: "ok", state: s, event: ev} }

func rstWith(code ErrCode) outcome {
	return outcome{kind: "rst", code: code, state: StateClosed, event: "closed"}
}

func connFail(code ErrCode) outcome { return outcome{kind: "conn", code: code} }

// stateTable: RFC 9113 5.1 for each (state, frame). Where the RFC allows
// a stream or a connection error, the engine's choice is written down.
var stateTable = map[string]map[string]outcome{
	// RFC 9113 5.1 idle: anything but HEADERS or PRIORITY is a connection
	// PROTOCOL_ERROR.
	"idle": {
		"DATA":                  connFail(frame.ProtocolError),
		"DATA_END_STREAM":       connFail(frame.ProtocolError),
		"HEADERS":               okState(StateHalfClosedRemote, "request"),
		"HEADERS_NO_END_STREAM": okState(StateOpen, "request"),
		"PRIORITY":              okState(StateIdle, ""),
		"RST_STREAM":            connFail(frame.ProtocolError),
		"WINDOW_UPDATE":         connFail(frame.ProtocolError),
		"CONTINUATION":          connFail(frame.ProtocolError),
		"PUSH_PROMISE":          connFail(frame.ProtocolError),
	},
	// open: everything goes; a second field block is trailers and must
	// carry END_STREAM (RFC 9113 8.1).
	"open": {
		"DATA":                  okState(StateOpen, "data"),
		"DATA_END_STREAM":       okState(StateHalfClosedRemote, "data"),
		"HEADERS":               okState(StateHalfClosedRemote, "trailers"),
		"HEADERS_NO_END_STREAM": rstWith(frame.ProtocolError),
		"PRIORITY":              okState(StateOpen, ""),
		"RST_STREAM":            okState(StateClosed, "closed"),
		"WINDOW_UPDATE":         okState(StateOpen, ""),
		"CONTINUATION":          connFail(frame.ProtocolError),
		"PUSH_PROMISE":          connFail(frame.ProtocolError),
	},
	// half-closed (remote): frames other than WINDOW_UPDATE, PRIORITY and
	// RST_STREAM are a stream error STREAM_CLOSED.
	"half_closed_remote": {
		"DATA":                  rstWith(frame.StreamClosed),
		"DATA_END_STREAM":       rstWith(frame.StreamClosed),
		"HEADERS":               rstWith(frame.StreamClosed),
		"HEADERS_NO_END_STREAM": rstWith(frame.StreamClosed),
		"PRIORITY":              okState(StateHalfClosedRemote, ""),
		"RST_STREAM":            okState(StateClosed, "closed"),
		"WINDOW_UPDATE":         okState(StateHalfClosedRemote, ""),
		"CONTINUATION":          connFail(frame.ProtocolError),
		"PUSH_PROMISE":          connFail(frame.ProtocolError),
	},
	// half-closed (local): the peer may still send anything.
	"half_closed_local": {
		"DATA":                  okState(StateHalfClosedLocal, "data"),
		"DATA_END_STREAM":       okState(StateClosed, "data"),
		"HEADERS":               okState(StateClosed, "trailers"),
		"HEADERS_NO_END_STREAM": rstWith(frame.ProtocolError),
		"PRIORITY":              okState(StateHalfClosedLocal, ""),
		"RST_STREAM":            okState(StateClosed, "closed"),
		"WINDOW_UPDATE":         okState(StateHalfClosedLocal, ""),
		"CONTINUATION":          connFail(frame.ProtocolError),
		"PUSH_PROMISE":          connFail(frame.ProtocolError),
	},
	// closed after END_STREAM both ways: frames after END_STREAM are a
	// connection error STREAM_CLOSED; WINDOW_UPDATE and RST_STREAM may
	// race with our END_STREAM and are ignored; PRIORITY always is.
	"closed_end_stream": {
		"DATA":                  connFail(frame.StreamClosed),
		"DATA_END_STREAM":       connFail(frame.StreamClosed),
		"HEADERS":               connFail(frame.StreamClosed),
		"HEADERS_NO_END_STREAM": connFail(frame.StreamClosed),
		"PRIORITY":              okState(StateClosed, ""),
		"RST_STREAM":            okState(StateClosed, ""),
		"WINDOW_UPDATE":         okState(StateClosed, ""),
		"CONTINUATION":          connFail(frame.ProtocolError),
		"PUSH_PROMISE":          connFail(frame.ProtocolError),
	},
	// closed by the peer's RST_STREAM: anything but PRIORITY is
	// STREAM_CLOSED; the engine makes it a connection error, which keeps
	// "one RST_STREAM per stream" trivially true (RFC 9113 5.4 allows
	// treating a stream error as a connection error).
	"closed_rst_received": {
		"DATA":                  connFail(frame.StreamClosed),
		"DATA_END_STREAM":       connFail(frame.StreamClosed),
		"HEADERS":               connFail(frame.StreamClosed),
		"HEADERS_NO_END_STREAM": connFail(frame.StreamClosed),
		"PRIORITY":              okState(StateClosed, ""),
		"RST_STREAM":            okState(StateClosed, ""),
		"WINDOW_UPDATE":         okState(StateClosed, ""),
		"CONTINUATION":          connFail(frame.ProtocolError),
		"PUSH_PROMISE":          connFail(frame.ProtocolError),
	},
	// closed by our RST_STREAM: frames the peer had in flight are
	// ignored (RFC 9113 5.1 closed, 5.4.2).
	"closed_rst_sent": {
		"DATA":                  okState(StateClosed, ""),
		"DATA_END_STREAM":       okState(StateClosed, ""),
		"HEADERS":               okState(StateClosed, ""),
		"HEADERS_NO_END_STREAM": okState(StateClosed, ""),
		"PRIORITY":              okState(StateClosed, ""),
		"RST_STREAM":            okState(StateClosed, ""),
		"WINDOW_UPDATE":         okState(StateClosed, ""),
		"CONTINUATION":          connFail(frame.ProtocolError),
		"PUSH_PROMISE":          connFail(frame.ProtocolError),
	},
}

func TestStreamStateTransitions(t *testing.T) {
	for _, ss := range stateSetups {
		for _, sf := range stateFrames {
			want, ok := stateTable[ss.name][sf.name]
			if !ok {
				t.Fatalf("no table entry for %s x %s", ss.name, sf.name)
			}
			t.Run(ss.name+"/"+sf.name, func(t *testing.T) {
				st := newServerTester(t)
				st.greet()
				ss.setup(st)
				if got := streamState(st, 1); got != ss.want {
					t.Fatalf("setup left stream 1 %v, want %v", got, ss.want)
				}
				st.drainFrames()
				before := handlerEvents(st, 1)
				sf.send(st, ss.want == StateIdle)
				after := handlerEvents(st, 1)

				lastID := StreamID(1)
				if ss.want == StateIdle {
					lastID = 0
				}
				switch want.kind {
				case "conn":
					st.wantConnError(lastID, want.code)
					st.wantNoFrame()
					return
				case "rst":
					st.wantRSTStream(1, want.code)
				}
				st.wantNoFrame()
				if st.err != nil {
					t.Fatalf("connection error %v, want the connection to survive", st.err)
				}
				if got := streamState(st, 1); got != want.state {
					t.Fatalf("stream 1 is %v, want %v", got, want.state)
				}
				if want.event != "" && after[want.event] == before[want.event] {
					t.Fatalf("handler did not see %q (before %v, after %v)", want.event, before, after)
				}
				for ev := range after {
					closing := ev == "closed" && want.state == StateClosed && ss.want != StateClosed
					if ev != want.event && !closing && after[ev] != before[ev] {
						t.Fatalf("unexpected handler event %q (before %v, after %v)", ev, before, after)
					}
				}
				// The connection still works, and the HPACK state
				// survived whatever block was decoded or discarded.
				next := st.c.LastPeerStream() + 2
				if next == 2 {
					next = 1
				}
				st.writeRequest(next)
				if r := st.h.request(next); r.path != "/" {
					t.Fatalf("follow-up request %v", r)
				}
			})
		}
	}
}

// streamState is stream id's state as the peer would model it.
func streamState(st *serverTester, id StreamID) StreamState {
	if s := st.c.streams[id]; s != nil {
		return s.State()
	}
	if id > st.c.LastPeerStream() {
		return StateIdle
	}
	return StateClosed
}

// handlerEvents counts the handler's events on id.
func handlerEvents(st *serverTester, id StreamID) map[string]int {
	m := map[string]int{}
	for _, r := range st.h.requests {
		if r.id == id {
			m["request"]++
		}
	}
	m["data"] = st.h.dataCall[id]
	if st.h.trailers[id] != nil {
		m["trailers"]++
	}
	for _, c := range st.h.closed {
		if c.id == id {
			m["closed"]++
		}
	}
	return m
}
