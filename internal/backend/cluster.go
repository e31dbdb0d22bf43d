package backend

import (
	"errors"
	"time"

	"github.com/sluice-proxy/sluice/internal/accesslog"
	"github.com/sluice-proxy/sluice/internal/metrics"
)

// ClusterOptions are a cluster's settings.
type ClusterOptions struct {
	Policy           Policy
	ConnectRetries   int            // other backends tried after a connect failure (default 3)
	RetryBufferBytes int            // request body kept for replaying a refused HTTP/2 stream (default 64 KiB)
	Answers          map[int][]byte // custom default answers by status; nil = built-in
	Metrics          *metrics.Metrics
}

// Cluster is an immutable set of backends with a load-balancing policy. A
// change of membership builds a new Cluster around the same *Backend values.
type Cluster struct {
	ID   string
	opts ClusterOptions
	lb   *balancer
}

// NewCluster builds a cluster over backends (which it does not copy).
func NewCluster(id string, o ClusterOptions, backends []*Backend) *Cluster {
	if o.ConnectRetries < 0 {
		o.ConnectRetries = 0
	}
	return &Cluster{ID: id, opts: o, lb: newBalancer(o.Policy, backends)}
}

// Backends returns the cluster's backends; callers must not modify it.
func (c *Cluster) Backends() []*Backend { return c.lb.backends }

// Policy returns the load-balancing policy.
func (c *Cluster) Policy() Policy { return c.lb.policy }

// Answer returns the cluster's custom body for a default answer, or nil.
func (c *Cluster) Answer(status int) []byte { return c.opts.Answers[status] }

// Pick chooses a backend for a new request, skipping exclude. Exposed for
// tests of the policies.
func (c *Cluster) Pick(exclude []*Backend) *Backend { return c.lb.pick(exclude) }

// RoundTrip sends req to a backend of the cluster and streams the response
// into w. It picks a backend, runs one attempt on its pool (HTTP/1.1 or
// HTTP/2), and lets Decide choose between done, retry (another connection
// or backend: connect failures mark the backend down), a default answer or
// an abort. Nothing is replayed once the backend may have acted on it,
// unless the method is idempotent, bodiless and no response byte arrived.
//
// On error, res.HeadSent tells the caller whether it can still answer with
// the *Error's status or must abort the response.
func (c *Cluster) RoundTrip(req *Request, body Body, w ResponseWriter, t Timeouts, res *Result) error {
	tr := trip{c: c, req: req, body: body}
	for {
		b, err := tr.pick(res)
		if b == nil {
			return err
		}
		var o Outcome
		if b.h2 != nil {
			o = c.attemptH2(b, req, tr.body, w, t, res, tr.replay)
		} else {
			o = c.attemptH1(b, req, tr.body, w, t, res)
		}
		if done, err := tr.settle(b, o, res); done {
			return err
		}
	}
}

// trip is one RoundTrip's retry state. RoundTrip and the simulator's
// SimTrip share it, so both pick and retry by the same rules.
type trip struct {
	c       *Cluster
	req     *Request
	body    Body // the request body, or its replay on a retry
	tried   [8]*Backend
	ntried  int
	lastErr error
	replay  *replayBuffer
	tries   [3]int // attempts by kind: connect, refused, stale
}

// pick chooses the backend of the next attempt; nil, with the error to
// return, when the client left or no backend is left.
func (tr *trip) pick(res *Result) (*Backend, error) {
	if tr.req.Cancel.Cancelled() {
		return nil, ErrClientGone
	}
	b := tr.c.lb.pick(tr.tried[:tr.ntried])
	if b == nil {
		if tr.lastErr != nil {
			return nil, tr.lastErr
		}
		return nil, errNoBackend
	}
	res.Backend = b
	if b.h2 != nil && tr.req.HasBody && tr.replay == nil {
		tr.replay = &replayBuffer{limit: tr.c.opts.RetryBufferBytes}
	}
	return b, nil
}

// settle lets Decide judge an attempt's outcome: done, with the error to
// return, or another attempt (with the recorded body when there is one).
func (tr *trip) settle(b *Backend, o Outcome, res *Result) (bool, error) {
	req := tr.req
	o.Idempotent, o.HasBody = req.Idempotent(), req.HasBody
	o.BodyRecorded = tr.replay.replayable()
	kind := 2
	switch {
	case o.ConnectFail:
		kind = 0
		o.MaxAttempts = tr.c.opts.ConnectRetries
	case o.NotProcessed:
		kind = 1
		o.MaxAttempts = maxNotProcessedRetries
	default:
		o.MaxAttempts = maxStaleRetries
	}
	o.Attempts = tr.tries[kind]
	d, reason := Decide(o)
	switch d {
	case Done:
		return true, nil
	case Retry:
		tr.tries[kind]++
		tr.c.retried(reason)
		res.Retries++
		if o.ConnectFail {
			b.MarkDown()
			if tr.ntried < len(tr.tried) {
				tr.tried[tr.ntried] = b
				tr.ntried++
			}
		}
		if req.HasBody && tr.replay != nil {
			tr.replay.replays++
			tr.body = &replayBody{data: tr.replay.data, trailers: tr.body.Trailers()}
		}
		tr.lastErr = o.Err
		return false, nil
	}
	if o.ConnectFail {
		b.MarkDown()
	}
	var se *staleConnError
	if errors.As(o.Err, &se) {
		return true, se.e
	}
	return true, o.Err
}

// Retry bounds, beyond connect_retries.
const (
	maxNotProcessedRetries = 3 // refused HTTP/2 streams
	maxStaleRetries        = 2 // keep-alive idle-close races
)

// attemptH1 runs one attempt over a backend's HTTP/1.1 pool.
func (c *Cluster) attemptH1(b *Backend, req *Request, body Body, w ResponseWriter, t Timeouts, res *Result) Outcome {
	start := b.now()
	conn, reused, err := b.pool.get(t.Connect)
	res.ConnectTime += b.now().Sub(start)
	if err != nil {
		return Outcome{Err: dialError(err), ConnectFail: true}
	}
	b.markUp()
	if !req.Cancel.attach(conn.nc) {
		b.pool.discard(conn, true)
		return Outcome{Err: ErrClientGone, ClientGone: true}
	}
	b.acquire()
	err = conn.exchange(req, body, w, t, res)
	b.release()
	if err == nil {
		// The common case returns before errors.As: its target escapes,
		// which would cost an allocation per request.
		return Outcome{HeadSent: res.HeadSent}
	}
	var se *staleConnError
	return Outcome{
		Err:        err,
		HeadSent:   res.HeadSent,
		ClientGone: errors.Is(err, ErrClientGone),
		StaleReuse: reused && errors.As(err, &se),
	}
}

// attemptH2 runs one attempt over a backend's HTTP/2 pool.
func (c *Cluster) attemptH2(b *Backend, req *Request, body Body, w ResponseWriter, t Timeouts, res *Result, replay *replayBuffer) Outcome {
	b.acquire()
	err := b.h2.exchange(req, body, w, t, res, replay)
	b.release()
	return h2Outcome(b, err, res)
}

// h2Outcome is what an HTTP/2 attempt's error means for Decide.
func h2Outcome(b *Backend, err error, res *Result) Outcome {
	if err == nil {
		// Before errors.As: its target escapes, an allocation per request.
		b.markUp()
		return Outcome{HeadSent: res.HeadSent}
	}
	o := Outcome{Err: err, HeadSent: res.HeadSent, ClientGone: errors.Is(err, ErrClientGone)}
	var se *staleConnError
	if errors.As(err, &se) {
		o.NotProcessed = se.notProcessed
		o.ConnectFail = se.e.Message == accesslog.MsgBackendConnectFailed || se.e.Message == accesslog.MsgBackendConnectTimeout
	}
	return o
}

func (c *Cluster) retried(reason string) {
	if c.opts.Metrics != nil {
		c.opts.Metrics.Retry(c.ID, reason)
	}
}

func dialError(err error) *Error {
	if isTimeout(err) {
		return &Error{Status: 504, Message: accesslog.MsgBackendConnectTimeout, Err: err}
	}
	return &Error{Status: 502, Message: accesslog.MsgBackendConnectFailed, Err: err}
}

// staleConnError marks a failure before any response byte on a connection,
// which the caller may retry when the connection was reused.
type staleConnError struct {
	e *Error
	// notProcessed: the backend certainly did not act on the request
	// (HTTP/2 refused stream, above a GOAWAY's last id, no stream opened):
	// it may be sent again anywhere, body included if it was recorded.
	notProcessed bool
}

func (s *staleConnError) Error() string { return s.e.Error() }
func (s *staleConnError) Unwrap() error { return s.e }

// ConnectTimeout is the default when a listener sets none.
const ConnectTimeout = 3 * time.Second
