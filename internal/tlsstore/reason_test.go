package tlsstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestFailReasonStrings(t *testing.T) {
	want := []string{"other", "unrecognized_name", "no_shared_cipher", "protocol_version",
		"bad_certificate", "no_application_protocol", "timeout", "eof"}
	all := FailReasons()
	if len(all) != len(want) {
		t.Fatalf("%d reasons, want %d", len(all), len(want))
	}
	for i, r := range all {
		if r.String() != want[i] {
			t.Errorf("reason %d = %q, want %q", i, r, want[i])
		}
	}
	if FailReason(200).String() != "other" {
		t.Error("out-of-range reason")
	}
}

func TestClassifySynthetic(t *testing.T) {
	tests := []struct {
		err  error
		want FailReason
	}{
		{nil, FailOther},
		{errors.New("something"), FailOther},
		{io.EOF, FailEOF},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), FailEOF},
		{&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, FailEOF},
		{&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, FailTimeout},
		{context.DeadlineExceeded, FailTimeout},
		{context.Canceled, FailOther},
		{tls.AlertError(112), FailUnrecognizedName},
		{tls.AlertError(70), FailProtocolVersion},
		{&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, FailBadCertificate},
		{x509.HostnameError{Host: "x", Certificate: &x509.Certificate{}}, FailBadCertificate},
	}
	for _, tt := range tests {
		if got := ClassifyHandshakeError(tt.err); got != tt.want {
			t.Errorf("Classify(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// serverHandshakeErr accepts one connection, lets client do what it wants
// with the raw socket, and returns the server's handshake error. prep may
// adjust the server connection before the handshake.
func serverHandshakeErr(t *testing.T, cfg *tls.Config, ctx context.Context, prep func(net.Conn), client func(net.Conn)) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	res := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			res <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(ioTimeout))
		if prep != nil {
			prep(c)
		}
		_, err = Handshake(ctx, tls.Server(c, cfg))
		res <- err
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(ioTimeout))
	client(c)
	select {
	case err := <-res:
		c.Close()
		return err
	case <-time.After(ioTimeout):
		c.Close()
		t.Fatal("server handshake did not finish")
		return nil
	}
}

// TestClassifyRealFailures produces each reason with a real handshake, so
// a crypto/tls wording change shows up here.
func TestClassifyRealFailures(t *testing.T) {
	s := NewStore()
	mustAdd(t, s, mkCert(t, certSpec{names: []string{"app.example.com"}}))
	cfg := mustServerConfig(t, Options{}, s)
	withDef := NewStore()
	def := mustAdd(t, withDef, mkCert(t, certSpec{names: []string{"default.example.net"}}))
	if err := withDef.SetDefault(def); err != nil {
		t.Fatal(err)
	}
	defCfg := mustServerConfig(t, Options{}, withDef)
	tlsClient := func(ccfg *tls.Config, clientErr *error) func(net.Conn) {
		return func(c net.Conn) { *clientErr = tls.Client(c, ccfg).Handshake() }
	}
	expired, cancelled := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancelled()

	var clientErr error
	tests := []struct {
		name        string
		cfg         *tls.Config
		ctx         context.Context
		prep        func(net.Conn)
		client      func(net.Conn)
		want        FailReason
		checkClient bool
		wantClient  FailReason
	}{
		{"peer closes at once", nil, nil, nil, func(c net.Conn) { c.Close() }, FailEOF, false, 0},
		{"peer closes mid-hello", nil, nil, nil, func(c net.Conn) { c.Write([]byte{0x16, 0x03, 0x01, 0x01, 0x00, 0x01}); c.Close() }, FailEOF, false, 0},
		{"connection deadline", nil, nil, func(c net.Conn) { c.SetDeadline(time.Now().Add(-time.Second)) }, func(net.Conn) {}, FailTimeout, false, 0},
		{"context deadline", nil, expired, nil, func(net.Conn) {}, FailTimeout, false, 0},
		{"plaintext HTTP on the TLS port", nil, nil, nil, func(c net.Conn) { io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") }, FailOther, false, 0},
		{"client distrusts the certificate", nil, nil, nil, tlsClient(&tls.Config{ServerName: "app.example.com", RootCAs: x509.NewCertPool()}, &clientErr), FailBadCertificate, true, FailBadCertificate},
		{"unknown SNI, no default", nil, nil, nil, tlsClient(&tls.Config{ServerName: "x.example.com", RootCAs: mustKeys(t).pool}, &clientErr), FailUnrecognizedName, true, FailUnrecognizedName},
		{"default certificate does not cover the SNI", defCfg, nil, nil, tlsClient(&tls.Config{ServerName: "x.example.com", RootCAs: mustKeys(t).pool}, &clientErr), FailBadCertificate, true, FailBadCertificate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clientErr = nil
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			scfg := tt.cfg
			if scfg == nil {
				scfg = cfg
			}
			err := serverHandshakeErr(t, scfg, ctx, tt.prep, tt.client)
			if err == nil {
				t.Fatal("handshake succeeded")
			}
			if got := ClassifyHandshakeError(err); got != tt.want {
				t.Errorf("server error %q classified %v, want %v", err, got, tt.want)
			}
			if tt.checkClient {
				if got := ClassifyHandshakeError(clientErr); got != tt.wantClient {
					t.Errorf("client error %q classified %v, want %v", clientErr, got, tt.wantClient)
				}
			}
		})
	}
}
