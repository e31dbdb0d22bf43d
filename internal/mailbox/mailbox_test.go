package mailbox

import (
	"sync"
	"testing"

	"github.com/sluice-proxy/sluice/internal/bufpool"
)

// TestParkedOwnerRestarts: an owner that parks exits; the next post starts
// a new one, and exactly one owner runs at a time.
func TestParkedOwnerRestarts(t *testing.T) {
	var (
		mu      sync.Mutex
		running int
		seen    int
		done    = make(chan struct{})
		m       *Box[int]
		q       bufpool.Slices[int]
		batch   []int
	)
	const posts = 2000
	owner := func() {
		mu.Lock()
		running++
		if running != 1 {
			t.Errorf("%d owners at once", running)
		}
		mu.Unlock()
		for {
			batch = m.Take(batch)
			seen += len(batch)
			if seen == posts {
				close(done)
			}
			q.Put(batch)
			batch = nil
			mu.Lock()
			running--
			mu.Unlock()
			if m.Park() {
				return
			}
			mu.Lock()
			running++
			mu.Unlock()
		}
	}
	m = New[int](owner, &q)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range posts / 4 {
				if !m.Post(g*posts + i) {
					t.Error("post refused before Close")
				}
			}
		}()
	}
	wg.Wait()
	<-done
	if left := m.Close(); len(left) != 0 {
		t.Fatalf("%d events left after every one was taken", len(left))
	}
	if m.Post(1) {
		t.Fatal("post accepted after Close")
	}
}
