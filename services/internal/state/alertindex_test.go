package state

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// TestAlertIndex stores alerts of three parties, two GTINs and two codes,
// half of them as a store from before the index (without it), builds the
// index, and lists by each attribute in pages: exactly the matching
// alerts, newest first. A review (the alert written again) adds nothing.
func TestAlertIndex(t *testing.T) {
	s := openStore(t)
	parties := []string{"4000005000001", "4000005000018", "4000005000025"}
	gtins := []string{testGTIN, "09506000134369"}
	codes := []pb.AlertCode{pb.AlertCode_ALERT_CODE_UNKNOWN_SERIAL, pb.AlertCode_ALERT_CODE_ALREADY_INACTIVE}
	type ref = [2]uint64
	want := map[[2]string][]ref{}
	alert := func(i int) (*pb.Alert, ref) {
		a := &pb.Alert{AlertId: fmt.Sprintf("%d-%d", 10+i/2, i%2), PartyGln: parties[i%3], Code: codes[i%2],
			Epc: &pb.Epc{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: gtins[i%5%2], Serial: "S" + strconv.Itoa(i)}}}}
		return a, ref{uint64(10 + i/2), uint64(i % 2)}
	}
	apply(t, s, func(b *pebble.Batch) error {
		for i := range 200 {
			a, r := alert(i)
			var err error
			if i < 100 {
				err = setProto(b, alertKey(r[0], uint32(r[1])), a) // no index: an older store
			} else {
				err = PutAlert(b, r[0], uint32(r[1]), a)
			}
			if err != nil {
				return err
			}
			for _, kv := range alertByValues(a) {
				want[[2]string{string(kv.k), kv.v}] = append(want[[2]string{string(kv.k), kv.v}], r)
			}
		}
		return nil
	})
	built, err := s.BuildMissingIndexes(context.Background())
	if err != nil || !slices.Contains(built, IndexBuild{Name: "alert", Records: 200}) {
		t.Fatalf("BuildMissingIndexes built %+v (%v), want the alert index of 200 alerts", built, err)
	}
	// A review writes the alert again.
	a, r := alert(7)
	a.Status = pb.AlertStatus_ALERT_STATUS_CLOSED_FALSE_POSITIVE
	apply(t, s, func(b *pebble.Batch) error { return PutAlert(b, r[0], uint32(r[1]), a) })
	for key, refs := range want {
		slices.Reverse(refs)
		for _, size := range []int{1, 9, 500} {
			var got []ref
			var before *ref
			for {
				var page []ref
				err := s.AlertsByNewestFirst(AlertKey(key[0][0]), key[1], before, func(a *pb.Alert) bool {
					i, n, _ := strings.Cut(a.GetAlertId(), "-")
					index, _ := strconv.ParseUint(i, 10, 64)
					pos, _ := strconv.ParseUint(n, 10, 32)
					page = append(page, ref{index, pos})
					return len(page) < size
				})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, page...)
				if len(page) < size {
					break
				}
				before = &page[len(page)-1]
			}
			if !slices.Equal(got, refs) {
				t.Fatalf("alerts by %c=%s in pages of %d: %v, want %v", key[0][0], key[1], size, got, refs)
			}
		}
	}
}
