package state

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// TestCaptureJobs: a job is read by its party only, listed newest first
// page by page, and marked running until it has a finish time.
func TestCaptureJobs(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const a, b = "4000001000005", "4000002000004"
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 3 {
		id, err := NewCaptureID(at.Add(time.Duration(i) * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		if err := s.PutCaptureJob(&pb.EpcisCaptureJob{CaptureId: id, PartyGln: a, CreatedAt: timestamppb.New(at)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutCaptureJob(&pb.EpcisCaptureJob{CaptureId: "nothex", PartyGln: a}); err == nil {
		t.Fatal("a malformed capture ID was stored")
	}
	if j, err := s.CaptureJob(a, ids[1]); err != nil || j.GetCaptureId() != ids[1] {
		t.Fatalf("own job: %v %v", j, err)
	}
	for _, tc := range []struct{ gln, id string }{{b, ids[1]}, {a, "nothex"}, {a, ids[1][:30] + "00"}} {
		if _, err := s.CaptureJob(tc.gln, tc.id); !errors.Is(err, ErrNotFound) {
			t.Errorf("job %s of %s: %v, want ErrNotFound", tc.id, tc.gln, err)
		}
	}
	page, err := s.CaptureJobs(a, "", 2)
	if err != nil || len(page) != 2 || page[0].GetCaptureId() != ids[2] || page[1].GetCaptureId() != ids[1] {
		t.Fatalf("first page: %v %v", page, err)
	}
	page, err = s.CaptureJobs(a, ids[1], 2)
	if err != nil || len(page) != 1 || page[0].GetCaptureId() != ids[0] {
		t.Fatalf("second page: %v %v", page, err)
	}
	if page, err := s.CaptureJobs(b, "", 10); err != nil || len(page) != 0 {
		t.Fatalf("another party's list: %v %v", page, err)
	}
	if err := s.PutCaptureJob(&pb.EpcisCaptureJob{CaptureId: ids[0], PartyGln: a, FinishedAt: timestamppb.New(at)}); err != nil {
		t.Fatal(err)
	}
	var running []string
	if err := s.RunningCaptureJobs(func(j *pb.EpcisCaptureJob) error { running = append(running, j.GetCaptureId()); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(running) != 2 || running[0] != ids[1] || running[1] != ids[2] {
		t.Fatalf("running jobs %v, want %v", running, ids[1:])
	}
}

// TestDeleteCaptureJobsBefore: finished jobs created before the cutoff go,
// of every party; newer ones and running ones, however old, stay; the
// limit bounds one call.
func TestDeleteCaptureJobsBefore(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const a, b = "4000001000005", "4000002000004"
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	put := func(gln string, created time.Time, finished bool) string {
		t.Helper()
		id, err := NewCaptureID(created)
		if err != nil {
			t.Fatal(err)
		}
		j := &pb.EpcisCaptureJob{CaptureId: id, PartyGln: gln, CreatedAt: timestamppb.New(created)}
		if finished {
			j.FinishedAt = timestamppb.New(created)
		}
		if err := s.PutCaptureJob(j); err != nil {
			t.Fatal(err)
		}
		return id
	}
	oldA, oldB := put(a, at, true), put(b, at.Add(time.Hour), true)
	oldRunning := put(a, at, false)
	newA := put(a, at.Add(40*24*time.Hour), true)
	cutoff := at.Add(30 * 24 * time.Hour)
	if n, err := s.DeleteCaptureJobsBefore(cutoff, 1); err != nil || n != 1 {
		t.Fatalf("first call: %d deleted, %v; want 1", n, err)
	}
	if n, err := s.DeleteCaptureJobsBefore(cutoff, 100); err != nil || n != 1 {
		t.Fatalf("second call: %d deleted, %v; want 1", n, err)
	}
	for _, tc := range []struct {
		gln, id string
		kept    bool
	}{{a, oldA, false}, {b, oldB, false}, {a, oldRunning, true}, {a, newA, true}} {
		_, err := s.CaptureJob(tc.gln, tc.id)
		if kept := err == nil; kept != tc.kept {
			t.Errorf("job %s of %s: kept %v, want %v (%v)", tc.id, tc.gln, kept, tc.kept, err)
		}
	}
	if n, err := s.DeleteCaptureJobsBefore(cutoff, 100); err != nil || n != 0 {
		t.Fatalf("third call: %d deleted, %v; want none", n, err)
	}
}
