package backend

import (
	"errors"
	"testing"
)

// TestDecide is the table of end-of-attempt decisions (DESIGN.md 3.5): what
// happens for every way an attempt can end, and when a request may be sent
// again.
func TestDecide(t *testing.T) {
	failed := errors.New("failed")
	for _, tc := range []struct {
		name   string
		o      Outcome
		want   Decision
		reason string
	}{
		{"complete response", Outcome{}, Done, ""},
		{"complete response even if the body was not all read", Outcome{HasBody: true}, Done, ""},
		{"client went away", Outcome{Err: failed, ClientGone: true, ConnectFail: true, MaxAttempts: 3}, Abort, ""},
		{"response started then failed", Outcome{Err: failed, HeadSent: true, NotProcessed: true, Idempotent: true, MaxAttempts: 3}, Abort, ""},
		{"connect failure is retried", Outcome{Err: failed, ConnectFail: true, HasBody: true, MaxAttempts: 3}, Retry, RetryConnectFailed},
		{"connect failures exhausted", Outcome{Err: failed, ConnectFail: true, Attempts: 3, MaxAttempts: 3}, Answer, ""},
		{"refused stream without body", Outcome{Err: failed, NotProcessed: true, MaxAttempts: 3}, Retry, RetryRefusedStream},
		{"refused stream, body recorded", Outcome{Err: failed, NotProcessed: true, HasBody: true, BodyRecorded: true, MaxAttempts: 3}, Retry, RetryRefusedStream},
		{"refused stream, body too large to replay", Outcome{Err: failed, NotProcessed: true, HasBody: true, MaxAttempts: 3}, Answer, ""},
		{"refused stream retries exhausted", Outcome{Err: failed, NotProcessed: true, Attempts: 3, MaxAttempts: 3}, Answer, ""},
		{"stale keep-alive, idempotent, no body", Outcome{Err: failed, StaleReuse: true, Idempotent: true, MaxAttempts: 2}, Retry, RetryStaleConnection},
		{"stale keep-alive, POST", Outcome{Err: failed, StaleReuse: true, MaxAttempts: 2}, Answer, ""},
		{"stale keep-alive, PUT with body", Outcome{Err: failed, StaleReuse: true, Idempotent: true, HasBody: true, BodyRecorded: true, MaxAttempts: 2}, Answer, ""},
		{"backend failed after the request was sent", Outcome{Err: failed, Idempotent: true, MaxAttempts: 2}, Answer, ""},
		{"timeout before any response", Outcome{Err: failed, Idempotent: true, MaxAttempts: 2}, Answer, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := Decide(tc.o)
			if got != tc.want || reason != tc.reason {
				t.Fatalf("Decide(%+v) = %v %q, want %v %q", tc.o, got, reason, tc.want, tc.reason)
			}
		})
	}
}
