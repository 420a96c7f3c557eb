package sdk_test

import (
	"context"
	"fmt"
	"log"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/scanners/sdk"
)

// A pharmacy terminal dispenses the pack it just scanned and shows the
// ledger's verdict. If the uplink is down the scan is queued on disk and
// sent when NATS is back.
func Example() {
	ctx := context.Background()
	key, err := envelope.ReadKeyFile("/etc/pedigree/pharmacy.key")
	if err != nil {
		log.Fatal(err)
	}
	// The node's public key (DATA/keys/node.pub on the node): outcomes are
	// believed only when it signed them.
	nodeKeys, err := sdk.ReadNodeKeys("/etc/pedigree/node.pub")
	if err != nil {
		log.Fatal(err)
	}
	c, err := sdk.New(ctx, sdk.Config{
		NATSURL:   "tls://pedigree.example.net:4222",
		TLSCAFile: "/etc/pedigree/nats-ca.pem",
		PartyGLN:  "4098765000003",
		Key:       key, // also the NATS login (NKey) of the party
		NodeKeys:  nodeKeys,
		QueueDir:  "/var/lib/pedigree-scanner/queue",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	pack, err := sdk.ParseObject("]d2010950600013435217281231" + "10LOT1\x1d21S1")
	if err != nil {
		log.Fatal(err) // a *gs1.Error naming the AI and the rule
	}
	ev, err := c.Builder().Dispense(pack)
	if err != nil {
		log.Fatal(err)
	}
	rc, err := c.Send(ctx, ev)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rc.EventIDs[0], rc.Status) // "published", or "queued"

	// The ledger's answer, signed by the node. If it does not come (the
	// uplink is down), the scan stays queued on disk and is sent again.
	out, err := c.Outcome(ctx, rc.MsgID)
	if err != nil {
		log.Fatal(err)
	}
	for _, o := range out.Entry.GetOutcomes() {
		fmt.Println(out.Entry.GetIndex(), o.GetApplied(), o.GetReason(), o.GetAlerts())
	}
}
