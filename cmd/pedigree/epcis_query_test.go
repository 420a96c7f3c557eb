package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/epcis"
)

// TestEPCISQueryFromTheCLI queries a real server's EPCIS events from the
// CLI, JSON-LD and XML, and follows them as they commit.
func TestEPCISQueryFromTheCLI(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	srv, httpAddr, grpcAddr := startServe(ctx, t, dir)
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	admin, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(token string, args ...string) string {
		t.Helper()
		cmd := pedigreeCmd(ctx, t, args...)
		cmd.Env = append(cmd.Env, "PEDIGREE_SERVER="+grpcAddr, "PEDIGREE_HTTP="+httpAddr, "PEDIGREE_TOKEN="+strings.TrimSpace(token))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
		return string(out)
	}
	mfr := cliToken.FindStringSubmatch(run(string(admin), "party", "create", "--gln", "4000001000005", "--name", "Pharma AG", "--role", "manufacturer"))[1]
	run(mfr, "product", "create", "--gtin", "09506000134352", "--name", "Paracetamol 500 mg")
	run(mfr, "batch", "create", "09506000134352", "--lot", "LOT42", "--expiry", "281200")
	var com struct{ Serials []string }
	out := run(mfr, "commission", "09506000134352", "LOT42", "--count", "2", "--json")
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &com); err != nil || len(com.Serials) != 2 {
		t.Fatalf("commission: %s", out)
	}
	epc := "https://id.gs1.org/01/09506000134352/21/" + com.Serials[0]
	for _, xml := range []bool{false, true} {
		args := []string{"epcis", "query", "--epc", epc, "--biz-step", "commissioning", "--type", "ObjectEvent"}
		if xml {
			args = append(args, "--xml")
		}
		out := run(mfr, args...)
		var doc *epcis.Document
		if xml {
			doc, err = epcis.DecodeXML([]byte(out))
		} else {
			doc, err = epcis.Decode([]byte(out))
		}
		if err != nil || len(doc.Events) != 1 || !strings.Contains(doc.Events[0].EPCList[0], com.Serials[0]) {
			t.Fatalf("query (xml %v): %v %s", xml, err, out)
		}
	}

	follow := pedigreeCmd(ctx, t, "epcis", "query", "--follow", "--biz-step", "commissioning")
	follow.Env = append(follow.Env, "PEDIGREE_HTTP="+httpAddr, "PEDIGREE_TOKEN="+mfr)
	stdout, err := follow.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = follow.Process.Kill(); _ = follow.Wait() }()
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// The stream starts at the next commit: commission until one arrives
	// (the subscription may not be live for the first).
	deadline := time.After(60 * time.Second)
	for {
		out := run(mfr, "commission", "09506000134352", "LOT42", "--count", "1", "--json")
		var c struct{ Serials []string }
		if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &c); err != nil {
			t.Fatal(err)
		}
		for waiting := true; waiting; {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatal("the follow command ended")
				}
				if strings.Contains(l, "/21/"+c.Serials[0]) {
					return
				}
			case <-time.After(2 * time.Second):
				waiting = false
			case <-deadline:
				t.Fatal("no event followed")
			}
		}
	}
}
