package h1

import "testing"

var sink int

func BenchmarkCalibTableLoop(b *testing.B) {
	buf := []byte(browserRequest)
	for b.Loop() {
		n := 0
		for _, c := range buf {
			if isFieldVchar[c] {
				n++
			}
		}
		sink = n
	}
}
