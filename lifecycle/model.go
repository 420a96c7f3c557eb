package lifecycle

// Identifiers (GTIN, serial, lot, expiry, SSCC, GLN) are strings exactly as
// encoded in the barcode or the EPCIS document. Their syntax is checked by
// the gs1 package before events reach the rules; the rules compare them as
// opaque strings and never panic on malformed ones. Times are Unix
// milliseconds (UTC).

// Transit says who shipped an object and to whom. The zero Transit means
// the object is not in transit.
type Transit struct {
	From string // GLN of the shipper
	To   string // GLN of the consignee
}

// InTransit reports whether the object was shipped and not yet received.
func (t Transit) InTransit() bool { return t.To != "" }

// Custody is who holds an object, where, and whether its movements are
// tracked. Pack and Container embed it; a pack or container inside another
// container takes its effective custody from the root container (see
// EffectiveCustody).
type Custody struct {
	Custodian string  // GLN of the party that holds the object
	Location  string  // GLN of where the object is
	Transit   Transit // set between shipping and receiving
	// Tracked is set once the object (or a container it was in) was
	// shipped or received: from then on custody binds (docs/design.md, "Pack
	// lifecycle and custody"). Untracked objects follow the EU model,
	// where only the two ends of the chain scan.
	Tracked bool
}

// Decommission records who took a pack out of the supply chain, where, when
// and into which status, so that an undo can be checked (EU 2016/161 art.
// 13).
type Decommission struct {
	Party    string // GLN of the party
	Location string // GLN of the location
	Time     int64  // event time, Unix milliseconds
	Status   Status // the status the decommission set
}

// Pack is the known state of one serialized pack.
type Pack struct {
	GTIN   string // GTIN-14 of the product
	Serial string // serial as commissioned
	Lot    string // lot it was commissioned in
	Expiry string // expiry of its batch at commissioning, YYMMDD as encoded
	Status Status // the pack's own status; see EffectiveStatus
	// Custody is the pack's own custody, meaningful while Parent is empty.
	// Inside a container the root container's custody applies instead.
	Custody
	Parent    string // SSCC of the container the pack is in; empty when loose
	LastEvent int64  // event time of the last event that changed the pack
	// Decommission is the last decommission, kept for undo; zero while
	// the pack is active.
	Decommission Decommission
}

// Container is a logistic unit (case, pallet) identified by its SSCC, or a
// case identified by an SGTIN of a case GTIN (IsCaseGTIN).
type Container struct {
	SSCC   string // the container's ID: its SSCC (18 digits) or CaseID
	Parent string // ID of the enclosing container; empty for a root
	// Custody is the container's own custody, meaningful while Parent is
	// empty (then it is the custody of everything inside).
	Custody
	Children  int    // packs and containers directly inside
	Packs     int    // packs inside, at any depth
	CreatedBy string // GLN of the party whose packing event created it
	LastEvent int64  // event time of the last event that changed it
}

// Batch is one lot of a product.
type Batch struct {
	GTIN      string // GTIN-14 of the product
	Lot       string // lot as encoded
	Expiry    string // YYMMDD exactly as encoded on the packs (DD may be 00)
	Recalled  bool   // set by a recall; never cleared
	Withdrawn bool   // set by a withdrawal; never cleared
	// Commissioned counts the packs commissioned in the batch, for the
	// guessing bound of fixed-length serial formats.
	Commissioned uint64
}

// Product is a registered medicinal product.
type Product struct {
	GTIN         string // GTIN-14
	Manufacturer string // GLN of the manufacturer that owns the product
	// SerialFormat and SerialLength are the format its serials must have
	// (CheckSerialFormat).
	SerialFormat SerialFormat
	SerialLength uint32
}

// Party is a registered trading partner or authority.
type Party struct {
	GLN  string // the party's identity, 13 digits
	Role Role   // what the party does
	// Keys are the party's current Ed25519 signing keys, for the
	// master-data rules; the pack rules ignore them.
	Keys [][]byte
	// Prefixes are the GS1 Company Prefixes the party holds (4–12
	// digits), for the master-data rules; the pack rules ignore them.
	Prefixes []string
}

// PackCode is what a pack's 2D code says: GTIN and serial, and the lot and
// expiry as scanned (empty when not scanned).
type PackCode struct {
	GTIN   string // AI (01)
	Serial string // AI (21)
	Lot    string // AI (10) as scanned; empty when not scanned
	Expiry string // AI (17) as scanned, YYMMDD; empty when not scanned
}

// Epc is one object an event is about: a pack, or a container when SSCC is
// set (Pack is then ignored).
type Epc struct {
	Pack PackCode // the pack, when SSCC is empty
	// SSCC is the container's ID: the AI (00) of a case or pallet, or, for
	// a case identified by an SGTIN, its CaseID.
	SSCC string
}

// IsContainer reports whether e names a container (SSCC).
func (e Epc) IsContainer() bool { return e.SSCC != "" }

// String names the object for people: "SSCC 034…", "case (01)1…(21)…" or
// "pack 0401…/SERIAL".
func (e Epc) String() string {
	if e.IsContainer() {
		return ContainerName(e.SSCC)
	}
	return "pack " + e.Pack.GTIN + "/" + e.Pack.Serial
}

// IsCaseGTIN reports whether a GTIN-14 identifies a grouping of trade
// items, by its packaging indicator (the first digit) 1–8: its SGTINs name
// cases (as the GS1 US DSCSA guideline serializes them), which the rules
// track as containers, never as packs. A pack a patient receives has a
// GTIN-8, -12 or -13, whose GTIN-14 begins with 0.
func IsCaseGTIN(gtin string) bool { return len(gtin) == 14 && gtin[0] >= '1' && gtin[0] <= '8' }

// CaseID is the container ID of a case identified by an SGTIN: its GS1
// element string in brackets, "(01)<GTIN-14>(21)<serial>". It never
// collides with an SSCC (18 digits).
func CaseID(gtin, serial string) string { return "(01)" + gtin + "(21)" + serial }

// ParseCaseID returns the GTIN and serial of a CaseID; ok is false for an
// SSCC or anything else.
func ParseCaseID(id string) (gtin, serial string, ok bool) {
	if len(id) < 4+14+4+1 || id[:4] != "(01)" || id[18:22] != "(21)" {
		return "", "", false
	}
	return id[4:18], id[22:], true
}

// ContainerName names a container for people: "SSCC 0340…" or
// "case (01)1…(21)…".
func ContainerName(id string) string {
	if _, _, ok := ParseCaseID(id); ok {
		return "case " + id
	}
	return "SSCC " + id
}

// BatchRef names one batch of one product (EPCIS class-level identifier).
type BatchRef struct {
	GTIN string // GTIN-14 of the product
	Lot  string // lot as encoded
}

// ILMD is the instance/lot master data of a commissioning event.
type ILMD struct {
	Lot    string // lot the serials are commissioned in
	Expiry string // YYMMDD as encoded; empty means the batch's
}

// Event is one EPCIS event as the rules see it.
type Event struct {
	ID          string      // EPCIS eventID; carried, not used by the rules
	Type        EventType   // the EPCIS event type
	Action      Action      // ADD, OBSERVE, DELETE; decides aggregation events
	Step        Step        // CBV business step; decides object events
	Disposition Disposition // CBV disposition: decommission reason, recall or withdrawal
	// EventTime is when the event happened, as the scanner saw it; the
	// rules (expiry, the undo window) use it. Zero means RecordTime.
	EventTime int64
	// RecordTime is the stream's record time of the event.
	RecordTime int64
	Actor      string // GLN of the acting party
	// ActorRole is the role the caller authenticated. When zero, the rules
	// read the actor's role from the View (View.Party).
	ActorRole   Role
	ReadPoint   string // GLN of where the scan was made; empty means Actor
	BizLocation string // GLN of where the objects are after the event
	// Epcs are the objects: the epcList of an ObjectEvent or
	// TransactionEvent, the childEPCs of an AggregationEvent or
	// AssociationEvent, the inputEPCList of a TransformationEvent.
	Epcs []Epc
	// Outputs is the outputEPCList of a TransformationEvent.
	Outputs     []Epc
	Parent      string     // AggregationEvent, AssociationEvent, TransactionEvent: SSCC of the parent container
	Batches     []BatchRef // class-level objects: batches to recall or withdraw
	Destination string     // shipping: GLN of the consignee (first owning or possessing party)
	ILMD        ILMD       // commissioning: lot and expiry
	// NotApplied, when set, says why the rules do not apply to this event
	// captured as EPCIS (it names what they do not track, e.g. a GIAI or
	// the sensor_reporting step): Apply records it and changes nothing.
	NotApplied string
}

// Time is the time the rules use: EventTime, or RecordTime when EventTime
// is zero.
func (ev *Event) Time() int64 {
	if ev.EventTime != 0 {
		return ev.EventTime
	}
	return ev.RecordTime
}

// Reported is when the repository received the event: RecordTime, or the
// event time when there is no record time. The undo window is measured on
// it (see UndoWindow).
func (ev *Event) Reported() int64 {
	if ev.RecordTime != 0 {
		return ev.RecordTime
	}
	return ev.Time()
}

// Location is where the objects are after the event: BizLocation, else
// ReadPoint, else the actor's own GLN. It is the location the rules record
// (custody, decommission) and compare (undo).
func (ev *Event) Location() string {
	switch {
	case ev.BizLocation != "":
		return ev.BizLocation
	case ev.ReadPoint != "":
		return ev.ReadPoint
	}
	return ev.Actor
}

// KV is one item of an alert's evidence. Keys are snake_case.
type KV struct {
	Key   string // snake_case, e.g. custodian_gln
	Value string // a GLN, status name, ISO 8601 time, …
}

// Alert is what one check found about one object.
type Alert struct {
	Code Code // what was found
	// Epc is the object concerned; zero for event-level alerts
	// (UNAUTHORIZED_STEP of a whole event, batch-level alerts).
	Epc Epc
	// Message explains the finding in plain English, with GLNs and dates.
	Message string
	// Evidence holds the facts behind the finding, in a fixed order.
	Evidence []KV
}

// Result is the outcome of Apply or Verify.
//
// Writes (PutPacks, PutContainers, PutBatches) are the complete new records
// of every object the event changed, in a deterministic order, each object
// at most once. The caller stores them as they are, whether or not Applied
// is true: an event whose objects pass only in part changes those that
// passed (see Apply).
type Result struct {
	// Applied is true when every object of the event passed; false when
	// the event, or at least one of its objects, was refused. A
	// verification is applied unless the event itself was refused.
	Applied bool
	// Reason says why the event was refused (the first refusal; prefixed
	// with a count when the event had several objects). For a verification
	// it says why the pack may not be dispensed. For an event recorded
	// without the rules (Event.NotApplied) it says so, and Applied is true.
	Reason string
	// Code classifies the refusal Reason gives (the first refusal's);
	// OutcomeUnspecified when the event was applied, verifications
	// included.
	Code OutcomeCode
	// Alerts are the findings, in the order the checks ran.
	Alerts []Alert
	// Status is the effective status after the event, for events about
	// one pack; StatusUnspecified otherwise or when the pack is unknown.
	Status Status
	// Dispensable is the verification answer: true when every pack named
	// may be supplied to the public now. Set only for verifications
	// (Verify, or Apply of an inspecting event).
	Dispensable bool
	// Affected counts the packs the event changed, those inside containers
	// it moved included (inference); for a recall or withdrawal, the
	// batches it changed.
	Affected int
	// Refused counts the objects refused (packs, containers, batches).
	Refused int

	PutPacks      []Pack      // packs to store, in event order
	PutContainers []Container // containers to store, children before parents
	PutBatches    []Batch     // batches to store (recall, withdrawal)
}

// View is the state the rules read. The ingest pipeline implements it over
// the store, with the writes of earlier events of the same batch overlaid,
// so that events applied in sequence see each other's effects. Every
// method reports false when the record does not exist. Implementations
// must be safe to call with any string.
type View interface {
	// Pack reads the pack with that GTIN and serial.
	Pack(gtin, serial string) (Pack, bool)
	// Container reads the container with that SSCC.
	Container(sscc string) (Container, bool)
	// Batch reads a product's lot.
	Batch(gtin, lot string) (Batch, bool)
	// Product reads a registered product.
	Product(gtin string) (Product, bool)
	// Party reads a registered party.
	Party(gln string) (Party, bool)
}
