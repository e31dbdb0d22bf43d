package hpackx

import (
	"strconv"
	"testing"
)

// The steady state allocates nothing in our code: assert it (the
// benchmarks report the same figures with ReportAllocs).
func TestSteadyStateAllocs(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("allocation counts are not meaningful under -race")
	}
	t.Run("encode", func(t *testing.T) {
		for _, l := range benchLists {
			fields := asBytes(l.fields)
			enc := NewEncoder()
			dst := make([]byte, 0, 1024)
			encode := func() {
				dst = dst[:0]
				for _, f := range fields {
					dst = enc.AppendField(dst, f.name, f.value, false)
				}
			}
			encode()
			if n := testing.AllocsPerRun(100, encode); n != 0 {
				t.Errorf("%s: %v allocs per block", l.name, n)
			}
		}
	})
	t.Run("encode_stack_value", func(t *testing.T) {
		// A value built in a stack buffer must not be forced to the heap.
		enc := NewEncoder()
		dst := make([]byte, 0, 64)
		name := []byte("content-length")
		secret := []byte("authorization")
		i := 0
		n := testing.AllocsPerRun(100, func() {
			var num [20]byte
			i++
			dst = enc.AppendField(dst[:0], name, strconv.AppendInt(num[:0], int64(i), 10), false)
			dst = enc.AppendField(dst, secret, strconv.AppendInt(num[:0], int64(i), 10), false)
		})
		if n != 0 {
			t.Errorf("%v allocs per call", n)
		}
	})
	t.Run("decode_indexed", func(t *testing.T) {
		// A block made only of indexes (an x/net peer's steady state).
		first, steady := steadyBlock("xnet", browserRequest)
		d := NewDecoder(Limits{})
		if _, _, err := decodeBlock(d, first); err != nil {
			t.Fatal(err)
		}
		n := testing.AllocsPerRun(100, func() {
			if _, _, err := decodeBlock(d, steady); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("%v allocs per block", n)
		}
	})
}
