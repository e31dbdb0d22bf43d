package session

import "github.com/sluice-proxy/sluice/internal/gopool"

// exchangeWorkers run backend exchanges: an exchange runs deep, and a
// parked worker keeps the stack it grew (package gopool).
var exchangeWorkers = gopool.Pool[job]{Do: runExchange}

type job struct {
	st *h2Stream
	s  *h2Session
}

func runExchange(j job) {
	j.st.run(j.s.env.timeouts())
	j.s.exchRuns.Done()
}
