package bench

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/scanners/sdk/sdktest"
	"github.com/pedigree-project/pedigree/services/natsauth"
	"github.com/pedigree-project/pedigree/services/natsbus"
)

// TestMarkerOutcomeMustVerify sends a marker's subject a notice signed by
// another key, then one for other bytes, then the node's: only the last
// counts, the others are counted as ignored.
func TestMarkerOutcomeMustVerify(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nodePub, nodeKey, _ := envelope.GenerateKey()
	_, rogue, _ := envelope.GenerateKey()
	authn, err := natsauth.NewEmbedded(nil, []ed25519.PublicKey{nodePub}, natsauth.Limits{}, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := natsbus.StartEmbedded(ctx, natsbus.EmbeddedConfig{StoreDir: t.TempDir(), Auth: authn}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	cred, _ := natsauth.Credential(nodeKey)
	nc, err := e.Connect("test", cred)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	keys, _ := envelope.NewNodeKeys(nodePub)

	const gln, id = "4098765000003", "urn:uuid:marker"
	wire := []byte("the marker's signed envelope")
	entry := &pb.LedgerEntry{Index: 7, EventIds: []string{id}, Outcomes: []*pb.Outcome{{Applied: true}}}
	subject := natsbus.ResultSubject(gln, id)
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
