package node

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/pedigree-project/pedigree/envelope"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/natsauth"
	"github.com/pedigree-project/pedigree/subjects"
)

// deployConf returns the text of a file of deploy/nats-cluster with its
// files replaced by pki's and its store under dir.
func deployConf(t *testing.T, name, dir string, pki *testPKI) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nats-cluster", name))
	if err != nil {
		t.Fatal(err)
	}
	routeCert, routeKey := pki.issue(t, "route", x509.ExtKeyUsageServerAuth)
	return strings.NewReplacer(
		"/etc/nats/tls/ca.pem", pki.ca,
		"/etc/nats/tls/server.pem", pki.serverCert, "/etc/nats/tls/server-key.pem", pki.serverKey,
		"/etc/nats/tls/route.pem", routeCert, "/etc/nats/tls/route-key.pem", routeKey,
		"/data/jetstream", filepath.Join(dir, "jetstream"),
	).Replace(string(b))
}

// calloutEnv sets what deploy/nats-cluster/pedigree.conf reads from the
// environment, with the node's NATS key and a new callout issuer written
// where the node will find them, and returns the issuer seed file.
func calloutEnv(t *testing.T, dataDir string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dataDir, KeysDir), 0o700); err != nil {
		t.Fatal(err)
	}
	natsKey, err := envelope.LoadOrCreateKeyFile(filepath.Join(dataDir, KeysDir, NATSKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	nk, err := natsauth.NKey(natsKey.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := issuer.Seed()
	issuerPub, _ := issuer.PublicKey()
	seedFile := filepath.Join(t.TempDir(), "issuer.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PEDIGREE_NODE_NKEY", nk)
	t.Setenv("PEDIGREE_CALLOUT_ISSUER", issuerPub)
	t.Setenv("NATS_SYS_PASSWORD", "test-sys-password")
	return seedFile
}

// TestDeployNATSConfigsParse checks that the cluster's configuration files
// are valid for the NATS server this module pins.
func TestDeployNATSConfigsParse(t *testing.T) {
	dir, pki := t.TempDir(), newTestPKI(t)
	calloutEnv(t, t.TempDir())
	if err := os.WriteFile(filepath.Join(dir, "pedigree.conf"), []byte(deployConf(t, "pedigree.conf", dir, pki)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nats-1.conf", "nats-2.conf", "nats-3.conf"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(deployConf(t, name, dir, pki)), 0o600); err != nil {
			t.Fatal(err)
		}
		opts, err := server.ProcessConfigFile(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if opts.AuthCallout == nil || opts.TLSConfig == nil || opts.Cluster.TLSConfig == nil || len(opts.Routes) != 3 || opts.SystemAccount != "SYS" {
			t.Fatalf("%s: want auth callout, client and route TLS, three routes and the system account; got %+v", name, opts)
		}
	}
}

// TestNATSAuthCalloutOnAnExternalServer runs a NATS server configured as
// deploy/nats-cluster configures each member (without the cluster), and a
// node that serves its auth callout: parties get in with their keys and
// no more rights than on the embedded server; nobody else gets in.
func TestNATSAuthCalloutOnAnExternalServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir, dataDir, pki := t.TempDir(), t.TempDir(), newTestPKI(t)
	seedFile := calloutEnv(t, dataDir)
	if err := os.WriteFile(filepath.Join(dir, "pedigree.conf"), []byte(deployConf(t, "pedigree.conf", dir, pki)), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "single.conf")
	text := "server_name: single\nhost: 127.0.0.1\nport: -1\ninclude ./pedigree.conf\n" +
		"tls {\n cert_file: " + pki.serverCert + "\n key_file: " + pki.serverKey + "\n ca_file: " + pki.ca + "\n}\n" +
		"jetstream {\n store_dir: " + filepath.Join(dir, "js") + "\n}\n"
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	opts.NoSigs, opts.NoLog = true, true
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	defer srv.Shutdown()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server not ready")
	}
	url := srv.ClientURL()

	cfg := testConfig(dataDir)
	cfg.NATSURL, cfg.NATSListen = url, ""
	cfg.NATSTLS.CA = pki.ca
	cfg.NATSCalloutIssuer = seedFile
	cfg.NATSSweepInterval = time.Hour // the test sweeps
	cfg.NATSSystemUser, cfg.NATSSystemPasswordFile = "sys", filepath.Join(dir, "sys.password")
	if err := os.WriteFile(cfg.NATSSystemPasswordFile, []byte("test-sys-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, cfg)
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	keyA := a.keyedParty(apiPharm, pb.Role_ROLE_PHARMACY)
	a.keyedParty(apiPh2, pb.Role_ROLE_PHARMACY)

	tlsOpt := nats.RootCAs(pki.ca)
	if nc, err := nats.Connect(url, tlsOpt, nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatal("an anonymous client connected")
	}
	_, stranger, _ := envelope.GenerateKey()
	cred, _ := natsauth.Credential(stranger)
	if nc, err := nats.Connect(url, tlsOpt, cred, nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatal("a key registered to no party connected")
	}
	p := &natsParty{errs: make(chan error, 64), gone: make(chan struct{})}
	cred, _ = natsauth.Credential(keyA)
	p.nc, err = nats.Connect(url, tlsOpt, cred, nats.NoReconnect(), nats.CustomInboxPrefix(subjects.InboxPrefix(apiPharm)),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { p.errs <- err }),
		nats.ClosedHandler(func(*nats.Conn) { close(p.gone) }))
	if err != nil {
		t.Fatalf("a registered party: %v", err)
	}
	defer p.nc.Close()
	js, err := jetstream.New(p.nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, subjects.ScanSubject(apiPharm), []byte("not an envelope")); err != nil {
		t.Fatalf("publish on the party's own subject: %v", err)
	}
	if err := p.nc.Publish(subjects.ScanSubject(apiPh2), []byte("as B")); err != nil {
		t.Fatal(err)
	}
	p.violation(t, subjects.ScanSubject(apiPh2))
	if _, err := p.nc.SubscribeSync(subjects.ScanSubjects); err != nil {
		t.Fatal(err)
	}
	p.violation(t, subjects.ScanSubjects)
	if _, err := p.nc.Request("$JS.API.STREAM.INFO."+subjects.ScanStream, nil, 200*time.Millisecond); err == nil {
		t.Fatal("the JetStream API answered a party")
	}

	// A revoked key's connection is closed on the server that holds it,
	// through the cluster's system account, at the next sweep.
	path := "/v1/parties/" + apiPharm + "/keys/" + envelope.KeyID(keyA.Public().(ed25519.PublicKey))
	if err := a.as(a.adminToken()).Do(ctx, "DELETE", path, nil, &pb.RevokePartyKeyResponse{}); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	n.Callout().Sweep(ctx, n.natsSys)
	select {
	case <-p.gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the revoked key's connection is still open")
	}
	if nc, err := nats.Connect(url, tlsOpt, cred, nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatal("the revoked key connected again")
	}
}

// TestEmbeddedNATSWithMutualTLS: with --nats-tls-cert, --nats-tls-key and
// --nats-tls-ca the embedded server's client port takes only TLS clients
// with a certificate from that CA, and still only registered keys.
func TestEmbeddedNATSWithMutualTLS(t *testing.T) {
	pki := newTestPKI(t)
	cfg := testConfig(t.TempDir())
	cfg.NATSTLS = TLSFiles{Cert: pki.serverCert, Key: pki.serverKey, CA: pki.ca}
	n := startNode(t, cfg)
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	key := a.keyedParty(apiPharm, pb.Role_ROLE_PHARMACY)
	cred, err := natsauth.Credential(key)
	if err != nil {
		t.Fatal(err)
	}
	url := strings.Replace(n.NATSURL(), "nats://", "tls://", 1)
	ca := nats.RootCAs(pki.ca)
	if nc, err := nats.Connect(url, ca, cred, nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatal("a client without a certificate connected")
	}
	clientCert := nats.ClientCert(pki.clientCert, pki.clientKey)
	if nc, err := nats.Connect(url, ca, clientCert, nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatal("a client with a certificate but no registered key connected")
	}
	nc, err := nats.Connect(url, ca, clientCert, cred, nats.NoReconnect(), nats.CustomInboxPrefix(subjects.InboxPrefix(apiPharm)))
	if err != nil {
		t.Fatalf("a registered party with a certificate: %v", err)
	}
	nc.Close()
}
