package node

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/ingest"
	"github.com/pedigree-project/pedigree/services/internal/natsauth"
	"github.com/pedigree-project/pedigree/subjects"
)

const apiReg = "4000009000007"

// natsParty is a party's connection to the node's NATS server, with the
// asynchronous errors (permission violations) the server reported.
type natsParty struct {
	nc   *nats.Conn
	errs chan error
	gone chan struct{} // closed when the server closed the connection
}

// keyedParty registers a party with a fresh key through the API.
func (a *api) keyedParty(gln string, role pb.Role) ed25519.PrivateKey {
	a.t.Helper()
	pub, priv, err := envelope.GenerateKey()
	if err != nil {
		a.t.Fatal(err)
	}
	resp := &pb.CreatePartyResponse{}
	p := &pb.Party{Gln: gln, Name: "Party " + gln, Role: role, PublicKeys: [][]byte{pub}}
	if err := a.as(a.adminToken()).Post(context.Background(), "/v1/parties", p, resp); err != nil {
		a.t.Fatalf("create party %s: %v", gln, err)
	}
	return priv
}

func connectAs(t *testing.T, url, gln string, key ed25519.PrivateKey) (*natsParty, error) {
	t.Helper()
	p := &natsParty{errs: make(chan error, 64), gone: make(chan struct{})}
	opts := []nats.Option{
		nats.Name("test " + gln), nats.NoReconnect(),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case p.errs <- err:
			default:
			}
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(p.gone) }),
		nats.CustomInboxPrefix(subjects.InboxPrefix(gln)),
	}
	if key != nil {
		cred, err := natsauth.Credential(key)
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, cred)
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, err
	}
	t.Cleanup(nc.Close)
	p.nc = nc
	return p, nil
}

// violation waits for the server's permission error naming subject.
func (p *natsParty) violation(t *testing.T, subject string) {
	t.Helper()
	if err := p.nc.Flush(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case err := <-p.errs:
			if strings.Contains(err.Error(), "Permissions Violation") && strings.Contains(err.Error(), subject) {
				return
			}
		case <-deadline:
			t.Fatalf("no permissions violation for %q", subject)
		}
	}
}

func TestNATSOnlyTheRightPartiesGetIn(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := testConfig(t.TempDir())
	cfg.NATSSweepInterval = time.Hour // the test sweeps
	n := startNode(t, cfg)
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	keyA := a.keyedParty(apiPharm, pb.Role_ROLE_PHARMACY)
	keyB := a.keyedParty(apiPh2, pb.Role_ROLE_PHARMACY)
	keyR := a.keyedParty(apiReg, pb.Role_ROLE_REGULATOR)
	url := n.NATSURL()

	if _, err := connectAs(t, url, "anonymous", nil); err == nil || !strings.Contains(err.Error(), "Authorization Violation") {
		t.Fatalf("anonymous connection: err = %v, want an authorization violation", err)
	}
	_, stranger, _ := envelope.GenerateKey()
	if _, err := connectAs(t, url, apiPharm, stranger); err == nil {
		t.Fatal("a key registered to no party connected")
	}

	pa, err := connectAs(t, url, apiPharm, keyA)
	if err != nil {
		t.Fatal(err)
	}
	pb2, err := connectAs(t, url, apiPh2, keyB)
	if err != nil {
		t.Fatal(err)
	}
	scans, err := n.js.Stream(ctx, subjects.ScanStream)
	if err != nil {
		t.Fatal(err)
	}
	lastSeq := func() uint64 {
		info, err := scans.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.LastSeq
	}

	// A publishes on its own subject and gets JetStream's acknowledgement.
	jsA, err := jetstream.New(pa.nc)
	if err != nil {
		t.Fatal(err)
	}
	before := lastSeq()
	if _, err := jsA.Publish(ctx, subjects.ScanSubject(apiPharm), []byte("not an envelope")); err != nil {
		t.Fatalf("publish on the party's own subject: %v", err)
	}
	if got := lastSeq(); got != before+1 {
		t.Fatalf("stream last sequence %d, want %d", got, before+1)
	}

	// A cannot publish as B, read anyone's scans or B's outcomes, use the
	// JetStream API, or forge outcomes and alerts.
	if err := pa.nc.Publish(subjects.ScanSubject(apiPh2), []byte("as B")); err != nil {
		t.Fatal(err)
	}
	pa.violation(t, subjects.ScanSubject(apiPh2))
	for _, subject := range []string{subjects.ScanSubjects, subjects.ResultSubjects(apiPh2), subjects.AlertSubjects, subjects.PartyAlertSubjects(apiPh2), "_INBOX.>", ">"} {
		if _, err := pa.nc.SubscribeSync(subject); err != nil {
			t.Fatal(err)
		}
		pa.violation(t, subject)
	}
	for _, api := range []string{"$JS.API.STREAM.INFO." + subjects.ScanStream, "$JS.API.STREAM.DELETE." + subjects.ScanStream,
		"$JS.API.CONSUMER.DELETE." + subjects.ScanStream + ".ledger-" + n.nodeKeyID} {
		if _, err := pa.nc.Request(api, nil, 200*time.Millisecond); err == nil {
			t.Fatalf("%s answered a party", api)
		}
		pa.violation(t, api)
	}
	for _, forged := range []string{subjects.ResultSubject(apiPh2, "x"), subjects.AlertSubject(apiPh2, "CLONE_SUSPECTED")} {
		if err := pa.nc.Publish(forged, []byte("forged")); err != nil {
			t.Fatal(err)
		}
		pa.violation(t, forged)
	}
	if got := lastSeq(); got != before+1 {
		t.Fatalf("stream last sequence %d after the refused publishes, want %d", got, before+1)
	}
	if _, err := scans.Info(ctx); err != nil {
		t.Fatalf("the stream is gone: %v", err)
	}

	// B's own subscriptions are allowed; a regulator follows every alert.
	if _, err := pb2.nc.SubscribeSync(subjects.ResultSubjects(apiPh2)); err != nil {
		t.Fatal(err)
	}
	pr, err := connectAs(t, url, apiReg, keyR)
	if err != nil {
		t.Fatal(err)
	}
	regAlerts, err := pr.nc.SubscribeSync(subjects.AlertSubjects)
	if err != nil {
		t.Fatal(err)
	}
	if err := pr.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-pr.errs:
		t.Fatalf("regulator: %v", err)
	case err := <-pb2.errs:
		t.Fatalf("party B: %v", err)
	default:
	}

	// The live alert feed relays what the ledger committed, not what the
	// bus carries: a forged alert, even from the node's own credential,
	// does not reach it; a real one arrives, and on NATS it is signed.
	conn, err := grpc.NewClient(n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+a.adminToken())
	watch, err := pb.NewProvenanceServiceClient(conn).WatchAlerts(wctx, &pb.WatchAlertsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Header(); err != nil {
		t.Fatal(err)
	}
	forged, _ := proto.Marshal(&pb.Alert{AlertId: "999-0", Code: pb.AlertCode_ALERT_CODE_CLONE_SUSPECTED})
	if err := n.nc.Publish(subjects.AlertSubject(apiPharm, "CLONE_SUSPECTED"), forged); err != nil {
		t.Fatal(err)
	}
	pharm := a.party("4000007000009", pb.Role_ROLE_PHARMACY)
	if err := a.as(pharm).Post(ctx, "/v1/packs:verify", &pb.VerifyPackRequest{Pack: pb.BarcodeInput("(01)09506000134352(21)NOSUCHPACK1")}, &pb.VerifyPackResponse{}); err != nil {
		t.Fatalf("verify an unknown pack: %v", err)
	}
	got, err := watch.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if got.GetAlert().GetAlertId() == "999-0" || got.GetAlert().GetPartyGln() != "4000007000009" {
		t.Fatalf("the feed relayed %v, want the alert the unknown pack raised", got.GetAlert())
	}
	m, err := regAlerts.NextMsg(5 * time.Second)
	for err == nil && strings.HasSuffix(m.Subject, "."+apiPharm+".CLONE_SUSPECTED") {
		m, err = regAlerts.NextMsg(5 * time.Second) // the forged one, which the regulator must not believe
	}
	if err != nil {
		t.Fatal(err)
	}
	keys, err := envelope.NewNodeKeys(n.nodeKey.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	st, err := envelope.OpenAlert(m.Data, keys)
	if err != nil || st.GetAlert().GetAlertId() != got.GetAlert().GetAlertId() {
		t.Fatalf("the alert on NATS: %v, %v; want the node-signed alert %s", st, err, got.GetAlert().GetAlertId())
	}
	if _, err := envelope.OpenAlert(forged, keys); err == nil {
		t.Fatal("an unsigned alert was believed")
	}
}

func TestNATSPartyOverItsRateIsCutOff(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.NATSSweepInterval = time.Hour // the test sweeps
	cfg.NATSLimits = natsauth.Limits{PublishRate: 50}
	n := startNode(t, cfg)
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	keyA := a.keyedParty(apiPharm, pb.Role_ROLE_PHARMACY)
	keyB := a.keyedParty(apiPh2, pb.Role_ROLE_PHARMACY)
	pa, err := connectAs(t, n.NATSURL(), apiPharm, keyA)
	if err != nil {
		t.Fatal(err)
	}
	pb2, err := connectAs(t, n.NATSURL(), apiPh2, keyB)
	if err != nil {
		t.Fatal(err)
	}
	n.NATSAuth().Sweep() // the baseline
	for range 500 {
		if err := pa.nc.Publish(subjects.ScanSubject(apiPharm), []byte("flood")); err != nil {
			t.Fatal(err)
		}
	}
	if err := pa.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := pb2.nc.Publish(subjects.ScanSubject(apiPh2), []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := pb2.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	n.NATSAuth().Sweep()
	select {
	case <-pa.gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the flooding party is still connected")
	}
	if _, err := connectAs(t, n.NATSURL(), apiPharm, keyA); err == nil {
		t.Fatal("the flooding party reconnected during its penalty")
	}
	if !pb2.nc.IsConnected() {
		t.Fatal("the other party was cut off too")
	}
	if _, err := connectAs(t, n.NATSURL(), apiPh2, keyB); err != nil {
		t.Fatalf("the other party cannot connect: %v", err)
	}
}

func TestNATSRevokedKeyIsDisconnectedAndRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := testConfig(t.TempDir())
	cfg.NATSSweepInterval = time.Hour // the test sweeps
	n := startNode(t, cfg)
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	key := a.keyedParty(apiPharm, pb.Role_ROLE_PHARMACY)
	pub := key.Public().(ed25519.PublicKey)
	pa, err := connectAs(t, n.NATSURL(), apiPharm, key)
	if err != nil {
		t.Fatal(err)
	}
	// The dead letters from here on: an ordered consumer is created on its
	// first Next, so "new" would race the ingest; a start sequence does not.
	ds, err := n.js.Stream(ctx, subjects.DeadLetterStream)
	if err != nil {
		t.Fatal(err)
	}
	dinfo, err := ds.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dead, err := n.js.OrderedConsumer(ctx, subjects.DeadLetterStream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: dinfo.State.LastSeq + 1})
	if err != nil {
		t.Fatal(err)
	}

	path := "/v1/parties/" + apiPharm + "/keys/" + envelope.KeyID(pub)
	if err := a.as(a.party(apiPh2, pb.Role_ROLE_PHARMACY)).Do(ctx, "DELETE", path, nil, &pb.RevokePartyKeyResponse{}); err == nil {
		t.Fatal("another party revoked the pharmacy's key")
	}
	resp := &pb.RevokePartyKeyResponse{}
	if err := a.as(a.adminToken()).Do(ctx, "DELETE", path, nil, resp); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	n.NATSAuth().Sweep()
	select {
	case <-pa.gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the revoked key's connection is still open")
	}
	if _, err := connectAs(t, n.NATSURL(), apiPharm, key); err == nil {
		t.Fatal("the revoked key connected again")
	}

	// What the revoked key signs is refused, with the reason kept.
	env := &pb.Envelope{PartyGln: apiPharm, Body: &pb.Envelope_Capture{Capture: &pb.Capture{Events: []*pb.ScanEvent{{EventId: "urn:uuid:after-revocation"}}}}}
	wire, err := envelope.Seal(env, apiPharm, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.js.Publish(ctx, subjects.ScanSubject(apiPharm), wire); err != nil {
		t.Fatal(err)
	}
	m, err := dead.Next(jetstream.FetchMaxWait(30 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if reason := m.Headers().Get(ingest.HeaderReason); !strings.Contains(reason, "revoked") {
		t.Fatalf("dead letter reason %q, want the key revoked", reason)
	}
	again := &pb.RevokePartyKeyResponse{}
	if err := a.as(a.adminToken()).Do(ctx, "DELETE", path, nil, again); err != nil || again.GetLedgerIndex() != resp.GetLedgerIndex() {
		t.Fatalf("the same revocation again: %v, %v; want the first one's answer (ledger index %d)", again, err, resp.GetLedgerIndex())
	}
}
