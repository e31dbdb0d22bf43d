package h1

import (
	"errors"
	"strconv"
)

// ErrIncomplete reports that the input does not yet hold a complete unit
// (a head, a chunk-size line, a trailer section): read more and call again.
// It is returned as is, never wrapped, so callers may compare with ==.
var ErrIncomplete = errors.New("h1: incomplete message head")

// Error is a malformed or refused message. Status is the answer a server
// gives a client that sent it: 400 (malformed), 431 (head or field count
// over the limit), 501 (a transfer coding sluice does not implement) or 505
// (an HTTP version other than 1.0 and 1.1). For a backend's response the
// caller answers 502 whatever Status says. Reason is a stable snake_case
// token, suitable as a metric label and an access-log message; it never
// contains message bytes (no header values in logs).
type Error struct {
	Status int
	Reason string
}

// Error formats the rejection as "h1: reason (status)".
func (e *Error) Error() string {
	return "h1: " + e.Reason + " (" + strconv.Itoa(e.Status) + ")"
}

// allErrors lists every rejection, in declaration order, for Reasons.
var allErrors []*Error

func newError(status int, reason string) *Error {
	e := &Error{Status: status, Reason: reason}
	allErrors = append(allErrors, e)
	return e
}

// Reasons returns every Reason this package can report, so that a metrics
// registry can create each counter up front (a dashboard then shows a zero
// rather than no series).
func Reasons() []string {
	r := make([]string, len(allErrors))
	for i, e := range allErrors {
		r[i] = e.Reason
	}
	return r
}

// The rejection reasons. Each is a package-level value so that rejecting a
// hostile message allocates nothing.
var (
	// Line structure (RFC 9112 2.2).
	errBareLF         = newError(400, "bare_lf")
	errControlChar    = newError(400, "control_char")
	errObsFold        = newError(400, "obs_fold")
	errEmptyLines     = newError(400, "too_many_empty_lines")
	errHeadTooLarge   = newError(431, "head_too_large")
	errTooManyFields  = newError(431, "too_many_fields")
	errSpaceBefore    = newError(400, "space_before_colon")
	errBadFieldName   = newError(400, "bad_field_name")
	errBadRequestLine = newError(400, "bad_request_line")
	errBadMethod      = newError(400, "bad_method")
	errBadTarget      = newError(400, "bad_request_target")
	errBadVersion     = newError(400, "bad_version")
	errVersion        = newError(505, "unsupported_version")
	errBadStatusLine  = newError(400, "bad_status_line")
	errBadStatus      = newError(400, "bad_status")

	// Routing (RFC 9112 3.2, RFC 9110 7.2).
	errMissingHost   = newError(400, "missing_host")
	errDuplicateHost = newError(400, "duplicate_host")
	errBadHost       = newError(400, "bad_host")
	errHostMismatch  = newError(400, "host_mismatch")

	// Framing (RFC 9112 6).
	errCLAndTE         = newError(400, "cl_and_te")
	errDuplicateCL     = newError(400, "duplicate_content_length")
	errBadCL           = newError(400, "bad_content_length")
	errBadTE           = newError(400, "bad_transfer_encoding")
	errUnsupportedTE   = newError(501, "unsupported_transfer_coding")
	errTEOnHTTP10      = newError(400, "transfer_encoding_http10")
	errBadConnection   = newError(400, "bad_connection")
	errDuplicateUpgrad = newError(400, "duplicate_upgrade")

	// Chunked transfer coding (RFC 9112 7.1).
	errBadChunkSize       = newError(400, "bad_chunk_size")
	errBadChunkExt        = newError(400, "bad_chunk_ext")
	errChunkExtTooLong    = newError(400, "chunk_ext_too_long")
	errBadChunkTerminator = newError(400, "bad_chunk_terminator")
	errTrailersTooLarge   = newError(431, "trailers_too_large")
	errTooManyTrailers    = newError(431, "too_many_trailers")
)
