package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
)

// MaxBodyBytes bounds a request body: the largest legitimate one is a
// certificate upload (a chain and a key, a few KiB each).
const MaxBodyBytes = 1 << 20

// readBody reads a request body of at most MaxBodyBytes.
func readBody(r *http.Request) ([]byte, *Error) {
	if r.Body == nil {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, badRequest("reading the request body: %v", err)
	}
	if len(data) > MaxBodyBytes {
		return nil, errorf(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", MaxBodyBytes)
	}
	return data, nil
}

// decodeObject decodes a JSON object into dst strictly: a key dst does not
// have, a value of the wrong type, trailing data or anything but an
// object is an error naming the problem. dst keeps the values it had for
// the keys the object leaves out (callers preload defaults). It returns
// the keys present.
func decodeObject(data []byte, dst any) (map[string]json.RawMessage, *Error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, badRequest("request body is empty: a JSON object is required")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, jsonError(err)
	}
	if raw == nil {
		return nil, badRequest("request body must be a JSON object, not null")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return nil, jsonError(err)
	}
	return raw, nil
}

// jsonError explains a JSON decoding error in the API's terms.
func jsonError(err error) *Error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return badRequest("malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: unexpected end of input")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest("request body must be a JSON object, not %s", typ.Value)
		}
		return badRequest("key %q: must be %s, not %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("unknown key %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return badRequest("malformed JSON: %v", err)
}

// jsonKind names a Go kind the way a JSON user thinks of it.
func jsonKind(k string) string {
	switch k {
	case "int", "int64", "uint32", "int32", "uint64", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return k
}

// has reports whether a JSON object had key.
func has(raw map[string]json.RawMessage, key string) bool {
	_, ok := raw[key]
	return ok
}

// elementKeys returns, for an array of objects under key, the keys each
// element has (nil when the key is absent or not such an array; the
// strict decode reports that).
func elementKeys(raw map[string]json.RawMessage, key string) []map[string]json.RawMessage {
	v, ok := raw[key]
	if !ok {
		return nil
	}
	var out []map[string]json.RawMessage
	if json.Unmarshal(v, &out) != nil {
		return nil
	}
	return out
}

// stringField reads a string key of a JSON object ("" when absent).
func stringField(raw map[string]json.RawMessage, key string) (string, *Error) {
	v, ok := raw[key]
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", badRequest("key %q: must be a string", key)
	}
	return s, nil
}
