package simulate

import (
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/pedigree-project/pedigree/client"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/scanners/sdk"
)

// party is one simulated trading partner. Its credentials are filled in at
// setup and read-only afterwards.
type party struct {
	gln, name string
	role      pb.Role
	api       *client.Client     // gRPC client with the party's API token
	key       ed25519.PrivateKey // NATS mode: the party's signing key
	scanner   *sdk.Client        // NATS mode: the party's scanner
}

type product struct {
	gtin, name string
	mfr        *party
	batches    []*batch
}

// batchKind says what the plan does with a batch's packs.
type batchKind uint8

const (
	batchNormal   batchKind = iota
	batchExpiring           // expires after its packs reach the pharmacies
	batchRecalled           // recalled after its packs reach the pharmacies
)

type batch struct {
	prod *product
	lot  string
	// expiry is the YYMMDD on the packs; mismatch is another string a
	// forged label might carry (the same day written with DD 00).
	expiry, mismatch string
	kind             batchKind
	packs            []*pack
}

type pack struct {
	b      *batch
	serial string
}

// container is a case or a tote (packs) or a pallet (cases).
type container struct {
	sscc  string
	packs []*pack
	cases []*container
}

// objects returns what a shipment or receipt of c names: c itself.
func (c *container) objects() []obj { return []obj{{sscc: c.sscc}} }

// obj is one object of an event: a pack, or a container by SSCC.
type obj struct {
	pack *pack
	sscc string
}

func packObjs(ps []*pack) []obj {
	out := make([]obj, len(ps))
	for i, p := range ps {
		out[i] = obj{pack: p}
	}
	return out
}

func caseObjs(cs []*container) []obj {
	out := make([]obj, len(cs))
	for i, c := range cs {
		out[i] = obj{sscc: c.sscc}
	}
	return out
}

func (o obj) epc() *pb.Epc {
	if o.pack == nil {
		return sdk.ContainerOf(o.sscc)
	}
	return sdk.PackOf(o.pack.b.prod.gtin, o.pack.serial, o.pack.b.lot, o.pack.b.expiry)
}

// scanCode is what a barcode says: a pack's code, or a forged variant of it.
type scanCode struct {
	pack                *pack
	serial, lot, expiry string // when set, what the forged label says instead
}

func (c scanCode) fields() (gtin, serial, lot, expiry string) {
	gtin, serial, lot, expiry = c.pack.b.prod.gtin, c.pack.serial, c.pack.b.lot, c.pack.b.expiry
	if c.serial != "" {
		serial = c.serial
	}
	if c.lot != "" {
		lot = c.lot
	}
	if c.expiry != "" {
		expiry = c.expiry
	}
	return gtin, serial, lot, expiry
}

// barcode is what a pharmacy's 2D scanner types: the GS1 element string with
// symbology identifier, GS after the variable-length lot.
func (c scanCode) barcode() string {
	gtin, serial, lot, expiry := c.fields()
	return "]d201" + gtin + "17" + expiry + "10" + lot + "\x1d21" + serial
}

// bracketed is the human-readable form of the code.
func (c scanCode) bracketed() string {
	gtin, serial, lot, expiry := c.fields()
	return "(01)" + gtin + "(17)" + expiry + "(10)" + lot + "(21)" + serial
}

func (c scanCode) epc() *pb.Epc { return sdk.PackOf(c.fields()) }

// op is how a step reaches the node.
type op uint8

const (
	opCommission op = iota + 1 // Registry CommissionSerials, or a commissioning event
	opCapture                  // an EPCIS event: CaptureService, or NATS
	opVerify                   // VerificationService VerifyPack, or an inspecting event
	opDispense                 // VerificationService DispensePack, or a dispensing event
	opRecall                   // Registry RecallBatch (both modes)
)

// step is one scan (or the recall) with what the plan expects of it.
type step struct {
	op     op
	actor  *party
	at     time.Time
	biz    pb.BizStep // opCapture
	parent string     // opCapture packing and unpacking
	to     *party     // opCapture shipping
	objs   []obj      // opCapture, opCommission
	code   scanCode   // opVerify, opDispense
	batch  *batch     // opCommission, opRecall
	inj    *injection // nil for legitimate traffic
	res    result     // filled in by the run
}

// result is what the node answered.
type result struct {
	applied     bool // the write took effect (a verification: it was not refused as a whole)
	dispensable bool // verifications: the pack may be supplied
	status      pb.PackStatus
	alerts      []pb.AlertCode
	reason      string
	ledgerIndex uint64
	indexed     bool // ledgerIndex is known
}

// ok reports whether the answer is what legitimate traffic gets.
func (s *step) ok() bool {
	if s.op == opVerify {
		return s.res.applied && s.res.dispensable
	}
	return s.res.applied
}

// event builds the EPCIS event of an opCapture or opCommission step, timed
// at s.at, as a party's scanner would with the SDK.
func (s *step) event() (*pb.ScanEvent, error) {
	b, err := sdk.NewBuilder(s.actor.gln, "", func() time.Time { return s.at })
	if err != nil {
		return nil, err
	}
	epcs := make([]*pb.Epc, len(s.objs))
	for i, o := range s.objs {
		epcs[i] = o.epc()
	}
	switch s.op {
	case opCommission:
		return b.Commission(epcs...)
	case opVerify:
		return b.Verify(s.code.epc())
	case opDispense:
		return b.Dispense(s.code.epc())
	}
	d := sdk.Details{Parent: s.parent}
	if s.to != nil {
		d.To = s.to.gln
	}
	return b.Event(s.biz, d, epcs...)
}

// describe names the step in errors.
func (s *step) describe() string {
	what := map[op]string{opCommission: "commissioning", opVerify: "verification", opDispense: "dispensing",
		opRecall: "recall"}[s.op]
	if s.op == opCapture {
		what = sdk.StepName(s.biz)
	}
	return fmt.Sprintf("%s by %s at %s", what, s.actor.gln, s.at.Format(time.RFC3339))
}

// trouble is a kind of injected case.
type trouble uint8

const (
	troubleCounterfeit trouble = iota
	troubleCloneInStock
	troubleCloneDispensed
	troubleDiverted
	troubleBatchMismatch
	troubleExpiryMismatch
	troubleExpired
	troubleRecalled
	nTroubles
)

// expected returns what a case of trouble t is, and what detects it: an
// alert code, or (expired and recalled packs, which EU rules refuse without
// a falsification alert) the refusal status.
func (t trouble) expected() (what string, code pb.AlertCode, refusal pb.PackStatus) {
	switch t {
	case troubleCounterfeit:
		return "counterfeit (serial never commissioned)", pb.AlertCode_ALERT_CODE_UNKNOWN_SERIAL, 0
	case troubleCloneInStock:
		return "clone dispensed while the genuine pack is in stock elsewhere", pb.AlertCode_ALERT_CODE_CLONE_SUSPECTED, 0
	case troubleCloneDispensed:
		return "clone dispensed after the genuine pack", pb.AlertCode_ALERT_CODE_ALREADY_INACTIVE, 0
	case troubleDiverted:
		return "diverted: received or shipped by a party that never had it", pb.AlertCode_ALERT_CODE_CUSTODY_MISMATCH, 0
	case troubleBatchMismatch:
		return "label with another lot", pb.AlertCode_ALERT_CODE_BATCH_MISMATCH, 0
	case troubleExpiryMismatch:
		return "label with another expiry string", pb.AlertCode_ALERT_CODE_EXPIRY_MISMATCH, 0
	case troubleExpired:
		return "expired pack offered for dispensing", 0, pb.PackStatus_PACK_STATUS_EXPIRED
	case troubleRecalled:
		return "recalled pack offered for dispensing", 0, pb.PackStatus_PACK_STATUS_RECALLED
	}
	return "unknown", 0, 0
}

// injection is one injected case; it may span several steps (a clone is
// verified, then dispensed), and counts as detected when any of them raises
// the expected alert (or, for refusals, is refused with the expected status
// and no alert).
type injection struct {
	kind     trouble
	detected bool
}
