package admin

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sluice-proxy/sluice/internal/config"
	"github.com/sluice-proxy/sluice/internal/state"
)

// The changes of the admin API, one method per operation. Each decodes and
// checks its input, then edits the candidate config inside change; the
// op names are the values of the op label of sluice_admin_changes_total.

func findCluster(cfg *config.Config, id string) (int, *config.Cluster) {
	for i, cl := range cfg.Clusters {
		if cl.ID == id {
			return i, cl
		}
	}
	return -1, nil
}

// canonicalListener spells a listener address the way the config stores
// it (an invalid one is returned as is: validation reports it).
func canonicalListener(addr string) string {
	return config.NewListener(addr, config.ProtocolHTTP).Address
}

func findListener(cfg *config.Config, addr string) (int, *config.Listener) {
	addr = canonicalListener(addr)
	for i, l := range cfg.Listeners {
		if l.Address == addr {
			return i, l
		}
	}
	return -1, nil
}

// absolute refuses relative file paths: the server's working directory
// is not the client's (sluice ctl makes its arguments absolute).
func absolute(paths map[string]string) *Error {
	for key, p := range paths {
		if p != "" && !filepath.IsAbs(p) {
			return badRequest("key %q: %q must be an absolute path (the server does not share your working directory)", key, p)
		}
	}
	return nil
}

// defaultWeight is the weight of a backend added without one.
var defaultWeight = config.NewBackend("x").Weight

// AddCluster adds a cluster. The body is a cluster table in JSON
// ({"id": "app", "load_balancing": "random", "frontends": [...],
// "backends": [...]}); keys left out take their defaults.
func (c *Controller) AddCluster(who Peer, body []byte) (*Outcome, *Error) {
	const op = "cluster.add"
	cl, e := parseCluster(body)
	if e != nil {
		what := ""
		if cl != nil {
			what = "cluster=" + cl.ID
		}
		return nil, c.refuse(who, op, what, e)
	}
	return c.change(who, op, "cluster="+cl.ID, func(cand *config.Config) error {
		if _, old := findCluster(cand, cl.ID); old != nil {
			return conflict("cluster %q already exists", cl.ID)
		}
		cand.Clusters = append(cand.Clusters, cl)
		return nil
	})
}

// parseCluster decodes the body of a cluster addition. On error the
// cluster, when not nil, carries only the ID (for the audit line).
func parseCluster(body []byte) (*config.Cluster, *Error) {
	doc := state.ClusterDocOf(config.NewCluster(""))
	req := struct {
		ID string `json:"id"`
		*state.ClusterDoc
	}{ClusterDoc: doc}
	raw, e := decodeObject(body, &req)
	if e != nil {
		return nil, e
	}
	named := &config.Cluster{ID: req.ID}
	if req.ID == "" {
		return nil, badRequest(`key "id" is required: the cluster's ID`)
	}
	// Defaults derived from other keys are derived again (ApplyDefaults)
	// unless the body set them.
	if !has(raw, "backend_max_connections") {
		doc.BackendMaxConnections = 0
	}
	if !has(raw, "health_backoff_max") {
		doc.HealthBackoffMax = 0
	}
	for i, el := range elementKeys(raw, "backends") {
		if !has(el, "weight") && i < len(doc.Backends) && doc.Backends[i] != nil {
			doc.Backends[i].Weight = defaultWeight
		}
	}
	paths := map[string]string{"backend_tls_ca": doc.BackendTLSCA}
	for code, p := range doc.Answers {
		paths["answers."+code] = p
	}
	for i, f := range doc.Frontends {
		if f == nil {
			return named, badRequest("frontends[%d]: must be an object", i)
		}
		k := fmt.Sprintf("frontends[%d].", i)
		paths[k+"certificate"], paths[k+"key"], paths[k+"certificate_chain"] = f.Certificate, f.Key, f.CertificateChain
	}
	for i, b := range doc.Backends {
		if b == nil {
			return named, badRequest("backends[%d]: must be an object", i)
		}
	}
	if e := absolute(paths); e != nil {
		return named, e
	}
	cl, err := doc.Cluster(req.ID)
	if err != nil {
		return named, badRequest("%v", err)
	}
	return cl, nil
}

// RemoveCluster removes a cluster, its frontends and its backends. Its
// backends take no new requests; requests in flight finish.
func (c *Controller) RemoveCluster(who Peer, id string) (*Outcome, *Error) {
	return c.change(who, "cluster.remove", "cluster="+id, func(cand *config.Config) error {
		i, cl := findCluster(cand, id)
		if cl == nil {
			return notFound("cluster %q not found", id)
		}
		cand.Clusters = slices.Delete(cand.Clusters, i, i+1)
		return nil
	})
}

// AddFrontend adds a route to a cluster. The body is a frontend table
// ({"address": LISTENER, "hostname": H, "path": P, "path_type": T}).
func (c *Controller) AddFrontend(who Peer, cluster string, body []byte) (*Outcome, *Error) {
	const op = "frontend.add"
	f, e := parseFrontend(body)
	if e != nil {
		return nil, c.refuse(who, op, "cluster="+cluster, e)
	}
	what := "cluster=" + cluster + " address=" + f.Address + " hostname=" + f.Hostname
	if f.Path != "" {
		what += " path=" + f.Path
	}
	return c.change(who, op, what, func(cand *config.Config) error {
		_, cl := findCluster(cand, cluster)
		if cl == nil {
			return notFound("cluster %q not found", cluster)
		}
		cl.Frontends = append(cl.Frontends, f)
		return nil
	})
}

// parseFrontend decodes the body of a frontend addition.
func parseFrontend(body []byte) (*config.Frontend, *Error) {
	var doc state.FrontendDoc
	if _, e := decodeObject(body, &doc); e != nil {
		return nil, e
	}
	if e := absolute(map[string]string{"certificate": doc.Certificate, "key": doc.Key, "certificate_chain": doc.CertificateChain}); e != nil {
		return nil, e
	}
	return doc.Frontend(), nil
}

// FrontendKey names a frontend to remove; Path and PathType default to
// "/" and "prefix" like in the config file.
type FrontendKey struct {
	Address, Hostname, Path, PathType string
}

// RemoveFrontend removes the cluster's frontend with that address,
// hostname, path and path type.
func (c *Controller) RemoveFrontend(who Peer, cluster string, k FrontendKey) (*Outcome, *Error) {
	const op = "frontend.remove"
	what := "cluster=" + cluster + " address=" + k.Address + " hostname=" + k.Hostname + " path=" + k.Path
	if k.Address == "" || k.Hostname == "" {
		return nil, c.refuse(who, op, what, badRequest("address and hostname are required to name the frontend"))
	}
	want := config.NewFrontend(k.Address, k.Hostname)
	if k.Path != "" {
		want.Path = k.Path
	}
	if k.PathType != "" {
		want.PathType = k.PathType
	}
	return c.change(who, op, what, func(cand *config.Config) error {
		_, cl := findCluster(cand, cluster)
		if cl == nil {
			return notFound("cluster %q not found", cluster)
		}
		for i, f := range cl.Frontends {
			if f.Address == want.Address && f.Hostname == want.Hostname && f.Path == want.Path && f.PathType == want.PathType {
				cl.Frontends = slices.Delete(cl.Frontends, i, i+1)
				return nil
			}
		}
		return notFound("cluster %q has no frontend address=%s hostname=%s path=%s path_type=%s", cluster, want.Address, want.Hostname, want.Path, want.PathType)
	})
}

// AddBackend adds a backend to a cluster. The body is a backend table
// ({"address": "10.0.0.5:8080", "id": "app-3", "weight": 50}).
func (c *Controller) AddBackend(who Peer, cluster string, body []byte) (*Outcome, *Error) {
	const op = "backend.add"
	b, e := parseBackend(body)
	if e != nil {
		return nil, c.refuse(who, op, "cluster="+cluster, e)
	}
	return c.change(who, op, "cluster="+cluster+" address="+b.Address, func(cand *config.Config) error {
		_, cl := findCluster(cand, cluster)
		if cl == nil {
			return notFound("cluster %q not found", cluster)
		}
		canon := config.NewBackend(b.Address).Address
		for _, o := range cl.Backends {
			if o.Address == canon {
				return conflict("cluster %q already has a backend at %s (id %s)", cluster, canon, o.ID)
			}
		}
		cl.Backends = append(cl.Backends, b)
		return nil
	})
}

// parseBackend decodes the body of a backend addition.
func parseBackend(body []byte) (*config.Backend, *Error) {
	doc := state.BackendDoc{Weight: defaultWeight}
	if _, e := decodeObject(body, &doc); e != nil {
		return nil, e
	}
	if doc.Address == "" {
		return nil, badRequest(`key "address" is required`)
	}
	return doc.Backend(), nil
}

// RemoveBackend removes a cluster's backend, named by address (or id). It
// takes no new requests; requests in flight on it finish.
func (c *Controller) RemoveBackend(who Peer, cluster, address string) (*Outcome, *Error) {
	what := "cluster=" + cluster + " address=" + address
	return c.change(who, "backend.remove", what, func(cand *config.Config) error {
		_, cl := findCluster(cand, cluster)
		if cl == nil {
			return notFound("cluster %q not found", cluster)
		}
		canon := config.NewBackend(address).Address
		i := slices.IndexFunc(cl.Backends, func(b *config.Backend) bool { return b.Address == canon })
		if i < 0 {
			i = slices.IndexFunc(cl.Backends, func(b *config.Backend) bool { return b.ID == address })
		}
		if i < 0 {
			return notFound("cluster %q has no backend %s", cluster, address)
		}
		cl.Backends = slices.Delete(cl.Backends, i, i+1)
		return nil
	})
}

// AddListener binds a new listener. The body is a listener table
// ({"address": "127.0.0.1:8081", "protocol": "http", ...}); keys left
// out take their defaults.
func (c *Controller) AddListener(who Peer, body []byte) (*Outcome, *Error) {
	const op = "listener.add"
	l, e := parseListener(body)
	if e != nil {
		return nil, c.refuse(who, op, "", e)
	}
	return c.change(who, op, "address="+l.Address+" protocol="+l.Protocol, func(cand *config.Config) error {
		if _, old := findListener(cand, l.Address); old != nil {
			return conflict("listener %s already exists", old.Address)
		}
		cand.Listeners = append(cand.Listeners, l)
		return nil
	})
}

// parseListener decodes the body of a listener addition: defaults are
// those of its protocol, as in the config file.
func parseListener(body []byte) (*config.Listener, *Error) {
	raw, e := decodeObject(body, &state.ListenerDoc{})
	if e != nil {
		return nil, e
	}
	addr, _ := stringField(raw, "address")
	proto, _ := stringField(raw, "protocol")
	if addr == "" || proto == "" {
		return nil, badRequest(`keys "address" and "protocol" are required`)
	}
	doc := state.ListenerDocOf(config.NewListener(addr, proto))
	if _, e := decodeObject(body, doc); e != nil {
		return nil, e
	}
	if !has(raw, "h2_stream_idle_timeout_seconds") {
		doc.H2StreamIdleTimeout = 0 // follows back_timeout again
	}
	paths := map[string]string{"certificate": doc.Certificate, "key": doc.Key, "certificate_chain": doc.CertificateChain}
	for i, cf := range doc.Certificates {
		if cf == nil {
			return nil, badRequest("certificates[%d]: must be an object", i)
		}
		k := fmt.Sprintf("certificates[%d].", i)
		paths[k+"certificate"], paths[k+"key"], paths[k+"certificate_chain"] = cf.Certificate, cf.Key, cf.CertificateChain
	}
	if e := absolute(paths); e != nil {
		return nil, e
	}
	return doc.Listener(), nil
}

// RemoveListener stops a listener: it accepts nothing more and its
// sessions drain as at shutdown. Frontends still naming it must be removed
// first.
func (c *Controller) RemoveListener(who Peer, address string) (*Outcome, *Error) {
	return c.change(who, "listener.remove", "address="+address, func(cand *config.Config) error {
		i, l := findListener(cand, address)
		if l == nil {
			return notFound("listener %s not found", address)
		}
		var users []string
		for _, cl := range cand.Clusters {
			for _, f := range cl.Frontends {
				if f.Address == l.Address && !slices.Contains(users, cl.ID) {
					users = append(users, cl.ID)
				}
			}
		}
		if len(users) > 0 {
			return &Error{Status: http.StatusConflict, Message: "listener " + l.Address + " is used by frontends of clusters " +
				strings.Join(users, ", ") + ": remove those frontends first"}
		}
		cand.Listeners = slices.Delete(cand.Listeners, i, i+1)
		return nil
	})
}
