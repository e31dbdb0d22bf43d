package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluice-proxy/sluice/internal/admin"
	"github.com/sluice-proxy/sluice/internal/state"
)

// `sluice ctl`: flags in, one admin API request out, the answer printed as
// a table (or as the API's JSON with --json). Exit code 0 when the server
// did it, 1 when it refused (its reason is printed) or could not be
// reached, 2 on bad usage.

// defaultSocket is the admin socket when neither -s nor
// SLUICE_ADMIN_SOCKET names one: the admin_socket of the CONTRACT.md
// example, relative to the working directory.
const defaultSocket = "sluice.sock"

const ctlUsage = `usage: sluice ctl [-s SOCKET] [--json] COMMAND [flags]

The socket is -s, else $SLUICE_ADMIN_SOCKET, else ./sluice.sock.

  state [--json | --toml]          the live state (tables; the config's shape with --json/--toml)
  status                           the process: pid, versions, files
  cluster add --cluster ID [--load-balancing LB] [--backend-protocol P]
  cluster remove --cluster ID
  frontend add --cluster ID --address LISTENER --hostname H [--path P] [--path-type T]
               [--cert FILE --key FILE [--chain FILE]]
  frontend remove --cluster ID --address LISTENER --hostname H [--path P] [--path-type T]
  backend add --cluster ID --address ADDR [--id ID] [--weight N]
  backend remove --cluster ID --address ADDR
  listener add --address ADDR --protocol http|https [--h2c=false] [--cert FILE --key FILE]
  listener remove --address ADDR
  cert add --address LISTENER --cert FILE --key FILE [--chain FILE] [--replace ID|FILE] [--default] [--upload]
  cert remove --address LISTENER (--cert FILE | --id ID)
  cert list --address LISTENER
  reload                           re-read the config file and apply the difference (like SIGHUP)
  shutdown [--hard]                drain and exit (or close everything now)
  upgrade                          zero-downtime binary upgrade (like SIGUSR2)
`

// ctlEnv is a parsed ctl invocation's context.
type ctlEnv struct {
	client *admin.Client
	json   bool
	stdout io.Writer
}

func cmdCtl(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	socket := fs.String("s", "", "admin socket")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		if err != nil && !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "sluice ctl: %v\n", err)
		}
		fmt.Fprint(stderr, ctlUsage)
		return exitUsage
	}
	rest := fs.Args()
	if rest[0] == "help" {
		fmt.Fprint(stdout, ctlUsage)
		return exitOK
	}
	sock := *socket
	if sock == "" {
		sock = os.Getenv("SLUICE_ADMIN_SOCKET")
	}
	if sock == "" {
		sock = defaultSocket
	}
	env := &ctlEnv{client: admin.NewClient(sock), json: *asJSON, stdout: stdout}
	cmd, err := parseCtl(rest, env)
	if err != nil {
		fmt.Fprintf(stderr, "sluice ctl: %v\n\n%s", err, ctlUsage)
		return exitUsage
	}
	if err := cmd(); err != nil {
		var e *admin.Error
		if errors.As(err, &e) {
			fmt.Fprintf(stderr, "sluice ctl: refused (HTTP %d): %v\n", e.Status, e)
		} else {
			fmt.Fprintf(stderr, "sluice ctl: %v\n", err)
		}
		return exitConfig
	}
	return exitOK
}

// usageError is a mistake in the command line (exit 2).
type usageError string

func (e usageError) Error() string { return string(e) }

// parseCtl turns a command line into the request it sends.
func parseCtl(args []string, env *ctlEnv) (func() error, error) {
	name := args[0]
	sub := ""
	if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
		sub = args[1]
	}
	rest := args[1:]
	if sub != "" {
		rest = args[2:]
	}
	fs := flag.NewFlagSet(name+" "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&env.json, "json", env.json, "print the API's JSON")
	var (
		cluster, address, hostname, path, pathType = new(string), new(string), new(string), new(string), new(string)
		lb, proto, id, cert, key, chain, replace   = new(string), new(string), new(string), new(string), new(string), new(string), new(string)
		weight                                     = new(int)
		hard, asTOML, def, upload, h2c             = new(bool), new(bool), new(bool), new(bool), new(bool)
	)
	str := func(p *string, flagName, usage string) { fs.StringVar(p, flagName, "", usage) }
	need := func(pairs ...any) error {
		for i := 0; i < len(pairs); i += 2 {
			if *pairs[i+1].(*string) == "" {
				return usageError(fmt.Sprintf("%s %s: --%s is required", name, sub, pairs[i]))
			}
		}
		return nil
	}
	parse := func() error {
		if err := fs.Parse(rest); err != nil {
			return usageError(fmt.Sprintf("%s %s: %v", name, sub, err))
		}
		if fs.NArg() > 0 {
			return usageError(fmt.Sprintf("%s %s: unexpected argument %q", name, sub, fs.Arg(0)))
		}
		return nil
	}
	c := env.client
	key2 := name + " " + sub
	switch key2 {
	case "state ":
		fs.BoolVar(asTOML, "toml", false, "print the state as a config file")
		if err := parse(); err != nil {
			return nil, err
		}
		return func() error {
			if *asTOML {
				var v struct{ TOML string }
				if err := c.Get("/v1/state", url.Values{"format": {"toml"}}, &v); err != nil {
					return err
				}
				fmt.Fprint(env.stdout, v.TOML)
				return nil
			}
			data, err := c.Do(http.MethodGet, "/v1/state", nil, nil)
			if err != nil {
				return err
			}
			if env.json {
				env.stdout.Write(data)
				return nil
			}
			var d state.Document
			if err := json.Unmarshal(data, &d); err != nil {
				return err
			}
			admin.RenderState(env.stdout, &d)
			return nil
		}, nil
	case "status ":
		if err := parse(); err != nil {
			return nil, err
		}
		return func() error {
			data, err := c.Do(http.MethodGet, "/v1/status", nil, nil)
			if err != nil {
				return err
			}
			if env.json {
				env.stdout.Write(data)
				return nil
			}
			var s admin.Status
			if err := json.Unmarshal(data, &s); err != nil {
				return err
			}
			admin.RenderStatus(env.stdout, &s)
			return nil
		}, nil
	case "cluster add":
		str(cluster, "cluster", "cluster id")
		str(lb, "load-balancing", "round_robin | random | least_loaded | power_of_two")
		str(proto, "backend-protocol", "http1 | h2c | h2")
		if err := parse(); err != nil {
			return nil, err
		}
		if err := need("cluster", cluster); err != nil {
			return nil, err
		}
		body := map[string]any{"id": *cluster}
		if *lb != "" {
			body["load_balancing"] = *lb
		}
		if *proto != "" {
			body["backend_protocol"] = *proto
		}
		return env.change(http.MethodPost, "/v1/clusters", nil, body), nil
	case "cluster remove":
		str(cluster, "cluster", "cluster id")
		if err := parse(); err != nil {
			return nil, err
		}
		if err := need("cluster", cluster); err != nil {
			return nil, err
		}
		return env.change(http.MethodDelete, "/v1/clusters/"+admin.PathEscape(*cluster), nil, nil), nil
	case "frontend add", "frontend remove":
		str(cluster, "cluster", "cluster id")
		str(address, "address", "listener address")
		str(hostname, "hostname", "hostname")
		str(path, "path", "path (default /)")
		str(pathType, "path-type", "prefix | equals | regex (default prefix)")
		if sub == "add" {
			str(cert, "cert", "certificate file (https listeners)")
			str(key, "key", "its key file")
			str(chain, "chain", "its chain file")
		}
		if err := parse(); err != nil {
			return nil, err
		}
		if err := need("cluster", cluster, "address", address, "hostname", hostname); err != nil {
			return nil, err
		}
		p := "/v1/clusters/" + admin.PathEscape(*cluster) + "/frontends"
		if sub == "remove" {
			q := url.Values{"address": {*address}, "hostname": {*hostname}}
			if *path != "" {
				q.Set("path", *path)
			}
			if *pathType != "" {
				q.Set("path_type", *pathType)
			}
			return env.change(http.MethodDelete, p, q, nil), nil
		}
		body := map[string]any{"address": *address, "hostname": *hostname}
		for k, v := range map[string]string{"path": *path, "path_type": *pathType} {
			if v != "" {
				body[k] = v
			}
		}
		if err := absFiles(body, map[string]string{"certificate": *cert, "key": *key, "certificate_chain": *chain}); err != nil {
			return nil, err
		}
		return env.change(http.MethodPost, p, nil, body), nil
	case "backend add":
		str(cluster, "cluster", "cluster id")
		str(address, "address", "backend host:port")
		str(id, "id", "backend id (default: the address)")
		fs.IntVar(weight, "weight", -1, "weight 0..1000 (default 100)")
		if err := parse(); err != nil {
			return nil, err
		}
		if err := need("cluster", cluster, "address", address); err != nil {
			return nil, err
		}
		body := map[string]any{"address": *address}
		if *id != "" {
			body["id"] = *id
		}
		if *weight >= 0 {
			body["weight"] = *weight
		}
		return env.change(http.MethodPost, "/v1/clusters/"+admin.PathEscape(*cluster)+"/backends", nil, body), nil
	case "backend remove":
		str(cluster, "cluster", "cluster id")
		str(address, "address", "backend host:port (or id)")
		if err := parse(); err != nil {
			return nil, err
		}
		if err := need("cluster", cluster, "address", address); err != nil {
			return nil, err
		}
		return env.change(http.MethodDelete, "/v1/clusters/"+admin.PathEscape(*cluster)+"/backends/"+admin.PathEscape(*address), nil, nil), nil
	case "listener add":
		str(address, "address", "host:port")
		str(proto, "protocol", "http | https")
		fs.BoolVar(h2c, "h2c", true, "serve h2c prior knowledge (http listeners)")
		str(cert, "cert", "default certificate file (https)")
		str(key, "key", "its key file")
		str(chain, "chain", "its chain file")
		if err := parse(); err != nil {
			return nil, err
		}
		if err := need("address", address, "protocol", proto); err != nil {
			return nil, err
		}
		body := map[string]any{"address": *address, "protocol": *proto}
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "h2c" {
				body["h2c"] = *h2c
			}
		})
		if err := absFiles(body, map[string]string{"certificate": *cert, "key": *key, "certificate_chain": *chain}); err != nil {
			return nil, err
		}
		return env.change(http.MethodPost, "/v1/listeners", nil, body), nil
	case "listener remove":
		str(address, "address", "host:port")
		if err := parse(); err != nil {
			return nil, err
		}
		if err := need("address", address); err != nil {
			return nil, err
		}
		return env.change(http.MethodDelete, "/v1/listeners/"+admin.PathEscape(*address), nil, nil), nil
	case "cert add":
		str(address, "address", "https listener address")
		str(cert, "cert", "certificate file")
		str(key, "key", "key file")
		str(chain, "chain", "chain file")
		str(replace, "replace", "id or file of the certificate it replaces")
		fs.BoolVar(def, "default", false, "make it the listener's default certificate")
		fs.BoolVar(upload, "upload", false, "send the PEM text instead of the file paths (the server cannot read your files)")
		if err := parse(); err != nil {
			return nil, err
		}
		if err := need("address", address, "cert", cert, "key", key); err != nil {
			return nil, err
		}
		body := map[string]any{}
		if *replace != "" {
			r := *replace
			if strings.ContainsRune(r, filepath.Separator) || strings.HasSuffix(r, ".pem") || strings.HasSuffix(r, ".crt") {
				if abs, err := filepath.Abs(r); err == nil {
					r = abs
				}
			}
			body["replace"] = r
		}
		if *def {
			body["default"] = true
		}
		files := map[string]string{"certificate": *cert, "key": *key, "certificate_chain": *chain}
		if *upload {
			for k, f := range files {
				if f == "" {
					continue
				}
				data, err := os.ReadFile(f)
				if err != nil {
					return nil, usageError(err.Error())
				}
				body[map[string]string{"certificate": "certificate_pem", "key": "key_pem", "certificate_chain": "certificate_chain_pem"}[k]] = string(data)
			}
		} else if err := absFiles(body, files); err != nil {
			return nil, err
		}
		return env.change(http.MethodPost, "/v1/listeners/"+admin.PathEscape(*address)+"/certificates", nil, body), nil
	case "cert remove":
		str(address, "address", "https listener address")
		str(cert, "cert", "certificate file")
		str(id, "id", "certificate id (or 8+ hex digits of it)")
		if err := parse(); err != nil {
			return nil, err
		}
		if err := need("address", address); err != nil {
			return nil, err
		}
		p := "/v1/listeners/" + admin.PathEscape(*address) + "/certificates"
		switch {
		case (*cert == "") == (*id == ""):
			return nil, usageError("cert remove: give exactly one of --cert FILE and --id ID")
		case *id != "":
			return env.change(http.MethodDelete, p+"/"+admin.PathEscape(*id), nil, nil), nil
		}
		abs, err := filepath.Abs(*cert)
		if err != nil {
			return nil, usageError(err.Error())
		}
		return env.change(http.MethodDelete, p, url.Values{"certificate": {abs}}, nil), nil
	case "cert list":
		str(address, "address", "https listener address")
		if err := parse(); err != nil {
			return nil, err
		}
		if err := need("address", address); err != nil {
			return nil, err
		}
		return func() error {
			data, err := c.Do(http.MethodGet, "/v1/listeners/"+admin.PathEscape(*address)+"/certificates", nil, nil)
			if err != nil {
				return err
			}
			if env.json {
				env.stdout.Write(data)
				return nil
			}
			var v struct{ Certificates []admin.CertInfo }
			if err := json.Unmarshal(data, &v); err != nil {
				return err
			}
			admin.RenderCerts(env.stdout, v.Certificates)
			return nil
		}, nil
	case "reload ":
		if err := parse(); err != nil {
			return nil, err
		}
		return env.change(http.MethodPost, "/v1/reload", nil, nil), nil
	case "shutdown ":
		fs.BoolVar(hard, "hard", false, "close every connection now instead of draining")
		if err := parse(); err != nil {
			return nil, err
		}
		return env.simple(http.MethodPost, "/v1/shutdown", map[string]any{"hard": *hard}, func(m map[string]any) string {
			return fmt.Sprintf("ok: sluice (pid %v) is shutting down (%v)", m["pid"], m["what"])
		}), nil
	case "upgrade ":
		if err := parse(); err != nil {
			return nil, err
		}
		return env.simple(http.MethodPost, "/v1/upgrade", nil, func(m map[string]any) string {
			return fmt.Sprintf("ok: pid %v took over; pid %v is draining", m["new_pid"], m["old_pid"])
		}), nil
	}
	if sub == "" {
		return nil, usageError(fmt.Sprintf("unknown command %q", name))
	}
	return nil, usageError(fmt.Sprintf("unknown command %q", key2))
}

// absFiles adds the non-empty file flags to body as absolute paths: the
// server does not share our working directory.
func absFiles(body map[string]any, files map[string]string) error {
	for k, f := range files {
		if f == "" {
			continue
		}
		abs, err := filepath.Abs(f)
		if err != nil {
			return usageError(err.Error())
		}
		body[k] = abs
	}
	return nil
}

// change sends a change and prints its outcome.
func (env *ctlEnv) change(method, path string, q url.Values, body any) func() error {
	return func() error {
		data, err := env.client.Do(method, path, q, body)
		if err != nil {
			return err
		}
		if env.json {
			env.stdout.Write(data)
			return nil
		}
		var o admin.Outcome
		if err := json.Unmarshal(data, &o); err != nil {
			return err
		}
		admin.RenderOutcome(env.stdout, &o)
		return nil
	}
}

// simple sends a request whose answer is a small object printed by line.
func (env *ctlEnv) simple(method, path string, body any, line func(map[string]any) string) func() error {
	return func() error {
		data, err := env.client.Do(method, path, nil, body)
		if err != nil {
			return err
		}
		if env.json {
			env.stdout.Write(data)
			return nil
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			return err
		}
		fmt.Fprintln(env.stdout, line(m))
		return nil
	}
}
