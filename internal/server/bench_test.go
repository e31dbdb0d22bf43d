package server

import (
	"net"
	"testing"
)

// BenchmarkAccept compares accepting through a gate (what every listener
// now does, so its accept loop can be swapped) with accepting from the
// socket directly: the gate must add no allocation per connection.
func BenchmarkAccept(b *testing.B) {
	for _, mode := range []string{"raw", "gate"} {
		b.Run(mode, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			var acc net.Listener = ln
			if mode == "gate" {
				acc = (&socket{ln: ln}).gate()
			}
			addr := ln.Addr().String()
			conns := make(chan net.Conn, 64)
			go func() {
				for {
					c, err := net.Dial("tcp", addr)
					if err != nil {
						close(conns)
						return
					}
					conns <- c
				}
			}()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				c, err := acc.Accept()
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
				if d := <-conns; d != nil {
					d.Close()
				}
			}
			b.StopTimer()
			ln.Close()
			for c := range conns {
				c.Close()
			}
		})
	}
}
