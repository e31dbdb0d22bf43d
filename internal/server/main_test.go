package server

import (
	"testing"

	"go.uber.org/goleak"
)

// Servers start accept loops, drains and sessions: none may outlive its
// test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
