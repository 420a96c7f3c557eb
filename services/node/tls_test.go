package node

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/pedigree-project/pedigree/client"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// testPKI is a CA, a server certificate for 127.0.0.1 and a client
// certificate, as PEM files in a directory.
type testPKI struct {
	dir                       string
	ca, serverCert, serverKey string
	clientCert, clientKey     string
	caCert                    *x509.Certificate
	caKey                     *ecdsa.PrivateKey
	serial                    int64
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir()}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Pedigree test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if p.caCert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	p.caKey, p.serial = key, 1
	p.ca = p.write(t, "ca.pem", "CERTIFICATE", der)
	p.serverCert, p.serverKey = p.issue(t, "server", x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = p.issue(t, "client", x509.ExtKeyUsageClientAuth)
	return p
}

// issue makes a certificate signed by the CA and returns its PEM files.
func (p *testPKI) issue(t *testing.T, name string, usage ...x509.ExtKeyUsage) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: usage,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return p.write(t, name+".pem", "CERTIFICATE", der), p.write(t, name+".key", "PRIVATE KEY", kder)
}

func (p *testPKI) write(t *testing.T, name, kind string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// clientTLS is the TLS configuration of a caller trusting the test CA,
// with the client certificate when withCert.
func (p *testPKI) clientTLS(t *testing.T, withCert bool) *tls.Config {
	t.Helper()
	var cert, key string
	if withCert {
		cert, key = p.clientCert, p.clientKey
	}
	cfg, err := client.TLSConfig(p.ca, cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// tlsCalls calls both ports of n over TLS with cfg: a gRPC health check
// and an authenticated gRPC call, /readyz and an authenticated REST call
// (which crosses the gateway's in-memory connection to gRPC). It returns
// the first error.
func tlsCalls(t *testing.T, n *Node, token string, cfg *tls.Config) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := grpc.NewClient(n.GRPCAddr(), grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		return err
	}
	actx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	if _, err := pb.NewRegistryServiceClient(conn).ListParties(actx, &pb.ListPartiesRequest{}); err != nil {
		return err
	}
	c := newREST(n.HTTPAddr(), token, cfg)
	if err := c.Get(ctx, "/v1/parties", &pb.ListPartiesResponse{}); err != nil {
		return err
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg.Clone()}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("https://" + n.HTTPAddr() + "/readyz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &restError{HTTPStatus: resp.StatusCode, Message: "/readyz"}
	}
	return nil
}

func TestBothPortsSpeakTLS(t *testing.T) {
	pki := newTestPKI(t)
	cfg := testConfig(t.TempDir())
	cfg.Edge.TLSCert, cfg.Edge.TLSKey = pki.serverCert, pki.serverKey
	n := startNode(t, cfg)
	defer shutdown(t, n)
	token := (&api{t: t, n: n}).adminToken()
	if err := tlsCalls(t, n, token, pki.clientTLS(t, false)); err != nil {
		t.Fatalf("calls over TLS: %v", err)
	}
	// Plaintext is refused on both ports.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := grpc.NewClient(n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err == nil {
		t.Error("plaintext gRPC answered on a TLS port")
	}
	if resp, err := http.Get("http://" + n.HTTPAddr() + "/readyz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP answered on a TLS port")
		}
	}
}

func TestMutualTLSRefusesCallersWithoutACertificate(t *testing.T) {
	pki := newTestPKI(t)
	cfg := testConfig(t.TempDir())
	cfg.Edge.TLSCert, cfg.Edge.TLSKey, cfg.Edge.TLSClientCA = pki.serverCert, pki.serverKey, pki.ca
	n := startNode(t, cfg)
	defer shutdown(t, n)
	token := (&api{t: t, n: n}).adminToken()
	if err := tlsCalls(t, n, token, pki.clientTLS(t, true)); err != nil {
		t.Fatalf("calls with a client certificate: %v", err)
	}
	noCert := pki.clientTLS(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := grpc.NewClient(n.GRPCAddr(), grpc.WithTransportCredentials(credentials.NewTLS(noCert)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err == nil {
		t.Error("gRPC answered a caller without a client certificate")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: noCert}}
	if resp, err := hc.Get("https://" + n.HTTPAddr() + "/readyz"); err == nil {
		resp.Body.Close()
		t.Errorf("HTTP answered a caller without a client certificate: %d", resp.StatusCode)
	}
	// A certificate from another CA is refused too.
	other := newTestPKI(t)
	stranger, err := client.TLSConfig(pki.ca, other.clientCert, other.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlsCalls(t, n, token, stranger); err == nil {
		t.Error("a client certificate of another CA was accepted")
	}
}
