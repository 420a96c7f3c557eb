package epcisapi

import (
	"sync"
	"time"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// finishedViews is how many finished jobs' views a node keeps encoded
// (viewCache); finishedViewBytes bounds their size together.
const (
	finishedViews     = 16
	finishedViewBytes = 64 << 20
)

// viewCache holds the encoded views (JobView, without the entries' bytes)
// of the jobs finished last, at most finishedViews of them and
// finishedViewBytes together, the oldest dropped first. A finished job's
// view does not change but for its checkpoint, which any later one
// extends, so the view made when it finished stays true. Safe for
// concurrent use; its zero value is empty.
type viewCache struct {
	mu    sync.Mutex
	views []cachedView // oldest first
	bytes int
	// cutoff is the latest dropBefore's: a job created before it is
	// being deleted, or was, and its view is not kept again.
	cutoff time.Time
}

type cachedView struct {
	party, id string
	created   time.Time
	body      []byte
}

// put keeps body, the encoded view of finished job j, unless j was
// created before the latest dropBefore's cutoff.
func (c *viewCache) put(j *pb.EpcisCaptureJob, body []byte) {
	created := j.GetCreatedAt().AsTime()
	if len(body) > finishedViewBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if created.Before(c.cutoff) {
		return
	}
	c.views = append(c.views, cachedView{party: j.GetPartyGln(), id: j.GetCaptureId(), created: created, body: body})
	c.bytes += len(body)
	for len(c.views) > finishedViews || c.bytes > finishedViewBytes {
		c.bytes -= len(c.views[0].body)
		c.views[0] = cachedView{}
		c.views = c.views[1:]
	}
}

// dropBefore forgets the views of jobs created before cutoff, which the
// sweep deletes, and keeps none of them from now on.
func (c *viewCache) dropBefore(cutoff time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cutoff.After(c.cutoff) {
		c.cutoff = cutoff
	}
	kept := c.views[:0]
	for _, v := range c.views {
		if v.created.Before(cutoff) {
			c.bytes -= len(v.body)
			continue
		}
		kept = append(kept, v)
	}
	clear(c.views[len(kept):])
	c.views = kept
}

// get returns party's job id's view, if kept.
func (c *viewCache) get(party, id string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range c.views {
		if v.id == id && v.party == party {
			return v.body, true
		}
	}
	return nil, false
}
