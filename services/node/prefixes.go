package node

import (
	"errors"
	"fmt"
	"os"

	"github.com/pedigree-project/pedigree/gs1"
	"github.com/pedigree-project/pedigree/gs1/epc"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// loadGCPTable reads the GCP length table file; nil without one.
func loadGCPTable(path string) (*epc.Table, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("node: gcp-table: %w", err)
	}
	defer f.Close()
	t, err := epc.ParseTable(f)
	if err != nil {
		return nil, fmt.Errorf("node: gcp-table %s: %w", path, err)
	}
	return t, nil
}

// CompanyPrefixLengths answers where a key's GS1 Company Prefix ends, for
// the translation of GS1 Digital Link URIs to EPC URNs (package gs1/epc):
// the prefixes registered to parties first (the longest that matches, as
// committed when asked), then the GS1 GCP length table of
// Config.GCPTable, when there is one.
func (n *Node) CompanyPrefixLengths() epc.PrefixLengths {
	registered := epc.PrefixLengthFunc(func(digits string) (int, error) {
		l, _, err := n.store.CompanyPrefixLength(digits)
		if errors.Is(err, state.ErrNotFound) {
			if len(digits) > state.MaxPrefixDigits {
				digits = digits[:state.MaxPrefixDigits] + "…"
			}
			return 0, &gs1.Error{Field: "company_prefix", Rule: gs1.RuleCompanyPrefix,
				Msg: fmt.Sprintf("node: no party holds a company prefix that %q starts with", digits)}
		}
		return l, err
	})
	if n.gcpTable == nil {
		return registered
	}
	return epc.First(registered, n.gcpTable)
}
