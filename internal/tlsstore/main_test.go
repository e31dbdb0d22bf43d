package tlsstore

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind (servers,
// handshakes, TicketKeys.Run).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
