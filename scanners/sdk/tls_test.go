package sdk_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/scanners/sdk"
	"github.com/pedigree-project/pedigree/services/nodetest"
)

// testPKI is a certificate authority with a server certificate for
// 127.0.0.1 and a client certificate, as PEM files.
type testPKI struct {
	caFile, clientCert, clientKey string
	server                        tls.Certificate
	pool                          *x509.CertPool
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	now := time.Now()
	caKey := key()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(serial int64, tmpl *x509.Certificate) ([]byte, *ecdsa.PrivateKey) {
		k := key()
		tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = big.NewInt(serial), now.Add(-time.Hour), now.Add(time.Hour)
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, k
	}
	srvDER, srvKey := issue(2, &x509.Certificate{Subject: pkix.Name{CommonName: "nats"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	cliDER, cliKey := issue(3, &x509.Certificate{Subject: pkix.Name{CommonName: party},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	cliKeyDER, err := x509.MarshalPKCS8PrivateKey(cliKey)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{
		caFile:     write("ca.pem", "CERTIFICATE", caDER),
		clientCert: write("client.pem", "CERTIFICATE", cliDER),
		clientKey:  write("client-key.pem", "PRIVATE KEY", cliKeyDER),
		server:     tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey},
		pool:       x509.NewCertPool(),
	}
	p.pool.AddCert(ca)
	return p
}

// TestTLSWithAClientCertificate connects through TLS to a server that
// checks client certificates and the party's NKey: the scan is published.
func TestTLSWithAClientCertificate(t *testing.T) {
	ctx := testContext(t)
	pki := newTestPKI(t)
	pub, priv := newKey(t)
	w := &world{t: t, natsDir: t.TempDir(), nodeDir: t.TempDir(), logs: &logRecorder{}, party: priv}
	w.startNATS(ctx, &tls.Config{Certificates: []tls.Certificate{pki.server}, ClientCAs: pki.pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12})
	if err := nodetest.EnsureStreams(ctx, w.js); err != nil {
		t.Fatal(err)
	}
	url := "tls://" + w.natsAddr()
	c, err := sdk.New(ctx, sdk.Config{
		NATSURL: url, TLSCAFile: pki.caFile, TLSCertFile: pki.clientCert, TLSKeyFile: pki.clientKey,
		PartyGLN: party, Key: priv, NodeKeys: mustNodeKeys(t, pub), QueueDir: t.TempDir(), Logger: quiet,
		PublishTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor(ctx, t, "connected over TLS", c.Connected)
	rc, err := c.Send(ctx, commission(t, c, 1))
	if err != nil || rc.Status != sdk.Published || rc.Sequence != 1 {
		t.Fatalf("send over TLS: %+v, %v; want published as sequence 1", rc, err)
	}
}
