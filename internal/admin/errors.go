package admin

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/sluice-proxy/sluice/internal/config"
)

// Error is a refused or failed admin request: the HTTP status it is
// answered with and a message naming what is wrong. Details list every
// problem of an invalid change, by config key.
type Error struct {
	Status  int      `json:"-"`
	Message string   `json:"error"`
	Details []Detail `json:"details,omitempty"`
}

// Detail is one problem of an invalid change: the config key as the file
// would spell it (clusters.app.backends[2].address) and what is wrong.
type Detail struct {
	Key     string `json:"key,omitempty"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	s := e.Message
	for _, d := range e.Details {
		if d.Key != "" {
			s += "\n  " + d.Key + ": " + d.Message
		} else {
			s += "\n  " + d.Message
		}
	}
	return s
}

// Result is the outcome label of sluice_admin_changes_total and of the
// audit line: "ok", "refused" (the request was wrong: 4xx) or "failed"
// (sluice could not do it: 5xx).
func (e *Error) Result() string {
	if e == nil {
		return "ok"
	}
	if e.Status >= 500 {
		return "failed"
	}
	return "refused"
}

func errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, format, args...)
}

func notFound(format string, args ...any) *Error {
	return errorf(http.StatusNotFound, format, args...)
}

func conflict(format string, args ...any) *Error {
	return errorf(http.StatusConflict, format, args...)
}

// invalid turns the errors of config.Validate on a candidate config into
// a 400 listing each problem by key. File and line are dropped: they
// point into the config file, and an API change has no line there.
func invalid(err error) *Error {
	e := &Error{Status: http.StatusBadRequest, Message: "invalid change: nothing was applied"}
	var errs config.Errors
	if errors.As(err, &errs) {
		for _, ce := range errs {
			e.Details = append(e.Details, Detail{Key: ce.Key, Message: ce.Msg})
		}
	} else {
		e.Details = append(e.Details, Detail{Message: err.Error()})
	}
	return e
}

// asError returns err as an *Error (500 for anything unexpected).
func asError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return errorf(http.StatusInternalServerError, "%v", err)
}
