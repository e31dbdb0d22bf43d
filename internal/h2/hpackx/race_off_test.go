//go:build !race

package hpackx

const raceEnabled = false
