package lifecycle

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

// memView is an in-memory View that stores Results' writes, as the ingest
// pipeline does over Pebble.
type memView struct {
	packs      map[PackCode]Pack // keyed by GTIN and serial only
	containers map[string]Container
	batches    map[BatchRef]Batch
	products   map[string]Product
	parties    map[string]Party
}

var _ View = (*memView)(nil)

func newMemView() *memView {
	return &memView{
		packs:      map[PackCode]Pack{},
		containers: map[string]Container{},
		batches:    map[BatchRef]Batch{},
		products:   map[string]Product{},
		parties:    map[string]Party{},
	}
}

func (m *memView) Pack(gtin, serial string) (Pack, bool) {
	p, ok := m.packs[PackCode{GTIN: gtin, Serial: serial}]
	return p, ok
}

func (m *memView) Container(sscc string) (Container, bool) {
	c, ok := m.containers[sscc]
	return c, ok
}

func (m *memView) Batch(gtin, lot string) (Batch, bool) {
	b, ok := m.batches[BatchRef{GTIN: gtin, Lot: lot}]
	return b, ok
}

func (m *memView) Product(gtin string) (Product, bool) {
	p, ok := m.products[gtin]
	return p, ok
}

func (m *memView) Party(gln string) (Party, bool) {
	p, ok := m.parties[gln]
	return p, ok
}

// store applies a Result's writes.
func (m *memView) store(res *Result) {
	for _, p := range res.PutPacks {
		m.packs[PackCode{GTIN: p.GTIN, Serial: p.Serial}] = p
	}
	for _, c := range res.PutContainers {
		m.containers[c.SSCC] = c
	}
	for _, b := range res.PutBatches {
		m.batches[BatchRef{GTIN: b.GTIN, Lot: b.Lot}] = b
	}
}

// harness runs the commands of one data-driven file against one memView.
//
//	party gln=G role=pharmacy [as=NAME]       register a party (NAME then stands for G)
//	product gtin=T mfr=G [format=numeric|alphanumeric length=N]
//	                                          register a product
//	batch gtin=T lot=L expiry=YYMMDD [recalled] [withdrawn] [commissioned=N]
//	event step=S actor=G time=T [type=aggregation action=add|delete parent=SSCC]
//	      [disp=D] [role=R] [read=G] [biz=G] [dest=G] [lot=L expiry=E (ILMD)]
//	      [parent-case=GTIN/SERIAL] (a case SGTIN as the parent)
//	      [record=T] [pack=GTIN/SERIAL[/LOT[/EXPIRY]]]... [sscc=S]... [batch=GTIN/LOT]...
//	      [case=GTIN/SERIAL]... (a case SGTIN: a container)
//	      [out=GTIN/SERIAL]... (transformation outputs)
//	      type is object, aggregation, transaction, transformation or association
//	verify actor=G time=T pack=...            Verify
//	pack gtin=T serial=S                      print a pack, with its effective custody
//	container sscc=S | case=GTIN/SERIAL       print a container
//	expiry yymmdd=D at=T                      ExpiryEnd
type harness struct {
	v     *memView
	alias map[string]string
}

func newHarness() *harness { return &harness{v: newMemView(), alias: map[string]string{}} }

// arg is one key=value argument of a command; a bare word has value "".
type arg struct{ key, val string }

// args returns the arguments of a command, names given with as= replaced
// by what they stand for.
func (h *harness) args(d *datadriven.TestData) []arg {
	var as []arg
	for _, a := range d.CmdArgs {
		v := strings.Join(a.Vals, ",")
		if al, ok := h.alias[v]; ok {
			v = al
		}
		as = append(as, arg{a.Key, v})
	}
	return as
}

// run runs one command of a data-driven file and returns its output.
func (h *harness) run(t *testing.T, c *datadriven.TestData) string {
	cmd, as := c.Cmd, h.args(c)
	get := func(k string) string {
		for _, a := range as {
			if a.key == k {
				return a.val
			}
		}
		return ""
	}
	has := func(k string) bool {
		for _, a := range as {
			if a.key == k {
				return true
			}
		}
		return false
	}
	switch cmd {
	case "party":
		p := Party{GLN: get("gln"), Role: parseEnum(t, c, "role", get("role"), Role.String, RoleAdmin)}
		h.v.parties[p.GLN] = p
		if n := get("as"); n != "" {
			h.alias[n] = p.GLN
		}
		return "ok"
	case "product":
		p := Product{GTIN: get("gtin"), Manufacturer: get("mfr")}
		switch get("format") {
		case "numeric":
			p.SerialFormat = SerialNumeric
		case "alphanumeric":
			p.SerialFormat = SerialAlphanumeric
		}
		if l := get("length"); l != "" {
			n, err := strconv.ParseUint(l, 10, 32)
			if err != nil {
				t.Fatalf("%s: length=%s: %v", c.Pos, l, err)
			}
			p.SerialLength = uint32(n)
		}
		if err := CheckSerialFormat(p.SerialFormat, p.SerialLength); err != nil {
			t.Fatalf("%s: %v", c.Pos, err)
		}
		h.v.products[p.GTIN] = p
		return "ok"
	case "batch":
		b := Batch{GTIN: get("gtin"), Lot: get("lot"), Expiry: get("expiry"), Recalled: has("recalled"), Withdrawn: has("withdrawn")}
		if n := get("commissioned"); n != "" {
			var err error
			if b.Commissioned, err = strconv.ParseUint(n, 10, 64); err != nil {
				t.Fatalf("%s: commissioned=%s: %v", c.Pos, n, err)
			}
		}
		h.v.batches[BatchRef{GTIN: b.GTIN, Lot: b.Lot}] = b
		return "ok"
	case "event", "verify":
		ev := h.event(t, c, as)
		if cmd == "verify" {
			res := Verify(h.v, ev)
			return describeResult(&res, true)
		}
		res := Apply(h.v, ev)
		h.v.store(&res)
		if ev.Step == StepCommissioning && res.Applied {
			// What the node's ingest records beside the packs.
			for _, p := range res.PutPacks {
				ref := BatchRef{GTIN: p.GTIN, Lot: p.Lot}
				b := h.v.batches[ref]
				b.Commissioned++
				h.v.batches[ref] = b
			}
		}
		return describeResult(&res, false)
	case "pack":
		p, ok := h.v.Pack(get("gtin"), get("serial"))
		if !ok {
			return "not found"
		}
		out := describePack(p)
		if p.Parent != "" {
			cu, root := EffectiveCustody(h.v, p.Custody, p.Parent)
			out += "\n  effective (" + root + ") " + describeCustody(cu)
		}
		return out
	case "container":
		id := get("sscc")
		if g, sn, ok := strings.Cut(get("case"), "/"); ok {
			id = CaseID(g, sn)
		}
		cn, ok := h.v.Container(id)
		if !ok {
			return "not found"
		}
		return describeContainer(cn)
	case "expiry":
		end, err := ExpiryEnd(get("yymmdd"), parseTime(t, c, get("at")))
		if err != nil {
			return "error: " + err.Error()
		}
		return "ends " + stamp(end) + " (last day " + day(end-1) + ")"
	}
	t.Fatalf("%s: unknown command %q", c.Pos, cmd)
	return ""
}

// event builds an Event from a command's arguments.
func (h *harness) event(t *testing.T, c *datadriven.TestData, as []arg) *Event {
	ev := &Event{Type: TypeObject}
	for _, a := range as {
		switch a.key {
		case "id":
			ev.ID = a.val
		case "type":
			ev.Type = parseEnum(t, c, a.key, a.val, EventType.String, TypeAssociation)
		case "action":
			ev.Action = parseEnum(t, c, a.key, a.val, Action.String, ActionDelete)
		case "step":
			ev.Step = parseEnum(t, c, a.key, a.val, Step.String, StepUndoDecommission)
		case "disp":
			ev.Disposition = parseEnum(t, c, a.key, a.val, Disposition.String, DispLocked)
		case "role":
			ev.ActorRole = parseEnum(t, c, a.key, a.val, Role.String, RoleAdmin)
		case "actor":
			ev.Actor = a.val
		case "time":
			ev.EventTime = parseTime(t, c, a.val)
		case "record":
			ev.RecordTime = parseTime(t, c, a.val)
		case "read":
			ev.ReadPoint = a.val
		case "biz":
			ev.BizLocation = a.val
		case "dest":
			ev.Destination = a.val
		case "parent":
			ev.Parent = a.val
		case "lot":
			ev.ILMD.Lot = a.val
		case "expiry":
			ev.ILMD.Expiry = a.val
		case "pack":
			f := strings.Split(a.val, "/")
			f = append(f, "", "", "")
			ev.Epcs = append(ev.Epcs, Epc{Pack: PackCode{GTIN: f[0], Serial: f[1], Lot: f[2], Expiry: f[3]}})
		case "sscc":
			ev.Epcs = append(ev.Epcs, Epc{SSCC: a.val})
		case "case":
			g, sn, _ := strings.Cut(a.val, "/")
			ev.Epcs = append(ev.Epcs, Epc{SSCC: CaseID(g, sn)})
		case "parent-case":
			g, sn, _ := strings.Cut(a.val, "/")
			ev.Parent = CaseID(g, sn)
		case "out":
			g, sn, _ := strings.Cut(a.val, "/")
			ev.Outputs = append(ev.Outputs, Epc{Pack: PackCode{GTIN: g, Serial: sn}})
		case "batch":
			g, l, _ := strings.Cut(a.val, "/")
			ev.Batches = append(ev.Batches, BatchRef{GTIN: g, Lot: l})
		default:
			t.Fatalf("%s: unknown event argument %q", c.Pos, a.key)
		}
	}
	return ev
}

// parseEnum finds the value of an enum whose lower-cased String is s.
func parseEnum[E ~int32](t *testing.T, c *datadriven.TestData, key, s string, str func(E) string, last E) E {
	for e := E(0); e <= last; e++ {
		if strings.ToLower(str(e)) == s {
			return e
		}
	}
	t.Fatalf("%s: bad %s %q", c.Pos, key, s)
	return 0
}

func parseTime(t *testing.T, c *datadriven.TestData, s string) int64 {
	if tm, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return tm.UnixMilli()
	}
	tm, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatalf("%s: bad time %q", c.Pos, s)
	}
	return tm.UnixMilli()
}

func describeResult(res *Result, verify bool) string {
	var b strings.Builder
	switch {
	case verify && res.Applied:
		fmt.Fprintf(&b, "verified status=%s dispensable=%v", res.Status, res.Dispensable)
	case res.Applied:
		fmt.Fprintf(&b, "applied affected=%d status=%s", res.Affected, res.Status)
	default:
		fmt.Fprintf(&b, "refused refused=%d affected=%d status=%s", res.Refused, res.Affected, res.Status)
	}
	if res.Reason != "" {
		b.WriteString("\nreason: " + res.Reason)
	}
	for _, a := range res.Alerts {
		fmt.Fprintf(&b, "\nalert %s", a.Code)
		if a.Epc != (Epc{}) {
			b.WriteString(" " + a.Epc.String())
		}
		b.WriteString("\n  " + a.Message + "\n ")
		for _, kv := range a.Evidence {
			b.WriteString(" " + kv.Key + "=" + kv.Value)
		}
	}
	for _, p := range res.PutPacks {
		b.WriteString("\nput " + describePack(p))
	}
	for _, c := range res.PutContainers {
		b.WriteString("\nput " + describeContainer(c))
	}
	for _, bt := range res.PutBatches {
		fmt.Fprintf(&b, "\nput batch %s/%s expiry=%s recalled=%v withdrawn=%v", bt.GTIN, bt.Lot, bt.Expiry, bt.Recalled, bt.Withdrawn)
	}
	return b.String()
}

func describeCustody(c Custody) string {
	s := "custodian=" + c.Custodian + " location=" + c.Location + fmt.Sprintf(" tracked=%v", c.Tracked)
	if c.Transit.InTransit() {
		s += " transit=" + c.Transit.From + ">" + c.Transit.To
	}
	return s
}

func describePack(p Pack) string {
	s := fmt.Sprintf("pack %s/%s lot=%s expiry=%s %s %s", p.GTIN, p.Serial, p.Lot, p.Expiry, p.Status, describeCustody(p.Custody))
	if p.Parent != "" {
		s += " parent=" + p.Parent
	}
	if d := p.Decommission; d != (Decommission{}) {
		s += fmt.Sprintf(" decommission=%s/%s/%s/%s", d.Status, d.Party, d.Location, stamp(d.Time))
	}
	return s
}

func describeContainer(c Container) string {
	s := fmt.Sprintf("container %s children=%d packs=%d %s created_by=%s", c.SSCC, c.Children, c.Packs, describeCustody(c.Custody), c.CreatedBy)
	if c.Parent != "" {
		s += " parent=" + c.Parent
	}
	return s
}
