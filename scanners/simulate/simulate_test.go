package simulate_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/scanners/simulate"
	"github.com/pedigree-project/pedigree/services/node"
)

// startNode runs a whole node in-process on free ports, NATS client port
// included, and returns it with its admin token.
func startNode(t *testing.T) (*node.Node, string) {
	t.Helper()
	cfg := node.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.GRPCAddr, cfg.HTTPAddr, cfg.NATSListen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := node.Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("node.Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	token, err := os.ReadFile(n.AdminTokenPath())
	if err != nil {
		t.Fatal(err)
	}
	return n, strings.TrimSpace(string(token))
}

func nodeKeys(t *testing.T, n *node.Node) envelope.NodeKeys {
	t.Helper()
	k, err := envelope.NewNodeKeys(n.NodeKey())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// logWriter sends the simulator's progress lines to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func smallMarket(server, token string) simulate.Config {
	cfg := simulate.DefaultConfig()
	cfg.Server, cfg.Token = server, token
	cfg.Seed = 42
	cfg.Manufacturers, cfg.Wholesalers, cfg.Pharmacies, cfg.Packs = 2, 3, 5, 400
	return cfg
}

// checkReport fails unless every kind of trouble was injected and every
// injected case detected, with no false alert.
func checkReport(t *testing.T, rep *simulate.Report) {
	t.Helper()
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", text.String())
	for _, row := range rep.Trouble {
		if row.Injected == 0 {
			t.Errorf("%s (%s): nothing injected", row.Trouble, row.Code)
		}
		if row.Detected != row.Injected {
			t.Errorf("%s: %d of %d detected by %s", row.Trouble, row.Detected, row.Injected, row.Code)
		}
	}
	if rep.FalseAlerts != 0 || rep.LegitimateRefused != 0 || rep.UnexpectedAlerts != 0 || !rep.OK() {
		t.Errorf("false alerts %d, legitimate events refused %d, unexpected alerts %d; want none:\n%s",
			rep.FalseAlerts, rep.LegitimateRefused, rep.UnexpectedAlerts, strings.Join(rep.Problems, "\n"))
	}
}

// comparable is the part of a report that must not depend on timing or on
// earlier runs.
func comparable(r *simulate.Report) simulate.Report {
	c := *r
	c.Run, c.Namespace, c.Samples = 0, "", simulate.Samples{}
	c.Seconds, c.EventsPerSecond, c.SetupSeconds = 0, 0, 0
	c.Mode, c.Lots = "", nil
	return c
}

// TestSmallMarketThroughTheAPI runs a small market twice with the same seed
// against one node, the second time with less concurrency: every injected
// case is detected, legitimate traffic raises no alert, the second run gets
// fresh identifiers, and both give the same report.
func TestSmallMarketThroughTheAPI(t *testing.T) {
	n, token := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := smallMarket(n.GRPCAddr(), token)
	first, err := simulate.Run(ctx, cfg, logWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, first)
	if first.Events == 0 || first.EventsPerSecond <= 0 {
		t.Errorf("events %d at %.0f/s", first.Events, first.EventsPerSecond)
	}
	cfg.Concurrency = 3
	again, err := simulate.Run(ctx, cfg, logWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	if again.Run != first.Run+1 || again.Namespace == first.Namespace {
		t.Errorf("second run: run %d namespace %s after run %d namespace %s, want fresh identifiers",
			again.Run, again.Namespace, first.Run, first.Namespace)
	}
	if a, b := comparable(first), comparable(again); !reflect.DeepEqual(a, b) {
		t.Errorf("same seed, different reports:\n%+v\n%+v", a, b)
	}
}

// TestSmallMarketOverNATS publishes the scans as envelopes signed by each
// party's key and reads the outcomes from the result subjects.
func TestSmallMarketOverNATS(t *testing.T) {
	n, token := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := smallMarket(n.GRPCAddr(), token)
	cfg.NATSURL = n.NATSURL()
	cfg.NodeKeys = nodeKeys(t, n)
	cfg.Packs = 200
	rep, err := simulate.Run(ctx, cfg, logWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mode != "nats" {
		t.Errorf("mode %q", rep.Mode)
	}
	checkReport(t, rep)
	cfg.NATSURL = ""
	viaAPI, err := simulate.Run(ctx, cfg, logWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := comparable(rep), comparable(viaAPI); !reflect.DeepEqual(a, b) {
		t.Errorf("same seed, NATS and API reports differ:\n%+v\n%+v", a, b)
	}
}

func TestConfigIsChecked(t *testing.T) {
	cfg := smallMarket("127.0.0.1:1", "token")
	cfg.Pharmacies, cfg.Packs = 1, 10
	_, err := simulate.Run(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "pharmacies") || !strings.Contains(err.Error(), "packs") {
		t.Fatalf("Run with 1 pharmacy and 10 packs: %v, want errors naming pharmacies and packs", err)
	}
	cfg = smallMarket("127.0.0.1:1", "token")
	cfg.NATSURL = "nats://127.0.0.1:1"
	if _, err := simulate.Run(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), "node key") {
		t.Fatalf("Run over NATS without a node key: %v, want an error naming the node key", err)
	}
}
