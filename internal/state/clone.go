package state

import (
	"maps"
	"slices"

	"github.com/sluice-proxy/sluice/internal/config"
)

// CloneConfig returns a deep copy of c: changing the copy (the candidate
// of an admin change) never touches the live config, which running
// sessions and the API may be reading.
func CloneConfig(c *config.Config) *config.Config {
	n := *c
	n.AdminAllowedUIDs = slices.Clone(c.AdminAllowedUIDs)
	n.Listeners = make([]*config.Listener, len(c.Listeners))
	for i, l := range c.Listeners {
		n.Listeners[i] = CloneListener(l)
	}
	n.Clusters = make([]*config.Cluster, len(c.Clusters))
	for i, cl := range c.Clusters {
		n.Clusters[i] = CloneCluster(cl)
	}
	return &n
}

// CloneListener returns a deep copy of l.
func CloneListener(l *config.Listener) *config.Listener {
	n := *l
	n.TLSVersions = slices.Clone(l.TLSVersions)
	n.CipherSuites = slices.Clone(l.CipherSuites)
	n.ALPNProtocols = slices.Clone(l.ALPNProtocols)
	n.Certificates = nil
	for _, c := range l.Certificates {
		cc := *c
		n.Certificates = append(n.Certificates, &cc)
	}
	return &n
}

// CloneCluster returns a deep copy of c.
func CloneCluster(c *config.Cluster) *config.Cluster {
	n := *c
	n.Answers = maps.Clone(c.Answers)
	n.AnswerFiles = maps.Clone(c.AnswerFiles)
	n.Frontends = make([]*config.Frontend, len(c.Frontends))
	for i, f := range c.Frontends {
		ff := *f
		n.Frontends[i] = &ff
	}
	n.Backends = make([]*config.Backend, len(c.Backends))
	for i, b := range c.Backends {
		bb := *b
		n.Backends[i] = &bb
	}
	return &n
}
