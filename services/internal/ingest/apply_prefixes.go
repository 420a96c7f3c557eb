package ingest

import (
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/convert"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// GS1 Company Prefixes of parties: given at registration (putRegistered)
// or added by an admin (addPrefix), recorded in the party and in table
// 0x21 (services/internal/state, prefixes.go), overlaid like the keys so
// that a prefix registered early in a batch is taken for later messages of
// the same batch.

// addPrefix adds a company prefix to a party.
func (o *overlay) addPrefix(actor lifecycle.Party, p *pb.PartyPrefix) (*pb.Outcome, error) {
	if err := convert.CheckPrefix("prefix.companyPrefix", p.GetCompanyPrefix()); err != nil {
		return nil, err
	}
	next, r := lifecycle.AddPrefix(o, actor.Role, p.GetPartyGln(), p.GetCompanyPrefix())
	if r.Refused() {
		return convert.Refused(r), nil
	}
	cur := o.party(next.GLN)
	o.putParty(&pb.Party{Gln: cur.GetGln(), Name: cur.GetName(), Role: cur.GetRole(), Country: cur.GetCountry(),
		PublicKeys: cur.GetPublicKeys(), CompanyPrefixes: next.Prefixes})
	o.putPrefix(p.GetCompanyPrefix(), next.GLN)
	return applied(), nil
}

// putPrefix records that party gln holds prefix.
func (o *overlay) putPrefix(prefix, gln string) {
	c := o.creds()
	for n := state.MinPrefixDigits; n < len(prefix); n++ {
		c.prefixes[prefix[:n]] = state.PrefixRecord{Party: gln, Prefix: prefix}
	}
	rec := state.PrefixRecord{Party: gln, Prefix: prefix, Exact: true}
	c.prefixes[prefix] = rec
	c.prefixOrder = append(c.prefixOrder, rec)
}

// prefixRecord reads table 0x21 as the batch sees it.
func (o *overlay) prefixRecord(digits string) (state.PrefixRecord, bool) {
	for _, c := range [...]*credOverlay{o.cred, o.prevCred()} {
		if c != nil {
			if r, ok := c.prefixes[digits]; ok {
				return r, true
			}
		}
	}
	r, err := o.store.CompanyPrefix(digits)
	if err != nil {
		if !isNotFound(err) {
			o.fail(err)
		}
		return state.PrefixRecord{}, false
	}
	return r, true
}

// PrefixOverlap implements lifecycle.Registry.
func (o *overlay) PrefixOverlap(prefix string) (lifecycle.PrefixClaim, bool) {
	for n := state.MinPrefixDigits; n <= min(len(prefix), state.MaxPrefixDigits); n++ {
		if r, ok := o.prefixRecord(prefix[:n]); ok && r.Exact {
			return lifecycle.PrefixClaim{Prefix: r.Prefix, Party: r.Party}, true
		}
	}
	if r, ok := o.prefixRecord(prefix); ok {
		return lifecycle.PrefixClaim{Prefix: r.Prefix, Party: r.Party}, true
	}
	return lifecycle.PrefixClaim{}, false
}
