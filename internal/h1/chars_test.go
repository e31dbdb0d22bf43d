package h1

import (
	"math/rand/v2"
	"testing"
)

// The word-at-a-time scanners must stop exactly where the byte tables do.
func TestSkipCharsMatchesTables(t *testing.T) {
	naive := func(table *[256]bool, b []byte) int {
		i := 0
		for i < len(b) && table[b[i]] {
			i++
		}
		return i
	}
	check := func(b []byte) {
		t.Helper()
		if got, want := skipFieldVchars(b, 0), naive(&isFieldVchar, b); got != want {
			t.Fatalf("skipFieldVchars(%q) = %d, want %d", b, got, want)
		}
		if got, want := skipTargetChars(b, 0), naive(&isTargetChar, b); got != want {
			t.Fatalf("skipTargetChars(%q) = %d, want %d", b, got, want)
		}
	}
	// Every byte value at every position of a run of valid bytes.
	for c := 0; c < 256; c++ {
		for p := 0; p < 20; p++ {
			b := []byte("abcdefghijklmnopqrstuvwx")
			b[p] = byte(c)
			check(b)
		}
	}
	// Random mixes, biased toward the class boundaries.
	edges := []byte{0x00, 0x09, 0x0a, 0x0d, 0x1f, 0x20, 0x21, '#', 0x7e, 0x7f, 0x80, 0xff, 'a'}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			if r.IntN(4) == 0 {
				b[i] = edges[r.IntN(len(edges))]
			} else {
				b[i] = byte(0x21 + r.IntN(0x5e))
			}
		}
		check(b)
	}
}

func TestAppendLower(t *testing.T) {
	if got := string(AppendLower([]byte("x:"), []byte("Content-TYPE-9_z"))); got != "x:content-type-9_z" {
		t.Fatalf("AppendLower = %q", got)
	}
}
