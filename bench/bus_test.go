package bench

import (
	"context"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/scanners/sdk/sdktest"
	"github.com/pedigree-project/pedigree/services/nodetest"
	"github.com/pedigree-project/pedigree/subjects"
)

// TestMarkerOutcomeMustVerify sends a marker's subject a notice signed by
// another key, then one for other bytes, then the node's: only the last
// counts, the others are counted as ignored.
func TestMarkerOutcomeMustVerify(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nodePub, nodeKey, _ := envelope.GenerateKey()
	_, rogue, _ := envelope.GenerateKey()
	e, err := nodetest.StartNATS(ctx, nodetest.NATSConfig{StoreDir: t.TempDir(), NodeKeys: []ed25519.PublicKey{nodePub}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	nc, err := e.ConnectAsNode("test", nodeKey)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	keys, _ := envelope.NewNodeKeys(nodePub)

	const gln, id = "4098765000003", "urn:uuid:marker"
	wire := []byte("the marker's signed envelope")
	entry := &pb.LedgerEntry{Index: 7, EventIds: []string{id}, Outcomes: []*pb.Outcome{{Applied: true}}}
	subject := subjects.ResultSubject(gln, id)
	sub, err := nc.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range [][]byte{sdktest.ResultNotice(t, rogue, entry, wire), sdktest.ResultNotice(t, nodeKey, entry, []byte("other bytes")), sdktest.ResultNotice(t, nodeKey, entry, wire)} {
		if err := nc.Publish(subject, n); err != nil {
			t.Fatal(err)
		}
	}
	ignored := 0
	res, err := awaitMarker(sub, wire, keys, &ignored)
	if err != nil {
		t.Fatal(err)
	}
	if ignored != 2 || res.Entry.GetIndex() != 7 || string(res.Entry.GetEnvelope()) != string(wire) {
		t.Fatalf("ignored %d, entry %v; want 2 ignored and entry 7 with the marker's bytes", ignored, res.Entry)
	}

	refused := &pb.LedgerEntry{Index: 8, EventIds: []string{id}, Outcomes: []*pb.Outcome{{Reason: "not active"}}}
	if sub, err = nc.SubscribeSync(subject); err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish(subject, sdktest.ResultNotice(t, nodeKey, refused, wire)); err != nil {
		t.Fatal(err)
	}
	if _, err := awaitMarker(sub, wire, keys, &ignored); err == nil || !strings.Contains(err.Error(), "not active") {
		t.Fatalf("a refused marker: %v, want the refusal", err)
	}
}
