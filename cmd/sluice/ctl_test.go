package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestCtlUsage: command lines that cannot become a request exit 2 with
// the usage and a reason, before any connection is tried.
func TestCtlUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "usage: sluice ctl"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"cluster", "rename"}, `unknown command "cluster rename"`},
		{[]string{"cluster", "add"}, "--cluster is required"},
		{[]string{"backend", "add", "--cluster", "app"}, "--address is required"},
		{[]string{"backend", "add", "--cluster", "app", "--address", "x:1", "--weight", "heavy"}, "invalid value"},
		{[]string{"frontend", "remove", "--cluster", "app", "--address", "x:1"}, "--hostname is required"},
		{[]string{"cert", "remove", "--address", "x:1"}, "exactly one of --cert FILE and --id ID"},
		{[]string{"cert", "remove", "--address", "x:1", "--cert", "a", "--id", "b"}, "exactly one of --cert FILE and --id ID"},
		{[]string{"cert", "add", "--address", "x:1", "--cert", "a"}, "--key is required"},
		{[]string{"state", "extra"}, `unknown command "state extra"`},
		{[]string{"state", "--json", "extra"}, `unexpected argument "extra"`},
		{[]string{"shutdown", "--soft"}, "flag provided but not defined"},
		{[]string{"-s"}, "usage: sluice ctl"},
	} {
		var out, errb bytes.Buffer
		if code := run(append([]string{"ctl"}, tc.args...), &out, &errb); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", tc.args, code, exitUsage)
		}
		if !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: stderr does not say %q:\n%s", tc.args, tc.want, errb.String())
		}
	}
}

// TestCtlSocketChoice: -s, else $SLUICE_ADMIN_SOCKET, else ./sluice.sock;
// the error names the socket it tried (exit 1: nothing listens there).
func TestCtlSocketChoice(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		env, flag, want string
	}{
		{"", "", "sluice.sock"},
		{dir + "/env.sock", "", dir + "/env.sock"},
		{dir + "/env.sock", dir + "/flag.sock", dir + "/flag.sock"},
	} {
		t.Setenv("SLUICE_ADMIN_SOCKET", tc.env)
		args := []string{"ctl"}
		if tc.flag != "" {
			args = append(args, "-s", tc.flag)
		}
		args = append(args, "status")
		var out, errb bytes.Buffer
		t.Chdir(dir)
		if code := run(args, &out, &errb); code != exitConfig {
			t.Errorf("%v: exit %d, want %d", args, code, exitConfig)
		}
		if !strings.Contains(errb.String(), "cannot reach sluice at "+tc.want+":") {
			t.Errorf("%v (env %q): %s", args, tc.env, errb.String())
		}
	}
}

// FuzzCtlArgs: no command line makes ctl panic or act before parsing
// succeeded (the socket does not exist: any accepted line fails with 1).
func FuzzCtlArgs(f *testing.F) {
	for _, s := range []string{
		"state\x00--json", "backend\x00add\x00--cluster\x00app\x00--address\x00127.0.0.1:1\x00--weight\x005",
		"cert\x00remove\x00--address\x00x\x00--id\x00abcdef0123", "frontend\x00add\x00--cluster", "shutdown\x00--hard",
		"-s\x00/nonexistent/s\x00upgrade", "cluster\x00add\x00--cluster=a\x00--load-balancing", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := []string{"ctl", "-s", "/nonexistent/sluice-fuzz.sock"}
		if line != "" {
			args = append(args, strings.Split(line, "\x00")...)
		}
		var out, errb bytes.Buffer
		switch code := run(args, &out, &errb); code {
		case exitOK:
			if !strings.Contains(strings.Join(args, " "), "help") {
				t.Fatalf("%q succeeded without a server", args)
			}
		case exitConfig, exitUsage:
		default:
			t.Fatalf("%q: exit %d", args, code)
		}
	})
}
