package node

import (
	"net/http"

	"github.com/pedigree-project/pedigree/services/internal/epcisapi"
)

// withEPCISQuery serves the EPCIS query interface (GET /epcis/events, …)
// in front of h; the streams it serves end when the HTTP server shuts
// down (register the returned func with RegisterOnShutdown).
func (n *Node) withEPCISQuery(h http.Handler) (http.Handler, func(), error) {
	q, err := epcisapi.NewQuery(epcisapi.QueryConfig{Store: n.store, Ledger: n.ledger, Authenticator: n.authn,
		Commits: n.pipeline, Now: n.now, Logger: n.logger})
	if err != nil {
		return nil, nil, err
	}
	return q.Wrap(h), q.Shutdown, nil
}
