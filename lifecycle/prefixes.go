package lifecycle

import (
	"strconv"
	"strings"
)

// GS1 Company Prefixes: a party may hold some (set when it is registered,
// added by an admin later). A prefix belongs to one party: no prefix may
// equal, start or extend a prefix already held, by another party or by the
// same one. A manufacturer that holds prefixes registers only products
// whose GTINs lie inside them. Parties without prefixes (parallel
// importers, whose products carry other GTINs, with any) and the products
// registered before keep the rules they had, so existing ledgers replay
// unchanged.
//
// A prefix's syntax (4 to 12 digits) is checked with the other fields, in
// the conversion from the wire format; the rules compare prefixes as
// strings of digits.

// MaxPartyPrefixes bounds the company prefixes a party holds.
const MaxPartyPrefixes = 32

// PrefixClaim is a registered GS1 Company Prefix and the party that holds
// it.
type PrefixClaim struct {
	Prefix string // 4–12 digits
	Party  string // GLN of the holder
}

// MayManagePrefixes refuses unless actor is an admin: only an admin adds a
// company prefix to a registered party.
func MayManagePrefixes(actor Role) Refusal {
	if actor != RoleAdmin {
		return refusal(OutcomeNotAuthorized, "only an admin may add company prefixes to a party (the sender is "+roleNoun(actor)+")")
	}
	return Refusal{}
}

// AddPrefix decides whether actor may add company prefix prefix to party
// owner, and returns the owner with the prefix added.
func AddPrefix(v Registry, actor Role, owner, prefix string) (Party, Refusal) {
	if r := MayManagePrefixes(actor); r.Refused() {
		return Party{}, r
	}
	target, ok := v.Party(owner)
	if !ok {
		return target, refusal(OutcomeNotFound, "prefix.partyGln: party "+strconv.Quote(owner)+" is not registered")
	}
	if len(target.Prefixes) >= MaxPartyPrefixes {
		return target, refusal(OutcomeConflict, "party "+owner+" already holds "+strconv.Itoa(MaxPartyPrefixes)+" company prefixes")
	}
	if r := prefixFree(v, "prefix.companyPrefix", prefix); r.Refused() {
		return target, r
	}
	target.Prefixes = append(append([]string(nil), target.Prefixes...), prefix)
	return target, Refusal{}
}

// newPrefixes refuses a new party's prefixes that overlap each other or a
// registered one.
func newPrefixes(v Registry, p Party) Refusal {
	if len(p.Prefixes) > MaxPartyPrefixes {
		return refusal(OutcomeInvalid, "party.companyPrefixes: at most "+strconv.Itoa(MaxPartyPrefixes)+" company prefixes, got "+strconv.Itoa(len(p.Prefixes)))
	}
	for i, a := range p.Prefixes {
		field := "party.companyPrefixes[" + strconv.Itoa(i) + "]"
		for _, b := range p.Prefixes[:i] {
			if overlaps(a, b) {
				return refusal(OutcomeInvalid, field+": company prefix "+a+" overlaps "+b+", also given: a prefix belongs to one party once")
			}
		}
		if r := prefixFree(v, field, a); r.Refused() {
			return r
		}
	}
	return Refusal{}
}

// prefixFree refuses prefix when a registered prefix equals, starts or
// extends it.
func prefixFree(v Registry, field, prefix string) Refusal {
	c, ok := v.PrefixOverlap(prefix)
	switch {
	case !ok:
		return Refusal{}
	case c.Prefix == prefix:
		return refusal(OutcomeAlreadyExists, field+": company prefix "+prefix+" is already held by party "+c.Party)
	case strings.HasPrefix(prefix, c.Prefix):
		return refusal(OutcomeConflict, field+": company prefix "+prefix+" extends "+c.Prefix+", held by party "+c.Party+": a prefix belongs to one party, with every number it starts")
	}
	return refusal(OutcomeConflict, field+": company prefix "+prefix+" starts "+c.Prefix+", held by party "+c.Party+": a prefix belongs to one party, with every number it starts")
}

func overlaps(a, b string) bool { return strings.HasPrefix(a, b) || strings.HasPrefix(b, a) }

// productPrefix refuses a GTIN outside the prefixes of a manufacturer that
// holds some, and a GTIN inside a company prefix another party holds, for
// any owner: a GTIN belongs to the holder of its company prefix (GS1
// General Specifications 1.4), so nobody registers another's product,
// whether or not it has registered prefixes of its own.
func productPrefix(v Registry, owner Party, gtin string) Refusal {
	if len(gtin) != 14 {
		return Refusal{} // the field checks refuse it; the rules never panic
	}
	digits := gtin[1:13] // a GTIN-14's company prefix follows its indicator digit
	if owner.Role == RoleManufacturer && len(owner.Prefixes) > 0 {
		for _, p := range owner.Prefixes {
			if strings.HasPrefix(digits, p) {
				return Refusal{}
			}
		}
		return refusal(OutcomeInvalid, "product.gtin: GTIN "+gtin+" is not inside the company prefixes of manufacturer "+owner.GLN+
			" ("+strings.Join(owner.Prefixes, ", ")+"): a manufacturer with company prefixes registers only its own GTINs")
	}
	if c, ok := v.PrefixOverlap(digits); ok && c.Party != owner.GLN {
		return refusal(OutcomeInvalid, "product.gtin: GTIN "+gtin+" is inside company prefix "+c.Prefix+" of party "+c.Party+
			": a GTIN is registered only for the holder of its company prefix")
	}
	return Refusal{}
}
