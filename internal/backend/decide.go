package backend

// Decision is what happens at the end of one attempt to reach a backend.
type Decision uint8

// Decisions (DESIGN.md 3.5).
const (
	// Done: the response was forwarded in full (terminated by its framing,
	// or close-delimited and ended by the backend closing).
	Done Decision = iota
	// Retry: send the request again (another connection or backend). Only
	// when nothing of the response was forwarded and the request is safe
	// to replay.
	Retry
	// Answer: nothing was forwarded and no retry is allowed: the client
	// gets a default answer (502, 503 or 504).
	Answer
	// Abort: part of the response was forwarded and it cannot be
	// completed: cut the client's response (RST_STREAM, or close the
	// HTTP/1.1 connection) so it is seen as truncated, never as whole.
	Abort
)

func (d Decision) String() string {
	switch d {
	case Done:
		return "done"
	case Retry:
		return "retry"
	case Answer:
		return "answer"
	case Abort:
		return "abort"
	}
	return "Decision(?)"
}

// Outcome describes how an attempt ended, as the decision needs it.
type Outcome struct {
	Err          error // nil: the response was forwarded in full
	HeadSent     bool  // a final response head reached the client
	ConnectFail  bool  // no connection could be made (nothing was sent)
	NotProcessed bool  // the backend certainly did not process the request (HTTP/2 refused stream, above GOAWAY's last id)
	StaleReuse   bool  // a reused keep-alive connection failed before any response byte (the idle-close race)
	Idempotent   bool  // the method may be replayed (RFC 9110 9.2.2)
	HasBody      bool
	BodyRecorded bool // the whole body is recorded for a replay (retry_buffer_bytes)
	ClientGone   bool // the client went away: nothing to answer
	Attempts     int  // attempts already made for this reason
	MaxAttempts  int
}

// Decide chooses what to do at the end of an attempt. It is the one place
// where replay safety is decided: a request is sent again only when the
// backend cannot have acted on it (no connection, a refused stream), or
// when it is idempotent, bodiless, and failed on a reused connection before
// any response byte; and never once a response byte went to the client.
//
// With Retry it also returns the reason, a metric label
// (sluice_backend_retries_total{reason}).
func Decide(o Outcome) (Decision, string) {
	switch {
	case o.Err == nil:
		return Done, ""
	case o.ClientGone, o.HeadSent:
		return Abort, ""
	}
	if o.Attempts < o.MaxAttempts {
		bodyOK := !o.HasBody || o.BodyRecorded
		switch {
		case o.ConnectFail:
			return Retry, RetryConnectFailed
		case o.NotProcessed && bodyOK:
			return Retry, RetryRefusedStream
		case o.StaleReuse && o.Idempotent && !o.HasBody:
			return Retry, RetryStaleConnection
		}
	}
	return Answer, ""
}

// Retry reasons.
const (
	RetryConnectFailed   = "connect_failed"
	RetryRefusedStream   = "refused_stream"
	RetryStaleConnection = "stale_connection"
)
