package node

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pedigree-project/pedigree/services/internal/natsauth"
	"github.com/pedigree-project/pedigree/services/internal/natsbus"
)

// ClusterConfig makes the embedded NATS server a member of a JetStream
// cluster formed by the embedded servers of several Pedigree nodes (or
// by NATS servers configured alike). Each node still builds its own
// ledger from the one replicated SCANS stream.
type ClusterConfig struct {
	// Listen is the route address (host:port); empty: no cluster.
	Listen string
	// Routes are the other members' route URLs (nats://host:port). A
	// member's own URL may be listed, so that every member can be given
	// the same list.
	Routes []string
	// Name is the cluster's name, the same on every member.
	Name string
	// CredentialsFile holds the shared route password: one line of at
	// least 32 characters (`openssl rand -base64 48`), mode 0600. Every
	// member reads the same file; routes present it as user
	// natsbus.RouteUser. Required.
	CredentialsFile string
	// TLS makes routes use mutual TLS: Cert and Key are this member's
	// certificate (used both to accept and to dial routes, so it needs
	// the server and client auth usages), CA checks the other members'.
	TLS TLSFiles
}

// DefaultClusterName is the cluster name when none is given.
const DefaultClusterName = "pedigree"

// maxRouteSecretFile bounds the route credential file.
const maxRouteSecretFile = 4096

func (c ClusterConfig) validate(cfg Config) []error {
	if c.Listen == "" {
		if len(c.Routes) > 0 || c.CredentialsFile != "" || c.TLS != (TLSFiles{}) {
			return []error{errors.New("nats-cluster-listen: required with --nats-routes, --nats-cluster-credentials and --nats-cluster-tls-*")}
		}
		return nil
	}
	var errs []error
	if cfg.NATSURL != "" {
		errs = append(errs, errors.New("nats-cluster-listen: the embedded server's cluster; leave it out with --nats (an external cluster)"))
	}
	if cfg.NATSListen == "" {
		errs = append(errs, errors.New("nats-listen: required with --nats-cluster-listen (a cluster member's server takes clients)"))
	}
	if len(c.Routes) == 0 {
		errs = append(errs, errors.New("nats-routes: required with --nats-cluster-listen (JetStream needs configured routes; a member may list its own)"))
	}
	if c.CredentialsFile == "" {
		errs = append(errs, errors.New("nats-cluster-credentials: required with --nats-cluster-listen: routes are authenticated"))
	}
	if (c.TLS.Cert != "" || c.TLS.Key != "" || c.TLS.CA != "") && (c.TLS.Cert == "" || c.TLS.Key == "" || c.TLS.CA == "") {
		errs = append(errs, errors.New("nats-cluster-tls-cert, -key, -ca: all three, for mutual TLS on routes, or none"))
	}
	return errs
}

// natsbus returns the embedded server's cluster configuration, nil when
// the node is not in a cluster.
func (c ClusterConfig) natsbus() (*natsbus.ClusterConfig, error) {
	if c.Listen == "" {
		return nil, nil
	}
	pass, err := readRouteSecret(c.CredentialsFile)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := c.TLS.server()
	if err != nil {
		return nil, fmt.Errorf("node: nats-cluster-tls: %w", err)
	}
	name := c.Name
	if name == "" {
		name = DefaultClusterName
	}
	return &natsbus.ClusterConfig{Name: name, Listen: c.Listen, Routes: c.Routes, Password: pass, TLS: tlsCfg}, nil
}

// readRouteSecret reads the shared route password from its file.
func readRouteSecret(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("node: nats-cluster-credentials: %w", err)
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, maxRouteSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("node: nats-cluster-credentials %s: %w", path, err)
	}
	if len(buf) > maxRouteSecretFile {
		return "", fmt.Errorf("node: nats-cluster-credentials %s: more than %d bytes; want one line, the route password", path, maxRouteSecretFile)
	}
	pass := strings.TrimSpace(string(buf))
	if strings.ContainsAny(pass, "\r\n\t ") {
		return "", fmt.Errorf("node: nats-cluster-credentials %s: want one line without spaces, the route password", path)
	}
	if len(pass) < natsbus.MinRoutePasswordLen {
		return "", fmt.Errorf("node: nats-cluster-credentials %s: the route password has %d characters, at least %d are required", path, len(pass), natsbus.MinRoutePasswordLen)
	}
	return pass, nil
}

// validNodeName reports whether s is 1-64 letters, digits, '.', '_' or
// '-' (a NATS server name and a ledger node name at once).
func validNodeName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// clusterNATSKeyLabel separates the derivation of the cluster's NATS key
// from any other use of the route password.
const clusterNATSKeyLabel = "pedigree cluster node NATS key v1\n"

// clusterNATSKey is the NATS key every member of the cluster derives from
// the shared route password and admits as a node's: with it a node's
// connection, when its own member stops, fails over to another member's
// client port. Whoever holds the route password may join the cluster as
// a route already, so the key grants nothing more.
func clusterNATSKey(routePassword string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte(clusterNATSKeyLabel + routePassword))
	return ed25519.NewKeyFromSeed(seed[:])
}

// clusterReconnectWait is how long the node's connection waits between
// attempts at the cluster's members.
const clusterReconnectWait = 250 * time.Millisecond

// connectCluster connects the node to its cluster member's client port
// with the cluster's NATS key, reconnecting for ever to any member the
// cluster advertises: when this node's member stops, its ledger goes on
// consuming through another one.
func (n *Node) connectCluster(key ed25519.PrivateKey) error {
	cred, err := natsauth.Credential(key)
	if err != nil {
		return err
	}
	url := n.embedded.ClientURL()
	n.nc, err = nats.Connect(url, cred, nats.Name("pedigree-node"), nats.MaxReconnects(-1), nats.ReconnectWait(clusterReconnectWait),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			n.logger.Warn("NATS connection lost; trying the cluster's other members", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			n.logger.Info("NATS connection back", "server", nc.ConnectedUrlRedacted())
		}))
	if err != nil {
		return fmt.Errorf("node: connect to the cluster member at %s: %w", url, err)
	}
	return nil
}
