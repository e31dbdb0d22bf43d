package admin

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/internal/config"
	"github.com/sluice-proxy/sluice/internal/server"
)

// BenchmarkChange measures one admin change end to end without the
// socket: clone the live config, edit, validate, reconfigure (a new
// routing snapshot), write the saved state (fsync included), audit. A
// change is not a hot path; the figure tells an operator what a burst of
// changes costs, and how it grows with the size of the config.
func BenchmarkChange(b *testing.B) {
	for _, clusters := range []int{1, 100} {
		b.Run(fmt.Sprintf("clusters=%d", clusters), func(b *testing.B) {
			addr := freeAddrs(b, 1)[0]
			cfg := &config.Config{AccessLog: "off", SavedState: filepath.Join(b.TempDir(), "saved.toml")}
			cfg.Listeners = []*config.Listener{config.NewListener(addr, "http")}
			for i := range clusters {
				cl := config.NewCluster(fmt.Sprintf("c%03d", i))
				cl.Frontends = []*config.Frontend{config.NewFrontend(addr, fmt.Sprintf("h%d.test", i))}
				cl.Backends = []*config.Backend{config.NewBackend(fmt.Sprintf("10.0.%d.%d:80", i/250, i%250+1))}
				cfg.Clusters = append(cfg.Clusters, cl)
			}
			config.ApplyDefaults(cfg)
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			srv, err := server.Start(cfg, server.Options{Log: log})
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				srv.Shutdown(ctx)
			}()
			c := NewController(srv, "", log)
			add := []byte(`{"address": "10.9.9.9:80", "id": "extra"}`)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				var e *Error
				if i%2 == 0 {
					_, e = c.AddBackend(Peer{}, "c000", add)
				} else {
					_, e = c.RemoveBackend(Peer{}, "c000", "10.9.9.9:80")
				}
				if e != nil {
					b.Fatal(e)
				}
			}
		})
	}
}
