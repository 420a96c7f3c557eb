package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/client"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// TestServeDemoThenSimulate runs `pedigree serve --demo` until it prints
// what to try next, tries the genuine and the counterfeit pack it names,
// runs `pedigree simulate --json` against it, and stops it with SIGTERM.
func TestServeDemoThenSimulate(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv := pedigreeCmd(ctx, t, "serve", "--demo", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0")
	srv.Env = append(srv.Env, "PEDIGREE_DATA="+dir, "PEDIGREE_LOG_FORMAT=json")
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	srv.Stderr = io.Discard
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill() }()
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "The node keeps serving") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	text := out.String()
	t.Logf("serve --demo printed:\n%s", text)
	for _, want := range []string{"false alerts on legitimate traffic: 0", "legitimate events refused:          0",
		"TOKEN=$(cat ", "/v1/packs:verify", "/v1/ledger/checkpoint", "/v1/ledger/entries/", "pedigree.alert.>", "/v1/alerts", ":trace",
		"POST /epcis/capture", "/epcis/capture/", "captured every event", "receipt verified", "/ui/ in a browser", "pdg_", "at the pharmacy counter"} {
		if !strings.Contains(text, want) {
			t.Errorf("serve --demo output lacks %q", want)
		}
	}
	for _, row := range regexp.MustCompile(`(?m)^(.*\S)\s+(\d+)\s+(\d+)$`).FindAllStringSubmatch(text, -1) {
		if row[2] != row[3] || row[2] == "0" {
			t.Errorf("demo table row %q: injected %s, detected %s", row[1], row[2], row[3])
		}
	}
	barcodes := regexp.MustCompile(`"barcode": "([^"]+)"`).FindAllStringSubmatch(text, -1)
	addr := grpcLine.FindStringSubmatch(text)
	if len(barcodes) != 2 || addr == nil {
		t.Fatalf("want a genuine and a counterfeit barcode and the gRPC address in the demo output")
	}
	token, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(addr[1], strings.TrimSpace(string(token)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i, want := range []bool{true, false} {
		v, err := c.Verification.VerifyPack(ctx, &pb.VerifyPackRequest{Pack: pb.BarcodeInput(barcodes[i][1])})
		if err != nil {
			t.Fatal(err)
		}
		if v.GetDispensable() != want || (!want && (len(v.GetAlerts()) != 1 || v.GetAlerts()[0].GetCode() != pb.AlertCode_ALERT_CODE_UNKNOWN_SERIAL)) {
			t.Errorf("verify %s: dispensable %v, alerts %v; want dispensable %v", barcodes[i][1], v.GetDispensable(), v.GetAlerts(), want)
		}
	}

	sim := pedigreeCmd(ctx, t, "simulate", "--packs", "150", "--pharmacies", "3", "--json")
	sim.Env = append(sim.Env, "PEDIGREE_SERVER="+addr[1], "PEDIGREE_TOKEN="+strings.TrimSpace(string(token)))
	sim.Stderr = io.Discard
	js, err := sim.Output()
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, js)
	}
	var rep struct {
		Run         int `json:"run"`
		FalseAlerts int `json:"false_alerts"`
		Trouble     []struct {
			Code               string
			Injected, Detected int
		}
	}
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatalf("simulate --json: %v\n%s", err, js)
	}
	if rep.Run != 1 || rep.FalseAlerts != 0 || len(rep.Trouble) == 0 {
		t.Errorf("simulate after the demo: run %d, %d false alerts, %d rows; want run 1, none, rows", rep.Run, rep.FalseAlerts, len(rep.Trouble))
	}

	// The same over NATS: each party logs in with its key and believes
	// only answers signed with the node key the server wrote.
	natsURL := regexp.MustCompile(`NATS:\s+(nats://\S+)`).FindStringSubmatch(text)
	if natsURL == nil {
		t.Fatal("serve printed no NATS address")
	}
	sim = pedigreeCmd(ctx, t, "simulate", "--packs", "150", "--pharmacies", "3", "--json", "--nats", natsURL[1])
	sim.Env = append(sim.Env, "PEDIGREE_SERVER="+addr[1], "PEDIGREE_TOKEN="+strings.TrimSpace(string(token)))
	if out, err := sim.CombinedOutput(); err == nil || !strings.Contains(string(out), "--node-key") {
		t.Fatalf("simulate --nats without --node-key: %v %s, want a refusal naming --node-key", err, out)
	}
	sim = pedigreeCmd(ctx, t, "simulate", "--packs", "150", "--pharmacies", "3", "--json", "--nats", natsURL[1],
		"--node-key", filepath.Join(dir, "keys", "node.pub"))
	sim.Env = append(sim.Env, "PEDIGREE_SERVER="+addr[1], "PEDIGREE_TOKEN="+strings.TrimSpace(string(token)))
	sim.Stderr = io.Discard
	if js, err = sim.Output(); err != nil {
		t.Fatalf("simulate --nats: %v\n%s", err, js)
	}
	var overNATS struct {
		Mode        string `json:"mode"`
		FalseAlerts int    `json:"false_alerts"`
	}
	if err := json.Unmarshal(js, &overNATS); err != nil || overNATS.Mode != "nats" || overNATS.FalseAlerts != 0 {
		t.Errorf("simulate --nats: mode %q, %d false alerts (%v); want nats, none", overNATS.Mode, overNATS.FalseAlerts, err)
	}

	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) || err != nil {
			t.Fatalf("serve --demo exited with %v after SIGTERM, want exit 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve --demo did not exit within 10 s of SIGTERM")
	}
}
