package sdk_test

import (
	"context"
	"fmt"
	"log"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/scanners/sdk"
)

// A pharmacy terminal dispenses the pack it just scanned. If the uplink is
// down the scan is queued on disk and sent when NATS is back.
func Example() {
	ctx := context.Background()
	key, err := envelope.ReadKeyFile("/etc/pedigree/pharmacy.key")
	if err != nil {
		log.Fatal(err)
	}
	c, err := sdk.New(ctx, sdk.Config{
		NATSURL:  "nats://pedigree.example.net:4222",
		PartyGLN: "4098765000003",
		Key:      key,
		QueueDir: "/var/lib/pedigree-scanner/queue",
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
}
