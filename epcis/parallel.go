package epcis

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// parallelFrom is the fewest items worth spreading over the cores: below
// it, starting goroutines costs more than it saves.
const parallelFrom = 64

// parallelChunk is how many items a goroutine takes at a time.
const parallelChunk = 32

// EachEvent calls fn for every event of d, on all cores when there are
// many, and returns when every call has. fn must touch nothing shared but
// what it is given; a panic in fn is raised again in the caller's
// goroutine.
func (d *Document) EachEvent(fn func(i int, ev *Event)) {
	_ = inParallel(len(d.Events), func(i int) error {
		fn(i, &d.Events[i])
		return nil
	})
}

// inParallel calls fn(i) for every i in [0, n), on up to GOMAXPROCS
// goroutines when n is at least parallelFrom, and returns the error of the
// lowest i that failed: what a loop in order would have returned. Every i
// is visited unless an error is found, after which the goroutines stop
// taking new chunks. A panic in fn is raised again in the caller's
// goroutine, where the caller's recovery sees it.
func inParallel(n int, fn func(i int) error) error {
	return inChunks(n, func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			if err := fn(i); err != nil {
				return err
			}
		}
		return nil
	})
}

// inChunks is inParallel for a function called once per chunk of
// consecutive indexes, [lo, hi), which visits them in order and returns
// the first error: so state costly to set up (a decoder) serves a chunk.
// The chunks are taken in order, so the lowest chunk that failed holds
// the lowest i that did.
func inChunks(n int, fn func(lo, hi int) error) error {
	workers := min(runtime.GOMAXPROCS(0), (n+parallelChunk-1)/parallelChunk)
	if n < parallelFrom || workers < 2 {
		if n == 0 {
			return nil
		}
		return fn(0, n)
	}
	var (
		next     atomic.Int64
		failed   atomic.Bool
		mu       sync.Mutex
		firstIdx = n
		firstErr error
		panicked any
		wg       sync.WaitGroup
	)
	record := func(i int, err error) {
		mu.Lock()
		if i < firstIdx {
			firstIdx, firstErr = i, err
		}
		mu.Unlock()
		failed.Store(true)
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					mu.Lock()
					if panicked == nil {
						panicked = r
					}
					mu.Unlock()
					failed.Store(true)
				}
			}()
			for !failed.Load() {
				end := int(next.Add(parallelChunk))
				start := end - parallelChunk
				if start >= n {
					return
				}
				if err := fn(start, min(end, n)); err != nil {
					record(start, err)
				}
			}
		}()
	}
	wg.Wait()
	if panicked != nil {
		panic(fmt.Sprintf("epcis: %v", panicked))
	}
	return firstErr
}
