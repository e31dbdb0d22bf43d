//go:build race

package hpackx

// The race detector changes allocation counts; alloc assertions skip.
const raceEnabled = true
