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
// into w. It picks a backend, obtains a connection (retrying other backends
// after connect failures, marking the failed ones down), and retries a
// request that failed on a reused keep-alive connection when that is safe:
// the method is idempotent, the request carries no body, and no response
// byte arrived. Nothing is ever replayed once the backend may have acted on
// it otherwise.
//
// On error, res.HeadSent tells the caller whether it can still answer with
// the *Error's status or must abort the response.
func (c *Cluster) RoundTrip(req *Request, body Body, w ResponseWriter, t Timeouts, res *Result) error {
	var triedBuf [8]*Backend
	tried := triedBuf[:0]
	var lastErr *Error
	connectFailures := 0
	staleRetries := 0
	notProcessedRetries := 0
	var replay *replayBuffer
	for {
		if req.Cancel.Cancelled() {
			return ErrClientGone
		}
		b := c.lb.pick(tried)
		if b == nil {
			if lastErr != nil {
				return lastErr
			}
			return errNoBackend
		}
		res.Backend = b
		if b.h2 != nil {
			var e *Error
			retry, err := c.tryH2(b, req, &body, w, t, res, &replay, &notProcessedRetries)
			if err == nil {
				return nil
			}
			if retry {
				if errors.As(err, &e) && (e.Message == accesslog.MsgBackendConnectFailed || e.Message == accesslog.MsgBackendConnectTimeout) {
					b.MarkDown()
					lastErr = e
					if len(tried) < cap(tried) {
						tried = append(tried, b)
					}
					connectFailures++
					if connectFailures > c.opts.ConnectRetries {
						return lastErr
					}
					c.retried("connect_failed")
				} else {
					c.retried("refused_stream")
				}
				res.Retries++
				continue
			}
			return err
		}
		start := b.now()
		conn, reused, err := b.pool.get(t.Connect)
		res.ConnectTime += b.now().Sub(start)
		if err != nil {
			b.MarkDown()
			lastErr = dialError(err)
			if len(tried) < cap(tried) {
				tried = append(tried, b)
			}
			connectFailures++
			if connectFailures > c.opts.ConnectRetries {
				return lastErr
			}
			c.retried("connect_failed")
			res.Retries++
			continue
		}
		b.markUp()
		if !req.Cancel.attach(conn.nc) {
			b.pool.discard(conn, true)
			return ErrClientGone
		}
		b.acquire()
		err = conn.exchange(req, body, w, t, res)
		b.release()
		if err == nil {
			return nil
		}
		var se *staleConnError
		if errors.As(err, &se) && reused && staleRetries < 2 && req.Idempotent() && !req.HasBody {
			// The keep-alive connection died under us before any response
			// byte: the classic idle-close race. Safe to replay.
			staleRetries++
			c.retried("stale_connection")
			res.Retries++
			continue
		}
		if errors.As(err, &se) {
			return se.e
		}
		return err
	}
}

// maxNotProcessedRetries bounds how often a request the backend refused
// (REFUSED_STREAM, GOAWAY) is sent again.
const maxNotProcessedRetries = 3

// tryH2 runs one attempt over a backend's HTTP/2 pool. retry says whether
// the request may be sent again: the backend certainly did not process it
// (or no connection could be made), no response byte went out, and its
// body, if any, was fully recorded within retry_buffer_bytes.
func (c *Cluster) tryH2(b *Backend, req *Request, body *Body, w ResponseWriter, t Timeouts, res *Result, replay **replayBuffer, retries *int) (bool, error) {
	if req.HasBody && *replay == nil {
		*replay = &replayBuffer{limit: c.opts.RetryBufferBytes}
	}
	b.acquire()
	err := b.h2.exchange(req, *body, w, t, res, *replay)
	b.release()
	if err == nil {
		b.markUp()
		return false, nil
	}
	var se *staleConnError
	if !errors.As(err, &se) {
		return false, err
	}
	if !se.notProcessed || res.HeadSent || *retries >= maxNotProcessedRetries {
		return false, se.e
	}
	if req.HasBody {
		rp := *replay
		if !rp.replayable() {
			return false, se.e
		}
		*body = &replayBody{data: rp.data, trailers: (*body).Trailers()}
		rp.replays++
	}
	*retries++
	return true, se.e
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
