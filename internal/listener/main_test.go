package listener

import (
	"testing"

	"go.uber.org/goleak"
)

// Accept loops and connection handlers are goroutines: none may outlive
// the test that started them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
