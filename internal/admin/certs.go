package admin

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sluice-proxy/sluice/internal/config"
	"github.com/sluice-proxy/sluice/internal/server"
	"github.com/sluice-proxy/sluice/internal/state"
)

// CertRequest is the body of a certificate upload: either files the
// server can read (absolute paths) or the PEM text itself, which the
// server stores (next to the saved state, or in a private temporary
// directory) so that the live state can name it by file.
type CertRequest struct {
	Certificate      string `json:"certificate,omitempty"`
	Key              string `json:"key,omitempty"`
	CertificateChain string `json:"certificate_chain,omitempty"`

	CertificatePEM string `json:"certificate_pem,omitempty"`
	KeyPEM         string `json:"key_pem,omitempty"`
	ChainPEM       string `json:"certificate_chain_pem,omitempty"`

	// Replace names a certificate of the listener (id, an id prefix of at
	// least 8 hex digits, or its certificate file) that the new one takes
	// the place of, wherever the config declares it: handshakes see one or
	// the other, never neither.
	Replace string `json:"replace,omitempty"`
	// Default makes it the listener's default certificate (served when no
	// name matches); the previous default stays offered by name.
	Default bool `json:"default,omitempty"`
}

// parseCertRequest decodes and checks the body of a certificate upload.
func parseCertRequest(body []byte) (CertRequest, *Error) {
	var req CertRequest
	if _, e := decodeObject(body, &req); e != nil {
		return req, e
	}
	if req.Replace != "" && req.Default {
		return req, badRequest(`"replace" and "default" cannot be combined: a replacement takes the place (and the role) of the one it replaces`)
	}
	hasFiles := req.Certificate != "" || req.Key != "" || req.CertificateChain != ""
	hasPEM := req.CertificatePEM != "" || req.KeyPEM != "" || req.ChainPEM != ""
	switch {
	case hasPEM && hasFiles:
		return req, badRequest("give either files (certificate, key) or PEM text (certificate_pem, key_pem), not both")
	case hasPEM:
		if req.CertificatePEM == "" || req.KeyPEM == "" {
			return req, badRequest(`"certificate_pem" and "key_pem" are both required`)
		}
		if _, err := server.CertPEMID([]byte(req.CertificatePEM)); err != nil {
			return req, badRequest("certificate_pem: %v", err)
		}
	default:
		if req.Certificate == "" || req.Key == "" {
			return req, badRequest(`"certificate" and "key" (absolute file paths) are required, or "certificate_pem" and "key_pem"`)
		}
		if e := absolute(map[string]string{"certificate": req.Certificate, "key": req.Key, "certificate_chain": req.CertificateChain}); e != nil {
			return req, e
		}
	}
	return req, nil
}

// CertInfo describes a certificate offered on a listener.
type CertInfo struct {
	ID        string           `json:"id"`
	Names     []string         `json:"names"`
	NotBefore time.Time        `json:"not_before"`
	NotAfter  time.Time        `json:"not_after"`
	Default   bool             `json:"default"`
	Sources   []server.CertRef `json:"sources"`
}

// certRefIDs lists the certificates cfg offers on lc with their ids.
func certRefIDs(cfg *config.Config, lc *config.Listener) ([]server.CertRef, []string) {
	refs := server.ListenerCerts(cfg, lc)
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i], _ = server.CertFileID(r.Certificate)
	}
	return refs, ids
}

// selectRefs returns the indexes of the refs sel names: by file, by id or
// by an id prefix of at least 8 hex digits naming one certificate.
func selectRefs(refs []server.CertRef, ids []string, sel string) ([]int, *Error) {
	var out []int
	if filepath.IsAbs(sel) {
		for i, r := range refs {
			if filepath.Clean(r.Certificate) == filepath.Clean(sel) {
				out = append(out, i)
			}
		}
		return out, nil
	}
	sel = strings.ToLower(sel)
	if len(sel) < 8 {
		return nil, badRequest("certificate %q: name it by its id (at least 8 hex digits) or by its file (an absolute path)", sel)
	}
	matched := ""
	for i, id := range ids {
		if id != "" && strings.HasPrefix(id, sel) {
			if matched != "" && matched != id {
				return nil, badRequest("certificate %q is ambiguous: give more digits of the id", sel)
			}
			matched = id
			out = append(out, i)
		}
	}
	return out, nil
}

// httpsListener finds an https listener of cand.
func httpsListener(cand *config.Config, address string) (*config.Listener, *Error) {
	_, lc := findListener(cand, address)
	if lc == nil {
		return nil, notFound("listener %s not found", address)
	}
	if lc.Protocol != config.ProtocolHTTPS {
		return nil, badRequest("listener %s is %s: certificates apply only to https listeners", lc.Address, lc.Protocol)
	}
	return lc, nil
}

// AddCert adds (or, with Replace, swaps in) a certificate on an https
// listener. New handshakes see it at once; open connections keep what
// they were served.
func (c *Controller) AddCert(who Peer, address string, body []byte) (*Outcome, *Error) {
	const op = "certificate.add"
	what := "listener=" + address
	req, e := parseCertRequest(body)
	if e != nil {
		return nil, c.refuse(who, op, what, e)
	}
	files := config.CertificateFiles{Certificate: req.Certificate, Key: req.Key, CertificateChain: req.CertificateChain}
	var written []string
	if req.CertificatePEM != "" {
		var e *Error
		files, written, e = c.storePEM(req)
		if e != nil {
			return nil, c.refuse(who, op, what, e)
		}
	}
	what += " certificate=" + files.Certificate
	newID, err := server.CertFileID(files.Certificate)
	if err != nil {
		removeAll(written)
		return nil, c.refuse(who, op, what, badRequest("certificate %s: %v", files.Certificate, err))
	}
	out, e := c.change(who, op, what, func(cand *config.Config) error {
		lc, e := httpsListener(cand, address)
		if e != nil {
			return e
		}
		refs, ids := certRefIDs(cand, lc)
		var targets []int
		if req.Replace != "" {
			if targets, e = selectRefs(refs, ids, req.Replace); e != nil {
				return e
			}
			if len(targets) == 0 {
				return notFound("listener %s offers no certificate %s", lc.Address, req.Replace)
			}
		}
		for i, id := range ids {
			if id == newID && !slices.Contains(targets, i) {
				return conflict("listener %s already offers this certificate (id %s, %s %s)", lc.Address, id, refs[i].Role, refs[i].Certificate)
			}
		}
		if req.Replace != "" {
			setRefs(cand, lc, refs, targets, &files)
			return nil
		}
		if req.Default {
			if lc.Certificate != "" {
				lc.Certificates = append(lc.Certificates, &config.CertificateFiles{Certificate: lc.Certificate, Key: lc.Key, CertificateChain: lc.CertificateChain})
			}
			lc.Certificate, lc.Key, lc.CertificateChain = files.Certificate, files.Key, files.CertificateChain
			return nil
		}
		f := files
		lc.Certificates = append(lc.Certificates, &f)
		return nil
	})
	if e != nil {
		removeAll(written)
		return nil, e
	}
	out.Extra = map[string]any{"id": newID}
	return out, nil
}

// RemoveCert stops offering a certificate on a listener, wherever the
// config declares it (a frontend keeps its route and loses only its
// certificate). Handshakes already done keep it.
func (c *Controller) RemoveCert(who Peer, address, sel string) (*Outcome, *Error) {
	what := "listener=" + address + " certificate=" + sel
	return c.change(who, "certificate.remove", what, func(cand *config.Config) error {
		lc, e := httpsListener(cand, address)
		if e != nil {
			return e
		}
		refs, ids := certRefIDs(cand, lc)
		targets, e := selectRefs(refs, ids, sel)
		if e != nil {
			return e
		}
		if len(targets) == 0 {
			return notFound("listener %s offers no certificate %s", lc.Address, sel)
		}
		setRefs(cand, lc, refs, targets, nil)
		return nil
	})
}

// setRefs points the selected certificate declarations at files, or
// removes them when files is nil.
func setRefs(cand *config.Config, lc *config.Listener, refs []server.CertRef, targets []int, files *config.CertificateFiles) {
	var nf config.CertificateFiles
	if files != nil {
		nf = *files
	}
	var keep []*config.CertificateFiles
	for i, ref := range refs {
		if !slices.Contains(targets, i) {
			if ref.Role == "listener" {
				f := ref.CertificateFiles
				keep = append(keep, &f)
			}
			continue
		}
		switch ref.Role {
		case "default":
			lc.Certificate, lc.Key, lc.CertificateChain = nf.Certificate, nf.Key, nf.CertificateChain
		case "frontend":
			for _, cl := range cand.Clusters {
				for _, f := range cl.Frontends {
					if cl.ID == ref.Cluster && f.Address == lc.Address && f.Hostname == ref.Hostname && f.Certificate == ref.Certificate {
						f.Certificate, f.Key, f.CertificateChain = nf.Certificate, nf.Key, nf.CertificateChain
					}
				}
			}
		case "listener":
			if files != nil {
				f := nf
				keep = append(keep, &f)
			}
		}
	}
	lc.Certificates = keep
}

// Certs lists the certificates the live store of an https listener holds,
// with where the config declares each.
func (c *Controller) Certs(address string) ([]CertInfo, *Error) {
	cfg := c.srv.Live()
	lc, e := httpsListener(state.CloneConfig(cfg), address)
	if e != nil {
		return nil, e
	}
	store := c.srv.CertStore(lc.Address)
	if store == nil {
		return nil, errorf(http.StatusInternalServerError, "listener %s has no certificate store", lc.Address)
	}
	refs, ids := certRefIDs(cfg, lc)
	def := store.Default()
	out := []CertInfo{}
	for _, cert := range store.List() {
		ci := CertInfo{ID: cert.ID, Names: cert.Names, NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, Default: cert == def, Sources: []server.CertRef{}}
		for i, id := range ids {
			if id == cert.ID {
				ci.Sources = append(ci.Sources, refs[i])
			}
		}
		out = append(out, ci)
	}
	return out, nil
}

// storePEM writes an uploaded certificate to the certificate directory,
// named by its id, and returns its files and those it created (removed
// again if the change is refused).
func (c *Controller) storePEM(req CertRequest) (config.CertificateFiles, []string, *Error) {
	var files config.CertificateFiles
	id, err := server.CertPEMID([]byte(req.CertificatePEM))
	if err != nil {
		return files, nil, badRequest("certificate_pem: %v", err)
	}
	dir, err := c.certDir()
	if err != nil {
		return files, nil, errorf(http.StatusInternalServerError, "certificate directory: %v", err)
	}
	var written []string
	put := func(name, data string) (string, error) {
		if data == "" {
			return "", nil
		}
		p := filepath.Join(dir, id+name)
		if _, err := os.Stat(p); err == nil {
			if old, err := os.ReadFile(p); err == nil && string(old) == data {
				return p, nil
			}
		}
		if err := state.WriteFileAtomic(p, []byte(data)); err != nil {
			return "", err
		}
		written = append(written, p)
		return p, nil
	}
	for _, f := range []struct {
		dst  *string
		name string
		data string
	}{{&files.Certificate, ".crt", req.CertificatePEM}, {&files.Key, ".key", req.KeyPEM}, {&files.CertificateChain, ".chain.crt", req.ChainPEM}} {
		p, err := put(f.name, f.data)
		if err != nil {
			removeAll(written)
			return files, nil, errorf(http.StatusInternalServerError, "storing the upload: %v", err)
		}
		*f.dst = p
	}
	return files, written, nil
}

// certDir is where uploaded certificates are kept: beside the saved state
// (so a restart finds them), else in a private temporary directory made
// once per process.
func (c *Controller) certDir() (string, error) {
	if saved := c.srv.Live().SavedState; saved != "" {
		dir := saved + ".certs"
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", err
		}
		return dir, nil
	}
	c.certMu.Lock()
	defer c.certMu.Unlock()
	if c.tmpCertDir == "" {
		dir, err := os.MkdirTemp("", "sluice-certs-")
		if err != nil {
			return "", err
		}
		c.tmpCertDir = dir
	}
	return c.tmpCertDir, nil
}

func removeAll(paths []string) {
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			continue
		}
	}
}
