package server

import (
	"fmt"
	"os"
)

// MetricsSocket names the metrics listener in SocketFiles.
const MetricsSocket = "metrics"

// SocketFiles returns duplicates of the listening sockets' descriptors,
// keyed by listener address, plus MetricsSocket for metrics_address: what
// a new process inherits in a zero-downtime upgrade. The sockets stay open
// and accepting here; the caller closes the files once the new process has
// them.
func (s *Server) SocketFiles() (map[string]*os.File, error) {
	s.reconf.Lock()
	defer s.reconf.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil, ErrStopped
	}
	out := map[string]*os.File{}
	fail := func(err error) (map[string]*os.File, error) {
		for _, f := range out {
			f.Close()
		}
		return nil, err
	}
	for addr, sock := range s.sockets {
		f, err := sock.file()
		if err != nil {
			return fail(fmt.Errorf("listener %s: %w", addr, err))
		}
		out[addr] = f
	}
	if s.metricsLn != nil {
		f, err := (&socket{ln: s.metricsLn}).file()
		if err != nil {
			return fail(fmt.Errorf("metrics_address: %w", err))
		}
		out[MetricsSocket] = f
	}
	return out, nil
}
