package tlsstore

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"testing"
	"testing/synctest"
	"time"
)

// TestResumption: session tickets work, survive a key rotation while the
// old key is kept, stop after it is dropped, and never resume onto a
// replaced certificate; the identity of a resumed connection is the one of
// its original handshake.
func TestResumption(t *testing.T) {
	for _, version := range []string{"TLS1.2", "TLS1.3"} {
		t.Run(version, func(t *testing.T) {
			clk := &fakeClock{t: time.Now()}
			tk, err := NewTicketKeys(TicketKeyOptions{Interval: time.Hour, Keep: 2, Now: clk.now})
			if err != nil {
				t.Fatal(err)
			}
			s := NewStore()
			app := mustAdd(t, s, mkCert(t, certSpec{names: []string{"app.example.com", "other.example.com"}}))
			srv := startTLS(t, mustServerConfig(t, Options{Versions: []string{version}, TicketKeys: tk}, s))

			cfg := clientConfig(t, "app.example.com", "h2")
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			connect := func(wantResume bool, want *Cert) {
				t.Helper()
				tc, err := dial(t, srv.addr(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				r := srv.next()
				if got := tc.ConnectionState().DidResume; got != wantResume {
					t.Fatalf("DidResume = %v, want %v", got, wantResume)
				}
				if r.cs.DidResume != wantResume {
					t.Fatalf("server DidResume = %v", r.cs.DidResume)
				}
				if r.served != want || r.id.Names != want.NameSet() {
					t.Fatalf("served %v, identity %v; want %v", r.served, r.id, want)
				}
				if !wantResume && peerID(tc) != want.ID {
					t.Fatalf("client got %s, want %v", peerID(tc)[:16], want)
				}
				if ok, co := r.id.Allows([]byte("other.example.com")); !ok || !co {
					t.Fatal("coalescing lost on this connection")
				}
			}

			connect(false, app)
			connect(true, app)

			// One rotation: tickets sealed with the previous key still open.
			clk.t = clk.t.Add(time.Hour)
			if rotated, err := tk.RotateIfDue(); !rotated || err != nil {
				t.Fatalf("RotateIfDue = %v, %v", rotated, err)
			}
			connect(true, app)

			// Keep+1 rotations drop every key the client's ticket could use.
			for range 3 {
				if err := tk.Rotate(); err != nil {
					t.Fatal(err)
				}
			}
			connect(false, app)
			connect(true, app)

			// A replaced certificate: the ticket names the old one, so the
			// client gets a full handshake and the new certificate.
			m := mkCert(t, certSpec{names: []string{"app.example.com", "other.example.com"}})
			app2, err := s.Replace(app.ID, m.CertPEM, m.KeyPEM, nil)
			if err != nil {
				t.Fatal(err)
			}
			connect(false, app2)
			connect(true, app2)
		})
	}
}

func TestTicketKeysRotation(t *testing.T) {
	clk := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	tk, err := NewTicketKeys(TicketKeyOptions{Interval: 12 * time.Hour, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{}
	tk.Attach(cfg)
	tk.Attach(cfg) // idempotent
	first := tk.keys[0]

	if rotated, _ := tk.RotateIfDue(); rotated {
		t.Fatal("rotated before the interval")
	}
	clk.t = clk.t.Add(12*time.Hour - time.Second)
	if rotated, _ := tk.RotateIfDue(); rotated {
		t.Fatal("rotated a second early")
	}
	clk.t = clk.t.Add(time.Second)
	if rotated, _ := tk.RotateIfDue(); !rotated {
		t.Fatal("not rotated when due")
	}
	if tk.keys[0] == first || tk.keys[1] != first || len(tk.keys) != 2 {
		t.Fatal("new key not first, or previous key not kept")
	}
	if want := clk.t.Add(12 * time.Hour); !tk.NextRotation().Equal(want) {
		t.Errorf("NextRotation = %v, want %v", tk.NextRotation(), want)
	}
	for range 5 {
		if err := tk.Rotate(); err != nil {
			t.Fatal(err)
		}
	}
	if len(tk.keys) != 3 {
		t.Errorf("%d keys kept, want the sealing key and 2 previous", len(tk.keys))
	}

	// A key source failure keeps the current keys.
	before := tk.keys
	tk.rand = failingReader{}
	if err := tk.Rotate(); err == nil {
		t.Fatal("Rotate with a failing key source succeeded")
	}
	if &tk.keys[0] != &before[0] {
		t.Error("keys changed by a failed rotation")
	}

	// Detached configs are no longer updated; Keep < 0 keeps none.
	tk.Detach(cfg)
	if len(tk.configs) != 0 {
		t.Error("Detach left the config attached")
	}
	none, err := NewTicketKeys(TicketKeyOptions{Keep: -1})
	if err != nil {
		t.Fatal(err)
	}
	none.Rotate()
	if len(none.keys) != 1 {
		t.Errorf("Keep -1: %d keys", len(none.keys))
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

// TestTicketKeysRun drives Run on synctest's fake clock: no real sleep.
func TestTicketKeysRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tk, err := NewTicketKeys(TicketKeyOptions{Interval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- tk.Run(ctx) }()

		first := tk.keys[0]
		time.Sleep(59 * time.Minute)
		synctest.Wait()
		tk.mu.Lock()
		same := tk.keys[0] == first
		tk.mu.Unlock()
		if !same {
			t.Fatal("rotated early")
		}
		time.Sleep(3 * time.Hour)
		synctest.Wait()
		tk.mu.Lock()
		n, oldest := len(tk.keys), tk.keys[len(tk.keys)-1]
		tk.mu.Unlock()
		if n != 3 || oldest == first {
			t.Fatalf("after 3h59m: %d keys, oldest is the first: %v; want 3 rotations", n, oldest == first)
		}

		// Failures are retried a minute later, not in a busy loop.
		tk.mu.Lock()
		tk.rand = &countingFailReader{}
		tk.mu.Unlock()
		time.Sleep(11*time.Minute + time.Second) // due at 4h, then every minute
		synctest.Wait()
		if got := tk.rand.(*countingFailReader).n; got != 11 {
			t.Errorf("%d rotation attempts in 10 minutes of failures, want 11", got)
		}

		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v", err)
		}
	})
}

type countingFailReader struct{ n int }

func (r *countingFailReader) Read([]byte) (int, error) {
	r.n++
	return 0, io.ErrUnexpectedEOF
}
