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
	n.Listeners = cloneEach(c.Listeners, CloneListener)
	n.Clusters = cloneEach(c.Clusters, CloneCluster)
	return &n
}

// CloneListener returns a deep copy of l.
func CloneListener(l *config.Listener) *config.Listener {
	n := *l
	n.TLSVersions = slices.Clone(l.TLSVersions)
	n.CipherSuites = slices.Clone(l.CipherSuites)
	n.ALPNProtocols = slices.Clone(l.ALPNProtocols)
	n.Certificates = cloneEach(l.Certificates, shallow)
	return &n
}

// CloneCluster returns a deep copy of c.
func CloneCluster(c *config.Cluster) *config.Cluster {
	n := *c
	n.Answers = maps.Clone(c.Answers)
	n.AnswerFiles = maps.Clone(c.AnswerFiles)
	n.Frontends = cloneEach(c.Frontends, shallow)
	n.Backends = cloneEach(c.Backends, shallow)
	return &n
}

// cloneEach copies a slice of pointers with copies of their targets; nil
// stays nil (config tells "unset" from "empty" in places).
func cloneEach[T any](s []*T, clone func(*T) *T) []*T {
	if s == nil {
		return nil
	}
	out := make([]*T, len(s))
	for i, x := range s {
		out[i] = clone(x)
	}
	return out
}

// shallow copies a struct without pointers inside.
func shallow[T any](x *T) *T {
	c := *x
	return &c
}
