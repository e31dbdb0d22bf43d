package state

import (
	"testing"

	"go.uber.org/goleak"
)

// Apply retires backends from timers: none may outlive its test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
