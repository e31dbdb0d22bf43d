package admin

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
)

// The admin API (docs/admin-api.md): JSON in and out, versioned under
// /v1. Every answer is a JSON object; an error is {"error": "...",
// "details": [...]} with a 4xx status when the request is at fault and
// 5xx when sluice is.

// endpoint handles one method of one path; it returns the status and the
// value to send as JSON.
type endpoint func(who Peer, r *http.Request, body []byte) (int, any, *Error)

// Handler returns the admin API's HTTP handler. Peers are checked first
// (see allowed).
func (c *Controller) Handler() http.Handler {
	mux := http.NewServeMux()
	handle := func(path string, methods map[string]endpoint) {
		mux.Handle(path, c.methods(methods))
	}
	handle("/v1/status", map[string]endpoint{"GET": c.apiStatus})
	handle("/v1/state", map[string]endpoint{"GET": c.apiState})
	handle("/v1/clusters", map[string]endpoint{"POST": c.apiAddCluster})
	handle("/v1/clusters/{id}", map[string]endpoint{"DELETE": c.apiRemoveCluster})
	handle("/v1/clusters/{id}/frontends", map[string]endpoint{"POST": c.apiAddFrontend, "DELETE": c.apiRemoveFrontend})
	handle("/v1/clusters/{id}/backends", map[string]endpoint{"POST": c.apiAddBackend})
	handle("/v1/clusters/{id}/backends/{address}", map[string]endpoint{"DELETE": c.apiRemoveBackend})
	handle("/v1/listeners", map[string]endpoint{"POST": c.apiAddListener})
	handle("/v1/listeners/{address}", map[string]endpoint{"DELETE": c.apiRemoveListener})
	handle("/v1/listeners/{address}/certificates", map[string]endpoint{"GET": c.apiCerts, "POST": c.apiAddCert, "DELETE": c.apiRemoveCert})
	handle("/v1/listeners/{address}/certificates/{cert}", map[string]endpoint{"DELETE": c.apiRemoveCert})
	handle("/v1/reload", map[string]endpoint{"POST": c.apiReload})
	handle("/v1/shutdown", map[string]endpoint{"POST": c.apiShutdown})
	handle("/v1/upgrade", map[string]endpoint{"POST": c.apiUpgrade})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, notFound("no such endpoint: %s %s (see docs/admin-api.md)", r.Method, r.URL.Path))
	})
	return c.guard(mux)
}

// methods dispatches on the request method; others get 405 with Allow.
func (c *Controller) methods(m map[string]endpoint) http.Handler {
	allow := make([]string, 0, len(m))
	for k := range m {
		allow = append(allow, k)
	}
	slices.Sort(allow)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ep, ok := m[r.Method]
		if !ok {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, errorf(http.StatusMethodNotAllowed, "%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", ")))
			return
		}
		who := peerOf(r.Context())
		body, e := readBody(r)
		if e != nil {
			writeError(w, c.refuse(who, opName(r), r.URL.Path, e))
			return
		}
		status, v, e := ep(who, r, body)
		if e != nil {
			writeError(w, e)
			return
		}
		writeJSON(w, status, v)
	})
}

// opName names a request for the audit line when it is refused before
// its handler runs.
func opName(r *http.Request) string { return strings.ToLower(r.Method) + " " + r.URL.Path }

// guard refuses peers that are neither our user nor listed in
// admin_allowed_uids. The kernel reports the peer's uid (SO_PEERCRED), so
// this holds whatever the socket file's mode.
func (c *Controller) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := peerOf(r.Context())
		if !c.allowed(who) {
			e := errorf(http.StatusForbidden, "uid %d may not use this admin socket (allow it with admin_allowed_uids)", who.UID)
			writeError(w, c.refuse(who, "access", opName(r), e))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (c *Controller) allowed(who Peer) bool {
	if who.UID < 0 {
		// Credentials unavailable (not Linux): the socket's mode 0600 is
		// the only gate, which holds only without admin_allowed_uids.
		return len(c.srv.Live().AdminAllowedUIDs) == 0
	}
	return who.UID == os.Getuid() || slices.Contains(c.srv.Live().AdminAllowedUIDs, who.UID)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		writeError(w, errorf(http.StatusInternalServerError, "encoding the answer: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, e *Error) {
	b, _ := json.MarshalIndent(e, "", "  ")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	w.Write(append(b, '\n'))
}

// created and done turn a change's result into an endpoint's answer:
// 201 for an addition, 200 for anything else.
func created(out *Outcome, e *Error) (int, any, *Error) {
	if e != nil {
		return 0, nil, e
	}
	return http.StatusCreated, out, nil
}

func done(out *Outcome, e *Error) (int, any, *Error) {
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, out, nil
}

func (c *Controller) apiStatus(Peer, *http.Request, []byte) (int, any, *Error) {
	return http.StatusOK, c.Status(), nil
}

func (c *Controller) apiState(_ Peer, r *http.Request, _ []byte) (int, any, *Error) {
	doc := c.State()
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		return http.StatusOK, doc, nil
	case "toml":
		b, err := doc.TOML()
		if err != nil {
			return 0, nil, errorf(http.StatusInternalServerError, "%v", err)
		}
		return http.StatusOK, map[string]string{"toml": string(b)}, nil
	default:
		return 0, nil, badRequest("format %q: must be json or toml", f)
	}
}

func (c *Controller) apiAddCluster(who Peer, _ *http.Request, body []byte) (int, any, *Error) {
	return created(c.AddCluster(who, body))
}

func (c *Controller) apiRemoveCluster(who Peer, r *http.Request, _ []byte) (int, any, *Error) {
	return done(c.RemoveCluster(who, r.PathValue("id")))
}

func (c *Controller) apiAddFrontend(who Peer, r *http.Request, body []byte) (int, any, *Error) {
	return created(c.AddFrontend(who, r.PathValue("id"), body))
}

// apiRemoveFrontend names the frontend by query parameters (address,
// hostname, path, path_type), the same keys as the frontend table.
func (c *Controller) apiRemoveFrontend(who Peer, r *http.Request, _ []byte) (int, any, *Error) {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "address", "hostname", "path", "path_type":
		default:
			return 0, nil, c.refuse(who, "frontend.remove", r.URL.String(), badRequest("unknown parameter %q (address, hostname, path, path_type)", k))
		}
	}
	k := FrontendKey{Address: q.Get("address"), Hostname: q.Get("hostname"), Path: q.Get("path"), PathType: q.Get("path_type")}
	return done(c.RemoveFrontend(who, r.PathValue("id"), k))
}

func (c *Controller) apiAddBackend(who Peer, r *http.Request, body []byte) (int, any, *Error) {
	return created(c.AddBackend(who, r.PathValue("id"), body))
}

func (c *Controller) apiRemoveBackend(who Peer, r *http.Request, _ []byte) (int, any, *Error) {
	return done(c.RemoveBackend(who, r.PathValue("id"), r.PathValue("address")))
}

func (c *Controller) apiAddListener(who Peer, _ *http.Request, body []byte) (int, any, *Error) {
	return created(c.AddListener(who, body))
}

func (c *Controller) apiRemoveListener(who Peer, r *http.Request, _ []byte) (int, any, *Error) {
	return done(c.RemoveListener(who, r.PathValue("address")))
}

func (c *Controller) apiCerts(_ Peer, r *http.Request, _ []byte) (int, any, *Error) {
	certs, e := c.Certs(r.PathValue("address"))
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, map[string]any{"listener": canonicalListener(r.PathValue("address")), "certificates": certs}, nil
}

func (c *Controller) apiAddCert(who Peer, r *http.Request, body []byte) (int, any, *Error) {
	return created(c.AddCert(who, r.PathValue("address"), body))
}

// apiRemoveCert names the certificate in the path (its id) or with the
// certificate query parameter (its file).
func (c *Controller) apiRemoveCert(who Peer, r *http.Request, _ []byte) (int, any, *Error) {
	sel := r.PathValue("cert")
	if sel == "" {
		sel = r.URL.Query().Get("certificate")
	}
	if sel == "" {
		return 0, nil, c.refuse(who, "certificate.remove", r.URL.String(), badRequest("name the certificate: /certificates/ID or ?certificate=FILE"))
	}
	return done(c.RemoveCert(who, r.PathValue("address"), sel))
}

func (c *Controller) apiReload(who Peer, _ *http.Request, _ []byte) (int, any, *Error) {
	return done(c.Reload(who))
}

// ShutdownRequest is the optional body of POST /v1/shutdown.
type ShutdownRequest struct {
	// Hard closes every connection at once instead of draining.
	Hard bool `json:"hard"`
}

func (c *Controller) apiShutdown(who Peer, _ *http.Request, body []byte) (int, any, *Error) {
	var req ShutdownRequest
	if len(strings.TrimSpace(string(body))) > 0 {
		if _, e := decodeObject(body, &req); e != nil {
			return 0, nil, c.refuse(who, "shutdown", "", e)
		}
	}
	what := "graceful"
	if req.Hard {
		what = "hard"
	}
	if c.onShutdown == nil {
		return 0, nil, c.refuse(who, "shutdown", what, errorf(http.StatusNotImplemented, "this server cannot be shut down through the API"))
	}
	c.record(who, "shutdown", what, &Outcome{}, nil)
	// After the answer is written: the hook stops this API too.
	defer func() { go c.onShutdown(req.Hard) }()
	return http.StatusAccepted, map[string]any{"op": "shutdown", "what": what, "pid": os.Getpid()}, nil
}

func (c *Controller) apiUpgrade(who Peer, _ *http.Request, _ []byte) (int, any, *Error) {
	if c.onUpgrade == nil {
		return 0, nil, c.refuse(who, "upgrade", "", errorf(http.StatusNotImplemented, "this server cannot be upgraded through the API"))
	}
	res, err := c.onUpgrade()
	if err != nil {
		e := asError(err)
		c.record(who, "upgrade", "", nil, e)
		return 0, nil, e
	}
	c.record(who, "upgrade", "", &Outcome{}, nil)
	return http.StatusOK, res, nil
}
