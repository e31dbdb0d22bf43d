package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/sluice-proxy/sluice/internal/config"
	"github.com/sluice-proxy/sluice/internal/demo"
)

// embeddedConfig is the config `sluice run` uses without -c. @BACKEND@,
// @CERT@ and @KEY@ are filled in at start: the demo backend listens on an
// ephemeral loopback port and the certificate is generated fresh.
const embeddedConfig = `# sluice's embedded demo config (CONTRACT.md): HTTP/1.1 + h2c on 8080,
# HTTPS (ALPN h2, http/1.1) on 8443, both routed to the built-in demo page.
log_level = "info"
access_log = "stdout"
access_log_format = "json"

[[listeners]]
address = "127.0.0.1:8080"
protocol = "http"

[[listeners]]
address = "127.0.0.1:8443"
protocol = "https"
certificate = "@CERT@"
key = "@KEY@"

[clusters.demo]
frontends = [
  { address = "127.0.0.1:8080", hostname = "localhost" },
  { address = "127.0.0.1:8080", hostname = "127.0.0.1" },
  { address = "127.0.0.1:8443", hostname = "localhost" },
  { address = "127.0.0.1:8443", hostname = "127.0.0.1" },
]
backends = [
  { address = "@BACKEND@", id = "demo" },
]
`

type demoSetup struct {
	Config *config.Config
	dir    string
	hs     *http.Server
}

func startDemo() (*demoSetup, error) {
	dir, err := os.MkdirTemp("", "sluice-demo-")
	if err != nil {
		return nil, err
	}
	certFile, keyFile, err := demo.SelfSigned(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	text := strings.NewReplacer("@BACKEND@", ln.Addr().String(), "@CERT@", certFile, "@KEY@", keyFile).Replace(embeddedConfig)
	cfg, err := config.Parse("(embedded)", []byte(text))
	if err != nil {
		ln.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	return &demoSetup{Config: cfg, dir: dir, hs: demo.Start(ln)}, nil
}

func (d *demoSetup) PrintTry(w io.Writer) {
	fmt.Fprint(w, `
sluice is running with its embedded demo config. Try:

  curl -v http://127.0.0.1:8080/
  curl -v --http2-prior-knowledge http://127.0.0.1:8080/
  curl -vk https://localhost:8443/

Stop with Ctrl-C. Write your own config (see README.md) and run: sluice run -c sluice.toml

`)
}

func (d *demoSetup) Close() {
	d.hs.Close()
	os.RemoveAll(d.dir)
}
