package lifecycle_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/pedigree-project/pedigree/lifecycle"
)

// The master-data rules as tables a regulator can read: each file under
// testdata/masterdata sets up parties, products, batches, tokens and
// alerts, then asks the rules whether a party may register or change
// something, and records the answer ("ok", or the refusal's code and
// reason). Parties, keys and tokens are named by readable aliases; the
// rules see GLNs, public keys and token IDs made from them.
//
// Commands (arguments key=value):
//
//	party gln= role= [keys=k1,k2] [prefixes=p1,p2]  a registered party (set-up)
//	product gtin= manufacturer=             a registered product (set-up)
//	batch gtin= lot=                        a registered batch (set-up)
//	token party= id= [revoked]              an API token (set-up)
//	alert id= status=                       a raised alert (set-up)
//	authority                               who may do what, by role
//	register-party by= gln= role= [keys=] [prefixes=]  then the rules' answer; an
//	add-key by= party= key=                 accepted write is applied, so
//	add-prefix by= party= prefix=
//	revoke-key by= party= key=              later cases see it
//	register-product by= gtin= [manufacturer=]
//	register-batch by= gtin= lot=
//	issue-token by= party= id= [expires=RFC 3339] [revoke=t1,t2]
//	revoke-token by= party= id=
//	review-alert by= id=
//
// Record time is 2026-01-01T00:00:00Z throughout.
func TestMasterDataRules(t *testing.T) {
	datadriven.Walk(t, "testdata/masterdata", func(t *testing.T, path string) {
		r := newRegistry()
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			return r.run(t, d)
		})
	})
}

var recordTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// registry is an in-memory lifecycle.Registry.
type registry struct {
	parties  map[string]lifecycle.Party
	products map[string]lifecycle.Product
	batches  map[[2]string]lifecycle.Batch
	keys     map[[8]byte]bool
	tokens   map[string]bool // party/ID → valid
	alerts   map[string]lifecycle.AlertStatus
	names    map[string]string // hex of key and token IDs → alias, for the output
}

func newRegistry() *registry {
	return &registry{parties: map[string]lifecycle.Party{}, products: map[string]lifecycle.Product{},
		batches: map[[2]string]lifecycle.Batch{}, keys: map[[8]byte]bool{}, tokens: map[string]bool{},
		alerts: map[string]lifecycle.AlertStatus{}, names: map[string]string{}}
}

func (r *registry) Pack(string, string) (lifecycle.Pack, bool)   { return lifecycle.Pack{}, false }
func (r *registry) Container(string) (lifecycle.Container, bool) { return lifecycle.Container{}, false }
func (r *registry) Party(gln string) (lifecycle.Party, bool)     { p, ok := r.parties[gln]; return p, ok }
func (r *registry) Product(gtin string) (lifecycle.Product, bool) {
	p, ok := r.products[gtin]
	return p, ok
}
func (r *registry) Batch(gtin, lot string) (lifecycle.Batch, bool) {
	b, ok := r.batches[[2]string{gtin, lot}]
	return b, ok
}
func (r *registry) KeyRegistered(id [8]byte) bool { return r.keys[id] }

// PrefixOverlap implements lifecycle.Registry by looking at every party.
func (r *registry) PrefixOverlap(prefix string) (lifecycle.PrefixClaim, bool) {
	for gln, p := range r.parties {
		for _, have := range p.Prefixes {
			if strings.HasPrefix(have, prefix) || strings.HasPrefix(prefix, have) {
				return lifecycle.PrefixClaim{Prefix: have, Party: gln}, true
			}
		}
	}
	return lifecycle.PrefixClaim{}, false
}

// list splits a comma-separated argument.
func list(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}
func (r *registry) Alert(id string) (lifecycle.AlertStatus, bool) {
	s, ok := r.alerts[id]
	return s, ok
}
func (r *registry) Token(gln string, id [8]byte) (valid, known bool) {
	valid, known = r.tokens[gln+"/"+hex.EncodeToString(id[:])]
	return valid, known
}

// key is the public key an alias stands for.
func (r *registry) key(alias string) []byte {
	sum := sha256.Sum256([]byte("key " + alias))
	id := lifecycle.KeyID(sum[:])
	r.names[hex.EncodeToString(id[:])] = alias
	return sum[:]
}

// tokenID is the token ID an alias stands for.
func (r *registry) tokenID(alias string) [8]byte {
	sum := sha256.Sum256([]byte("token " + alias))
	id := [8]byte(sum[:8])
	r.names[hex.EncodeToString(id[:])] = alias
	return id
}

func (r *registry) keyList(s string) [][]byte {
	var keys [][]byte
	for _, k := range strings.Split(s, ",") {
		if k != "" {
			keys = append(keys, r.key(k))
		}
	}
	return keys
}

func role(t *testing.T, d *datadriven.TestData, s string) lifecycle.Role {
	for n := lifecycle.RoleUnspecified; n <= lifecycle.RoleAdmin; n++ {
		if strings.EqualFold(strings.ReplaceAll(lifecycle.RoleWord(n), " ", "-"), s) {
			return n
		}
	}
	d.Fatalf(t, "unknown role %q", s)
	return 0
}

func (r *registry) actor(t *testing.T, d *datadriven.TestData) lifecycle.Party {
	gln := arg(t, d, "by")
	p, ok := r.parties[gln]
	if !ok {
		p = lifecycle.Party{GLN: gln} // not registered: no role
	}
	return p
}

func arg(t *testing.T, d *datadriven.TestData, key string) string {
	var v string
	d.ScanArgs(t, key, &v)
	return v
}

func optArg(t *testing.T, d *datadriven.TestData, key string) string {
	var v string
	d.MaybeScanArgs(t, key, &v)
	return v
}

// answer prints a decision, with key and token IDs by their aliases.
func (r *registry) answer(ref lifecycle.Refusal) string {
	if !ref.Refused() {
		return "ok"
	}
	s := fmt.Sprintf("refused %s: %s", ref.Code, ref.Reason)
	for h, alias := range r.names {
		s = strings.ReplaceAll(s, h, alias)
	}
	return s
}

func (r *registry) run(t *testing.T, d *datadriven.TestData) string {
	switch d.Cmd {
	case "party":
		gln := arg(t, d, "gln")
		r.parties[gln] = lifecycle.Party{GLN: gln, Role: role(t, d, arg(t, d, "role")), Keys: r.keyList(optArg(t, d, "keys")),
			Prefixes: list(optArg(t, d, "prefixes"))}
		for _, k := range r.parties[gln].Keys {
			r.keys[lifecycle.KeyID(k)] = true
		}
		return "ok"
	case "product":
		gtin := arg(t, d, "gtin")
		r.products[gtin] = lifecycle.Product{GTIN: gtin, Manufacturer: arg(t, d, "manufacturer")}
		return "ok"
	case "batch":
		gtin, lot := arg(t, d, "gtin"), arg(t, d, "lot")
		r.batches[[2]string{gtin, lot}] = lifecycle.Batch{GTIN: gtin, Lot: lot}
		return "ok"
	case "token":
		id := r.tokenID(arg(t, d, "id"))
		r.tokens[arg(t, d, "party")+"/"+hex.EncodeToString(id[:])] = !d.HasArg("revoked")
		return "ok"
	case "alert":
		id, st := arg(t, d, "id"), arg(t, d, "status")
		for s := lifecycle.AlertStatusUnspecified; s <= lifecycle.AlertClosedConfirmedFalsification; s++ {
			if strings.EqualFold(s.String(), st) {
				r.alerts[id] = s
				return "ok"
			}
		}
		d.Fatalf(t, "unknown alert status %q", st)
	case "authority":
		return authorityTable()
	case "register-party":
		gln := arg(t, d, "gln")
		p := lifecycle.Party{GLN: gln, Role: role(t, d, arg(t, d, "role")), Keys: r.keyList(optArg(t, d, "keys")),
			Prefixes: list(optArg(t, d, "prefixes"))}
		ref := lifecycle.RegisterParty(r, r.actor(t, d).Role, p)
		if !ref.Refused() {
			r.parties[gln] = p
			for _, k := range p.Keys {
				r.keys[lifecycle.KeyID(k)] = true
			}
		}
		return r.answer(ref)
	case "add-key", "revoke-key":
		pub := r.key(arg(t, d, "key"))
		change := lifecycle.AddKey
		if d.Cmd == "revoke-key" {
			change = lifecycle.RevokeKey
		}
		p, ref := change(r, r.actor(t, d), arg(t, d, "party"), pub)
		if !ref.Refused() {
			r.parties[p.GLN] = p
			r.keys[lifecycle.KeyID(pub)] = true
		}
		return r.answer(ref)
	case "add-prefix":
		p, ref := lifecycle.AddPrefix(r, r.actor(t, d).Role, arg(t, d, "party"), arg(t, d, "prefix"))
		if !ref.Refused() {
			r.parties[p.GLN] = p
		}
		return r.answer(ref)
	case "register-product":
		actor := r.actor(t, d)
		gtin, mfr := arg(t, d, "gtin"), optArg(t, d, "manufacturer")
		if mfr == "" {
			mfr = actor.GLN
		}
		ref := lifecycle.RegisterProduct(r, actor, gtin, mfr)
		if !ref.Refused() {
			r.products[gtin] = lifecycle.Product{GTIN: gtin, Manufacturer: mfr}
		}
		return r.answer(ref)
	case "register-batch":
		gtin, lot := arg(t, d, "gtin"), arg(t, d, "lot")
		ref := lifecycle.RegisterBatch(r, r.actor(t, d), gtin, lot)
		if !ref.Refused() {
			r.batches[[2]string{gtin, lot}] = lifecycle.Batch{GTIN: gtin, Lot: lot}
		}
		return r.answer(ref)
	case "issue-token":
		owner, id := arg(t, d, "party"), r.tokenID(arg(t, d, "id"))
		var expires time.Time
		if e := optArg(t, d, "expires"); e != "" {
			var err error
			if expires, err = time.Parse(time.RFC3339, e); err != nil {
				d.Fatalf(t, "expires: %v", err)
			}
		}
		var revoke [][8]byte
		for _, a := range strings.Split(optArg(t, d, "revoke"), ",") {
			if a != "" {
				revoke = append(revoke, r.tokenID(a))
			}
		}
		ref := lifecycle.IssueToken(r, r.actor(t, d), owner, id, expires, recordTime, revoke)
		if !ref.Refused() {
			r.tokens[owner+"/"+hex.EncodeToString(id[:])] = true
			for _, x := range revoke {
				r.tokens[owner+"/"+hex.EncodeToString(x[:])] = false
			}
		}
		return r.answer(ref)
	case "revoke-token":
		owner, id := arg(t, d, "party"), r.tokenID(arg(t, d, "id"))
		ref := lifecycle.RevokeToken(r, r.actor(t, d), owner, id)
		if !ref.Refused() {
			r.tokens[owner+"/"+hex.EncodeToString(id[:])] = false
		}
		return r.answer(ref)
	case "review-alert":
		ref := lifecycle.ReviewAlert(r, r.actor(t, d).Role, arg(t, d, "id"))
		return r.answer(ref)
	default:
		d.Fatalf(t, "unknown command %q", d.Cmd)
	}
	return ""
}

// authorityTable says, for every role, what a party of that role may do
// with the master data: "own" when only for itself, "yes" for anyone,
// "-" never.
func authorityTable() string {
	const self, other = "self", "other"
	cols := []struct {
		name string
		may  func(lifecycle.Role) string
	}{
		{"register party", func(r lifecycle.Role) string { return yes(lifecycle.MayRegisterParty(r, lifecycle.RolePharmacy)) }},
		{"register admin", func(r lifecycle.Role) string { return yes(lifecycle.MayRegisterParty(r, lifecycle.RoleAdmin)) }},
		{"trust node key", func(r lifecycle.Role) string { return yes(lifecycle.MayTrustNodeKey(r)) }},
		{"add prefix", func(r lifecycle.Role) string { return yes(lifecycle.MayManagePrefixes(r)) }},
		{"review alert", func(r lifecycle.Role) string { return yes(lifecycle.MayReviewAlert(r)) }},
		{"sees all", func(r lifecycle.Role) string {
			if lifecycle.SeesAll(r) {
				return "yes"
			}
			return "-"
		}},
		{"keys", func(r lifecycle.Role) string {
			return ownOrAny(lifecycle.MayManageKeys(lifecycle.Party{GLN: self, Role: r}, self), lifecycle.MayManageKeys(lifecycle.Party{GLN: self, Role: r}, other))
		}},
		{"tokens", func(r lifecycle.Role) string {
			return ownOrAny(lifecycle.MayManageTokens(lifecycle.Party{GLN: self, Role: r}, self), lifecycle.MayManageTokens(lifecycle.Party{GLN: self, Role: r}, other))
		}},
		{"products", func(r lifecycle.Role) string {
			return ownOrAny(lifecycle.MayRegisterProduct(lifecycle.Party{GLN: self, Role: r}, self), lifecycle.MayRegisterProduct(lifecycle.Party{GLN: self, Role: r}, other))
		}},
		{"batches of its products", func(r lifecycle.Role) string {
			return ownOrAny(lifecycle.MayRegisterBatch(lifecycle.Party{GLN: self, Role: r}, self), lifecycle.MayRegisterBatch(lifecycle.Party{GLN: self, Role: r}, other))
		}},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-20s", "role")
	for _, c := range cols {
		fmt.Fprintf(&b, " | %s", c.name)
	}
	b.WriteString("\n")
	for r := lifecycle.RoleUnspecified; r <= lifecycle.RoleAdmin; r++ {
		line := fmt.Sprintf("%-20s", lifecycle.RoleWord(r))
		for _, c := range cols {
			line += fmt.Sprintf(" | %-*s", len(c.name), c.may(r))
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	return b.String()
}

func yes(r lifecycle.Refusal) string {
	if r.Refused() {
		return "-"
	}
	return "yes"
}

// ownOrAny is "any" when allowed for another party, "own" when only for
// itself, "-" when not at all.
func ownOrAny(own, anyone lifecycle.Refusal) string {
	switch {
	case !anyone.Refused():
		return "any"
	case !own.Refused():
		return "own"
	}
	return "-"
}
