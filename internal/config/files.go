package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxPEMBytes bounds certificate, key and CA files: real ones are a few KiB,
// and the bound keeps a mistyped path (/dev/zero) from hanging the loader.
const maxPEMBytes = 1 << 20

// readFileLimited reads a regular file of at most limit bytes. Anything
// else (a directory, a FIFO that would block, a device) is refused before it
// is opened.
func readFileLimited(path string, limit int64) ([]byte, error) {
	if path == "" {
		return nil, errors.New("file name is empty")
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %v", path, unwrapPathErr(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("cannot read %s: not a regular file", path)
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %v", path, unwrapPathErr(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %v", path, unwrapPathErr(err))
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}

// unwrapPathErr drops the "open NAME:" prefix the caller already printed.
func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// certProblems is what is wrong with a certificate/key/chain triple, by the
// key to blame.
type certProblems struct {
	cert, key, chain error
}

// checkCertificate loads a certificate the way the TLS store will: the
// certificate file must hold a parseable certificate, the key must be its
// private key, and the chain file (optional) must hold certificates.
func checkCertificate(certFile, keyFile, chainFile string) certProblems {
	var p certProblems
	certPEM, err := readFileLimited(certFile, maxPEMBytes)
	if err != nil {
		p.cert = err
	} else if err := checkCertsPEM(certPEM); err != nil {
		p.cert = fmt.Errorf("%s: %v", certFile, err)
	}
	keyPEM, err := readFileLimited(keyFile, maxPEMBytes)
	if err != nil {
		p.key = err
	} else if p.cert == nil {
		if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
			p.key = fmt.Errorf("%s does not hold the private key of %s: %s", keyFile, certFile,
				strings.TrimPrefix(err.Error(), "tls: "))
		}
	}
	if chainFile != "" {
		chainPEM, err := readFileLimited(chainFile, maxPEMBytes)
		if err != nil {
			p.chain = err
		} else if err := checkCertsPEM(chainPEM); err != nil {
			p.chain = fmt.Errorf("%s: %v", chainFile, err)
		}
	}
	return p
}

// checkCertsPEM checks that data holds at least one PEM certificate and that
// every certificate in it parses.
func checkCertsPEM(data []byte) error {
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("certificate %d does not parse: %v", n+1, err)
		}
		n++
	}
	if n == 0 {
		return errors.New("no PEM certificate found")
	}
	return nil
}

// checkCAFile checks a backend_tls_ca bundle.
func checkCAFile(path string) error {
	data, err := readFileLimited(path, maxPEMBytes)
	if err != nil {
		return err
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		return fmt.Errorf("%s: no PEM certificate found", path)
	}
	return nil
}

// checkParentDir checks that a file sluice will create (a log, a socket,
// the saved state) can be created: its directory exists.
func checkParentDir(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("directory %s: %v", dir, unwrapPathErr(err))
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}
