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

func (e *Error) Error() string {
	return "h1: " + e.Reason + " (" + strconv.Itoa(e.Status) + ")"
}

// The rejection reasons. Each is a package-level value so that rejecting a
// hostile message allocates nothing.
var (
	// Line structure (RFC 9112 2.2).
	errBareLF         = &Error{400, "bare_lf"}
	errControlChar    = &Error{400, "control_char"}
	errObsFold        = &Error{400, "obs_fold"}
	errEmptyLines     = &Error{400, "too_many_empty_lines"}
	errHeadTooLarge   = &Error{431, "head_too_large"}
	errTooManyFields  = &Error{431, "too_many_fields"}
	errSpaceBefore    = &Error{400, "space_before_colon"}
	errBadFieldName   = &Error{400, "bad_field_name"}
	errBadRequestLine = &Error{400, "bad_request_line"}
	errBadMethod      = &Error{400, "bad_method"}
	errBadTarget      = &Error{400, "bad_request_target"}
	errBadVersion     = &Error{400, "bad_version"}
	errVersion        = &Error{505, "unsupported_version"}
	errBadStatusLine  = &Error{400, "bad_status_line"}
	errBadStatus      = &Error{400, "bad_status"}

	// Routing (RFC 9112 3.2, RFC 9110 7.2).
	errMissingHost   = &Error{400, "missing_host"}
	errDuplicateHost = &Error{400, "duplicate_host"}
	errBadHost       = &Error{400, "bad_host"}
	errHostMismatch  = &Error{400, "host_mismatch"}

	// Framing (RFC 9112 6).
	errCLAndTE         = &Error{400, "cl_and_te"}
	errDuplicateCL     = &Error{400, "duplicate_content_length"}
	errBadCL           = &Error{400, "bad_content_length"}
	errBadTE           = &Error{400, "bad_transfer_encoding"}
	errUnsupportedTE   = &Error{501, "unsupported_transfer_coding"}
	errTEOnHTTP10      = &Error{400, "transfer_encoding_http10"}
	errBadConnection   = &Error{400, "bad_connection"}
	errDuplicateUpgrad = &Error{400, "duplicate_upgrade"}

	// Chunked transfer coding (RFC 9112 7.1).
	errBadChunkSize       = &Error{400, "bad_chunk_size"}
	errBadChunkExt        = &Error{400, "bad_chunk_ext"}
	errChunkExtTooLong    = &Error{400, "chunk_ext_too_long"}
	errBadChunkTerminator = &Error{400, "bad_chunk_terminator"}
	errTrailersTooLarge   = &Error{431, "trailers_too_large"}
	errTooManyTrailers    = &Error{431, "too_many_trailers"}
)
