package epcisapi

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// TestViewCacheKeepsNoViewOfASweptJob: the cache holds the last finished
// jobs' views within its bounds, and a job created before the sweep's
// cutoff is neither served nor kept again, even when it finishes after
// the sweep began (its record is being deleted).
func TestViewCacheKeepsNoViewOfASweptJob(t *testing.T) {
	var c viewCache
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	job := func(i int) *pb.EpcisCaptureJob {
		return &pb.EpcisCaptureJob{PartyGln: "4000001000005", CaptureId: fmt.Sprint("job", i), CreatedAt: timestamppb.New(t0.Add(time.Duration(i) * time.Hour))}
	}
	for i := range finishedViews + 2 {
		c.put(job(i), []byte(fmt.Sprint("view", i)))
	}
	if _, ok := c.get("4000001000005", "job1"); ok {
		t.Errorf("job1 kept beyond %d views", finishedViews)
	}
	if b, ok := c.get("4000001000005", "job5"); !ok || string(b) != "view5" {
		t.Errorf("job5: %q %v", b, ok)
	}
	if _, ok := c.get("4000001000009", "job5"); ok {
		t.Error("another party's job served")
	}
	c.dropBefore(t0.Add(6 * time.Hour))
	if _, ok := c.get("4000001000005", "job5"); ok {
		t.Error("job5 served after the sweep's cutoff")
	}
	c.put(job(3), []byte("late"))
	if _, ok := c.get("4000001000005", "job3"); ok {
		t.Error("a job created before the cutoff was kept again")
	}
	if b, ok := c.get("4000001000005", "job6"); !ok || string(b) != "view6" {
		t.Errorf("job6, created at the cutoff: %q %v", b, ok)
	}
	// An earlier cutoff does not undo a later one.
	c.dropBefore(t0)
	c.put(job(4), []byte("late"))
	if _, ok := c.get("4000001000005", "job4"); ok {
		t.Error("an earlier cutoff let a swept job back")
	}
}
