package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/client"
	"github.com/pedigree-project/pedigree/gs1"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// clusterMember is one `pedigree serve` process of a loopback cluster.
type clusterMember struct {
	name, dir               string
	grpc, http, nats, route string
	args                    []string
	cmd                     *exec.Cmd
	exited                  chan struct{} // closed when cmd has exited
}

// newClusterMembers lays out n members: ports, data directories, the
// shared route password, their serve arguments.
func newClusterMembers(t *testing.T, n int) []*clusterMember {
	secret := filepath.Join(t.TempDir(), "route.secret")
	if err := os.WriteFile(secret, []byte("a-route-password-of-more-than-32-characters\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ms := make([]*clusterMember, n)
	var routes []string
	for i := range ms {
		ms[i] = &clusterMember{name: fmt.Sprintf("n%d", i+1), dir: t.TempDir(), grpc: freeNATSAddr(t), http: freeNATSAddr(t), nats: freeNATSAddr(t), route: freeNATSAddr(t)}
		routes = append(routes, "nats://"+ms[i].route)
	}
	var peers []string
	for _, m := range ms {
		peers = append(peers, "http://"+m.http)
	}
	for i, m := range ms {
		m.args = []string{"serve", "--peer", strings.Join(peers, ","), "--data", m.dir, "--node-name", m.name, "--grpc", m.grpc, "--http", m.http, "--metrics", "",
			"--nats-listen", m.nats, "--nats-cluster-listen", m.route, "--nats-routes", strings.Join(routes, ","),
			"--nats-cluster-credentials", secret, "--stream-replicas", "3", "--log-level", "info"}
		if i > 0 {
			m.args = append(m.args, "--join")
		}
	}
	return ms
}

// start runs the member's serve process, its output in its data
// directory's serve.log.
func (m *clusterMember) start(ctx context.Context, t *testing.T) {
	t.Helper()
	m.cmd = pedigreeCmd(ctx, t, m.args...)
	log, err := os.OpenFile(filepath.Join(m.dir, "serve.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	m.cmd.Stdout, m.cmd.Stderr = log, log
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m.exited = make(chan struct{})
	go func() { _ = m.cmd.Wait(); log.Close(); close(m.exited) }()
}

// stop ends the member's process, if it runs, and waits until it exited.
func (m *clusterMember) stop() {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(10 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.exited
	}
}

// ready polls /readyz until it answers 200 or ctx ends.
func (m *clusterMember) ready(ctx context.Context, t *testing.T) {
	t.Helper()
	for {
		if resp, err := http.Get("http://" + m.http + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ctx.Done():
			out, _ := os.ReadFile(filepath.Join(m.dir, "serve.log"))
			t.Fatalf("%s not ready: %v\n%s", m.name, ctx.Err(), out)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// checkpoint reads the member's latest checkpoint: size and root.
func (m *clusterMember) checkpoint() (string, string, error) {
	resp, err := http.Get("http://" + m.http + "/v1/ledger/checkpoint")
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	var cp struct{ Size, RootHash string }
	if err := json.NewDecoder(resp.Body).Decode(&cp); err != nil {
		return "", "", err
	}
	return cp.Size, cp.RootHash, nil
}

// mustRun runs a pedigree command and returns its standard output.
func mustRun(ctx context.Context, t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, ok := runPedigree(ctx, t, "", nil, args...)
	if !ok {
		t.Fatalf("pedigree %s: %s", strings.Join(args, " "), errOut)
	}
	return out
}

// listPartyGLNs returns the GLNs of every party the node knows, page by
// page.
func listPartyGLNs(ctx context.Context, c *client.Client) (map[string]bool, error) {
	glns := map[string]bool{}
	token := ""
	for {
		resp, err := c.Registry.ListParties(ctx, &pb.ListPartiesRequest{PageSize: 500, PageToken: token})
		if err != nil {
			return nil, err
		}
		for _, p := range resp.GetParties() {
			glns[p.GetGln()] = true
		}
		if token = resp.GetNextPageToken(); token == "" {
			return glns, nil
		}
	}
}

// partyGLN is the GLN of the load's i-th party.
func partyGLN(i int) string {
	base := fmt.Sprintf("4000900%05d", i)
	return base + string(gs1.CheckDigit(base))
}

// cosignedByTheOthers checks, with pedigree ledger checkpoint
// --min-signatures 2, that each member serves a checkpoint cosigned by the
// two others (their keys in DATA/keys/cosign.vkey); then commissions a pack
// through the first member and checks its history on the last with
// pedigree history --min-signatures 2, trusting only the two other nodes.
// Both are tried again while a cosigning round is still to come.
func cosignedByTheOthers(ctx context.Context, t *testing.T, ms []*clusterMember, token string) {
	t.Helper()
	others := func(i int) []string {
		var args []string
		for j, other := range ms {
			if j != i {
				vkey, err := os.ReadFile(filepath.Join(other.dir, "keys", "cosign.vkey"))
				if err != nil {
					t.Fatal(err)
				}
				args = append(args, "--trust", strings.TrimSpace(string(vkey)))
			}
		}
		return append(args, "--min-signatures", "2")
	}
	until := func(what string, args ...string) string {
		t.Helper()
		for {
			out, errOut, ok := runPedigree(ctx, t, "", nil, args...)
			if ok {
				return out
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s: %s", what, errOut)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	for i, m := range ms {
		until(m.name+": no checkpoint cosigned by the two other nodes",
			append([]string{"ledger", "checkpoint", "--server", m.grpc, "--token", token}, others(i)...)...)
	}
	first, last := ms[0], ms[len(ms)-1]
	at := func(m *clusterMember, tok string, args ...string) string {
		t.Helper()
		return mustRun(ctx, t, append(args, "--server", m.grpc, "--token", tok)...)
	}
	m := cliToken.FindStringSubmatch(at(first, token, "party", "create", "--gln", "4000001000005", "--name", "Pharma AG", "--role", "manufacturer"))
	if m == nil {
		t.Fatal("party create: no token")
	}
	at(first, m[1], "product", "create", "--gtin", "09506000134352", "--name", "Paracetamol 500 mg")
	at(first, m[1], "batch", "create", "09506000134352", "--lot", "CLU1", "--expiry", "281200")
	file := filepath.Join(first.dir, "serials.txt")
	at(first, m[1], "commission", "09506000134352", "CLU1", "--count", "1", "--out", file)
	serials, err := os.ReadFile(file)
	if err != nil || len(strings.Fields(string(serials))) != 1 {
		t.Fatalf("serials: %q %v", serials, err)
	}
	barcode := "(01)09506000134352(17)281200(10)CLU1(21)" + strings.Fields(string(serials))[0]
	out := until("history on "+last.name+" with the two other nodes' cosignatures",
		append([]string{"history", barcode, "--server", last.grpc, "--token", token}, others(len(ms)-1)...)...)
	if !strings.Contains(out, "entries verified against checkpoint") || !strings.Contains(out, first.name) {
		t.Fatalf("history --min-signatures 2:\n%s", out)
	}
}

// TestClusterMemberKilledUnderLoad: three serve processes form a cluster
// (the joining two admitted with `pedigree node add`); under a steady load
// of writes to all three, one is killed with SIGKILL and started again.
// Every acknowledged write is on the ledger once, every node reaches the
// same ledger, and its size is the writes that landed, no more; each
// serves a checkpoint its two peers cosigned (--peer).
func TestClusterMemberKilledUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("three serve processes, one killed and restarted")
	}
	// A deadline, not the duration (10 to 30 s): a consumer whose pull
	// requests were lost while the cluster elected leaders is made anew by
	// the pipeline's watchdog within seconds (the log lines it wrote are
	// logged at the end); without it, such a member stayed behind for good.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ms := newClusterMembers(t, 3)
	for _, m := range ms[1:] { // their keys, for the admin, before they start
		if key := mustRun(ctx, t, "node", "key", "--data", m.dir); len(strings.TrimSpace(key)) != 64 {
			t.Fatalf("node key: %q", key)
		}
	}
	for _, m := range ms {
		m.start(ctx, t)
		defer m.stop()
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, m := range ms {
				out, _ := os.ReadFile(filepath.Join(m.dir, "serve.log"))
				t.Logf("%s (HTTP %s) log:\n%s", m.name, m.http, out)
			}
		}
	})
	began := time.Now()
	ms[0].ready(ctx, t)
	tokenBytes, err := os.ReadFile(filepath.Join(ms[0].dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(tokenBytes))
	for _, m := range ms[1:] {
		out := mustRun(ctx, t, "node", "add", "--name", m.name, "--key", filepath.Join(m.dir, "keys", "node.pub"), "--server", ms[0].grpc, "--token", token)
		if !strings.Contains(out, "node "+m.name+" trusted") {
			t.Fatalf("node add: %s", out)
		}
	}
	for _, m := range ms {
		m.ready(ctx, t)
	}

	// The load: parties registered through each node in turn, each with a
	// GLN of its own.
	clients := make([]*client.Client, len(ms))
	for i, m := range ms {
		if clients[i], err = client.New(m.grpc, token); err != nil {
			t.Fatal(err)
		}
		defer clients[i].Close()
	}
	var mu sync.Mutex
	acked := map[string]bool{}
	attempted := 0
	ackedCount := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	stop := make(chan struct{})
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			gln := partyGLN(i)
			mu.Lock()
			attempted = i + 1
			mu.Unlock()
			cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := clients[i%len(clients)].Registry.CreateParty(cctx, &pb.CreatePartyRequest{Party: &pb.Party{Gln: gln, Name: "Load " + gln, Role: pb.Role_ROLE_PHARMACY}})
			ccancel()
			if err == nil {
				mu.Lock()
				acked[gln] = true
				mu.Unlock()
			}
		}
	}()
	waitAcks := func(n int) {
		t.Helper()
		for ackedCount() < n {
			select {
			case <-ctx.Done():
				t.Fatalf("only %d writes acknowledged, want %d", ackedCount(), n)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	t.Logf("cluster up after %s", time.Since(began))
	waitAcks(30)
	t.Logf("30 acks after %s", time.Since(began))
	victim := ms[1]
	if err := victim.cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	<-victim.exited
	waitAcks(60)
	t.Logf("60 acks after %s", time.Since(began))
	victim.start(ctx, t)
	victim.ready(ctx, t)
	t.Logf("restarted after %s", time.Since(began))
	waitAcks(90)
	t.Logf("90 acks after %s", time.Since(began))
	close(stop)
	<-loadDone

	// Every node reaches one ledger: the bootstrap's five entries (the
	// genesis, two admissions, two admin tokens) and one per party that
	// landed, each acknowledged one among them.
	mu.Lock()
	tried := attempted
	mu.Unlock()
	counted, last := "", ""
	landed, missing := 0, 0
	for {
		var sizes, roots []string
		for _, m := range ms {
			size, root, err := m.checkpoint()
			if err != nil {
				size, root = "?", err.Error()
			}
			sizes, roots = append(sizes, size), append(roots, root)
		}
		if fmt.Sprint(sizes) != last {
			last = fmt.Sprint(sizes)
			t.Logf("checkpoints after %s: %v", time.Since(began), sizes)
		}
		agree := sizes[0] == sizes[1] && sizes[1] == sizes[2] && roots[0] == roots[1] && roots[1] == roots[2]
		if agree && sizes[0] != counted {
			// One paged listing, not a read per write: a read per write
			// runs into the node's read rate limit, whose refusals would
			// count as missing writes.
			parties, err := listPartyGLNs(ctx, clients[0])
			if err != nil {
				t.Logf("list parties: %v", err)
			} else {
				counted, landed, missing = sizes[0], 0, 0
				for i := range tried {
					gln := partyGLN(i)
					switch {
					case parties[gln]:
						landed++
					case acked[gln]:
						missing++
					}
				}
			}
		}
		if agree && sizes[0] == fmt.Sprint(5+landed) && missing == 0 {
			t.Logf("%d writes tried, %d acknowledged, %d landed; three nodes at size %s root %s", tried, len(acked), landed, sizes[0], roots[0])
			cosignedByTheOthers(ctx, t, ms, token)
			for _, m := range ms { // what the consumer watchdogs did
				out, _ := os.ReadFile(filepath.Join(m.dir, "serve.log"))
				for line := range strings.Lines(string(out)) {
					if strings.Contains(line, "consumer stalled") {
						t.Logf("%s: %s", m.name, strings.TrimSpace(line))
					}
				}
			}
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("checkpoints %v %v; want one ledger of %d entries (%d acknowledged writes missing)", sizes, roots, 5+landed, missing)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
