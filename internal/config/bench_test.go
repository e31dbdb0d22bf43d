package config

import (
	"os"
	"testing"
)

// Loading a configuration is not a hot path (once at start and per reload),
// so these benchmarks only keep its cost visible; they assert nothing.

func BenchmarkParseContract(b *testing.B) {
	src, err := os.ReadFile("testdata/contract.toml")
	if err != nil {
		b.Fatal(err)
	}
	dir := certDir(b)
	path := dir + "/sluice.toml"
	writeFile(b, path, string(src))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(path); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseErrors(b *testing.B) {
	src := []byte(listenersHTTP + "h2c = true\nfront_timeout = 0\n[clusters.a]\nfrontends = [{ address = \"127.0.0.1:1\", hostname = \"a\" }]\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("b.toml", src); err == nil {
			b.Fatal("no error")
		}
	}
}
