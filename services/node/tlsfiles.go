package node

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/nats-io/nats.go"
)

// TLSFiles names PEM files for one TLS endpoint.
type TLSFiles struct {
	// Cert and Key are the endpoint's own certificate chain and key.
	Cert, Key string
	// CA is the certificate authority that checks the peer: for a server,
	// the client certificates it then requires (mutual TLS); for a client,
	// the server's certificate.
	CA string
}

// server returns the TLS configuration of a server endpoint, nil when no
// certificate is configured.
func (f TLSFiles) server() (*tls.Config, error) {
	if f.Cert == "" && f.Key == "" {
		if f.CA != "" {
			return nil, errors.New("tls: a client CA needs a server certificate and key")
		}
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("tls: certificate %s and key %s: %w", f.Cert, f.Key, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if f.CA != "" {
		pool, err := certPool(f.CA)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// client returns the NATS connect options of a TLS client endpoint.
func (f TLSFiles) client() ([]nats.Option, error) {
	var opts []nats.Option
	if f.CA != "" {
		if _, err := certPool(f.CA); err != nil {
			return nil, err
		}
		opts = append(opts, nats.RootCAs(f.CA))
	}
	if f.Cert != "" || f.Key != "" {
		if _, err := tls.LoadX509KeyPair(f.Cert, f.Key); err != nil {
			return nil, fmt.Errorf("tls: client certificate %s and key %s: %w", f.Cert, f.Key, err)
		}
		opts = append(opts, nats.ClientCert(f.Cert, f.Key))
	}
	return opts, nil
}

func certPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tls: CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls: CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}
