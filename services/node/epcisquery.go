package node

import (
	"github.com/pedigree-project/pedigree/services/internal/epcisapi"
)

// epcisQuery returns the EPCIS query interface (GET /epcis/events, …),
// which wrapEPCIS mounts behind capture; the streams it serves end at its
// Shutdown (register it with the HTTP server's RegisterOnShutdown).
func (n *Node) epcisQuery() (*epcisapi.Query, error) {
	return epcisapi.NewQuery(epcisapi.QueryConfig{Store: n.store, Ledger: n.ledger, Authenticator: n.authn,
		Commits: n.pipeline, Now: n.now, Logger: n.logger})
}
