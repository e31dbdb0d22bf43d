// Command sluice is a reverse proxy and load balancer.
//
//	sluice run [-c FILE]     run in the foreground (embedded demo config without -c)
//	sluice check -c FILE     validate a config file
//	sluice ctl [-s SOCKET] COMMAND ...   talk to a running sluice (admin API)
//	sluice version           version and build info
//
// The command is a thin shell: flags here, everything else in internal/
// (the process lifecycle, signals included, in internal/admin).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime/debug"
	"runtime/pprof"

	"github.com/sluice-proxy/sluice/internal/admin"
	"github.com/sluice-proxy/sluice/internal/config"
	"github.com/sluice-proxy/sluice/internal/memtrim"
	"github.com/sluice-proxy/sluice/internal/server"
)

// Exit codes (CONTRACT.md).
const (
	exitOK     = 0
	exitConfig = 1
	exitUsage  = 2
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return cmdRun(args[1:], stdout, stderr)
	case "check":
		return cmdCheck(args[1:], stdout, stderr)
	case "ctl":
		return cmdCtl(args[1:], stdout, stderr)
	case "version", "-version", "--version":
		return cmdVersion(stdout)
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	}
	fmt.Fprintf(stderr, "sluice: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  sluice run [-c FILE]     run in the foreground; without -c, the embedded demo config
  sluice check -c FILE     validate a config file (exit 1 on any error)
  sluice ctl [-s SOCKET] COMMAND ...
                           inspect and change a running sluice (sluice ctl help)
  sluice version           print version and build info
`)
}

func cmdVersion(w io.Writer) int {
	fmt.Fprintf(w, "sluice %s\n", version)
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintf(w, "go: %s\n", bi.GoVersion)
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision", "vcs.time", "vcs.modified", "GOOS", "GOARCH", "CGO_ENABLED":
				fmt.Fprintf(w, "%s: %s\n", s.Key, s.Value)
			}
		}
	}
	return exitOK
}

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("c", "", "config file")
	if err := fs.Parse(args); err != nil || *file == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: sluice check -c FILE")
		return exitUsage
	}
	cfg, err := config.Load(*file)
	if err != nil {
		printConfigErr(stderr, err)
		return exitConfig
	}
	fmt.Fprintf(stdout, "%s: ok (%d listeners, %d clusters)\n", *file, len(cfg.Listeners), len(cfg.Clusters))
	return exitOK
}

func printConfigErr(w io.Writer, err error) {
	var errs config.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Fprintln(w, e)
		}
		return
	}
	fmt.Fprintln(w, err)
}

func cmdRun(args []string, stdout, stderr io.Writer) int {
	args0 := append([]string{"run"}, args...)
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("c", "", "config file (default: the embedded demo config)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: sluice run [-c FILE]")
		return exitUsage
	}
	var cfg *config.Config
	var demo *demoSetup
	if *file == "" {
		var err error
		demo, err = startDemo()
		if err != nil {
			fmt.Fprintf(stderr, "sluice: embedded config: %v\n", err)
			return exitConfig
		}
		defer demo.Close()
		cfg = demo.Config
	} else {
		var err error
		cfg, err = config.Load(*file)
		if err != nil {
			printConfigErr(stderr, err)
			return exitConfig
		}
	}
	log := newLogger(cfg, stderr)
	slog.SetDefault(log)
	if addr := os.Getenv("SLUICE_PPROF"); addr != "" {
		// Developer aid (docs/testing.md): net/http/pprof on a loopback port.
		go http.ListenAndServe(addr, nil)
	}
	if path := os.Getenv("SLUICE_CPUPROFILE"); path != "" {
		// Developer aid (docs/testing.md): profile a whole run.
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	// A process-wide concern, so started here and not by each server:
	// give back the heap a burst leaves once the process goes quiet
	// (docs/operations.md).
	memtrim.Start()
	var started func(*server.Server)
	if demo != nil {
		started = func(*server.Server) { demo.PrintTry(stdout) }
	}
	return admin.Run(admin.RunOptions{
		ConfigFile: *file,
		Config:     cfg,
		Args:       args0,
		Log:        log,
		Stderr:     stderr,
		Started:    started,
	})
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	switch cfg.LogLevel {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
