package lifecycle

// Containers (cases, pallets) carry the custody of everything inside them:
// a pack or container whose Parent is set takes its effective custody from
// the root of its Parent chain, so shipping or receiving a pallet writes
// only the pallet. Packing writes each child's Parent pointer; unpacking
// clears it and copies the container's custody down to the child. Every
// container keeps the number of its direct children and of the packs
// inside it at any depth.

// EffectiveCustody returns the custody that applies to an object with
// custody own and parent container parent: own when parent is empty, else
// that of the root of the parent chain, together with the root's SSCC. The
// walk stops after 8 containers, at a container that does not exist (the
// last one found applies), and at a cycle.
func EffectiveCustody(v View, own Custody, parent string) (Custody, string) {
	r := run{v: v}
	return r.effectiveCustody(own, parent)
}

func (r *run) effectiveCustody(own Custody, parent string) (Custody, string) {
	if parent == "" {
		return own, ""
	}
	var buf [maxDepth]Container
	up := r.chain(parent, &buf)
	if len(up) == 0 {
		return own, ""
	}
	root := up[len(up)-1]
	return root.Custody, root.SSCC
}

// chain returns container sscc and its ancestors, nearest first, read
// through the event's own writes. It stops at a missing container, at a
// container already seen (a cycle) and after maxDepth containers.
func (r *run) chain(sscc string, buf *[maxDepth]Container) []Container {
	up := buf[:0]
	for s := sscc; s != "" && len(up) < maxDepth; {
		for i := range up {
			if up[i].SSCC == s {
				return up
			}
		}
		c, ok := r.container(s)
		if !ok {
			break
		}
		up = append(up, c)
		s = c.Parent
	}
	return up
}

// container reads a container, seeing the writes of this event first. The
// record's SSCC is the key it was read under.
func (r *run) container(sscc string) (Container, bool) {
	if i := r.written(sscc); i >= 0 {
		return r.res.PutContainers[i], true
	}
	c, ok := r.v.Container(sscc)
	c.SSCC = sscc
	return c, ok
}

// written is the index of container sscc in res.PutContainers, or -1.
func (r *run) written(sscc string) int {
	if r.contIdx != nil {
		if i, ok := r.contIdx[sscc]; ok {
			return i
		}
		return -1
	}
	for i := range r.res.PutContainers {
		if r.res.PutContainers[i].SSCC == sscc {
			return i
		}
	}
	return -1
}

// putContainer writes a container, replacing an earlier write of this
// event. Past a few containers an index keeps lookups constant-time.
func (r *run) putContainer(c Container) {
	if i := r.written(c.SSCC); i >= 0 {
		r.res.PutContainers[i] = c
		return
	}
	r.res.PutContainers = append(r.res.PutContainers, c)
	const indexFrom = 16
	switch n := len(r.res.PutContainers); {
	case n == indexFrom:
		r.contIdx = make(map[string]int, 2*n)
		for i := range r.res.PutContainers {
			r.contIdx[r.res.PutContainers[i].SSCC] = i
		}
	case n > indexFrom:
		r.contIdx[c.SSCC] = n - 1
	}
}

// detach takes a pack that leaves the supply chain out of its container:
// it keeps the custody it had there, and the container chain loses it.
func (r *run) detach(p *Pack, pc *packCtx) {
	if p.Parent == "" {
		return
	}
	p.Custody = pc.cust
	r.leave(p.Parent, 1, 1)
	p.Parent = ""
}

// leave updates container sscc and its ancestors after children direct
// children holding packs packs in all left it.
func (r *run) leave(sscc string, children, packs int) {
	var buf [maxDepth]Container
	for i, c := range r.chain(sscc, &buf) {
		if i == 0 {
			c.Children = max(c.Children-children, 0)
		}
		c.Packs = max(c.Packs-packs, 0)
		c.LastEvent = r.at
		r.putContainer(c)
	}
}

// containerObject applies an ObjectEvent to a container: ship,
// receive or take back a root container; the packs inside follow.
func (r *run) containerObject(sscc string) {
	epc := Epc{SSCC: sscc}
	switch r.step {
	case StepInspecting:
		r.notDispensable("verification applies to packs; " + ContainerName(sscc) + " is a container")
		return
	case StepShipping, StepReceiving, StepReturning:
	default:
		r.refuse(OutcomeInvalid, stepNoun(r.step, r.ev.Disposition)+" applies to packs, not to containers: "+ContainerName(sscc))
		return
	}
	c, ok := r.container(sscc)
	if !ok {
		r.refuse(OutcomeNotFound, ContainerName(sscc)+" is not a known container: nothing was ever packed into it")
		return
	}
	if c.Parent != "" {
		r.refuse(OutcomeConflict, r.insideContainer(epc, c.Parent))
		return
	}
	if r.step == StepShipping {
		if !r.holds(epc, c.Custody) {
			return
		}
		c.Custodian = r.ev.Actor
		c.Transit = Transit{From: r.ev.Actor, To: r.ev.Destination}
		c.Tracked = true
	} else {
		if !r.mayReceive(epc, c.Custody) {
			return
		}
		c.Custody = Custody{Custodian: r.ev.Actor, Location: r.where, Tracked: true}
	}
	c.LastEvent = r.at
	r.putContainer(c)
	r.res.Affected += c.Packs
}

// packing puts the children of an AggregationEvent ADD into ev.Parent,
// creating the container on first packing. A container that
// receives a tracked child becomes tracked (at its root), so packing never
// loosens custody.
func (r *run) packing() {
	ev, actor := r.ev, r.ev.Actor
	parentEpc := Epc{SSCC: ev.Parent}
	var buf [maxDepth]Container
	up := r.chain(ev.Parent, &buf)
	root := Custody{Custodian: actor, Location: r.where}
	if len(up) > 0 {
		root = up[len(up)-1].Custody
		if !r.holds(parentEpc, root) {
			return
		}
	}
	tracked, moved := root.Tracked, 0
	for i := range ev.Epcs {
		e := &ev.Epcs[i]
		if e.IsContainer() {
			c, ok := r.packable(e.SSCC, up)
			if !ok {
				continue
			}
			tracked = tracked || c.Tracked
			c.Parent, c.LastEvent = ev.Parent, r.at
			r.putContainer(c)
			moved += c.Packs
			continue
		}
		pc, ok := r.member(e.Pack)
		if !ok {
			continue
		}
		p := pc.pack
		switch {
		case !p.Status.Active():
			r.refuse(OutcomeConflict, r.alert(CodeInvalidTransition, pc.epc,
				"pack is "+p.Status.String()+" and cannot be packed",
				KV{"status", p.Status.String()}, KV{"step", r.step.String()}))
			continue
		case p.Parent != "":
			r.refuse(OutcomeConflict, r.alreadyPacked(pc.epc, p.Parent))
			continue
		case !r.holds(pc.epc, p.Custody):
			continue
		}
		tracked = tracked || p.Tracked
		p.Parent, p.LastEvent = ev.Parent, r.at
		r.res.PutPacks = append(r.res.PutPacks, p)
		moved++
	}
	if r.res.Refused > 0 {
		return
	}
	if len(up) == 0 {
		up = append(up, Container{SSCC: ev.Parent, Custody: root, CreatedBy: actor})
	}
	for i, c := range up {
		if i == 0 {
			c.Children += len(ev.Epcs)
		}
		if i == len(up)-1 {
			c.Tracked = c.Tracked || tracked
		}
		c.Packs += moved
		c.LastEvent = r.at
		r.putContainer(c)
	}
	r.res.Affected = moved
}

// packable checks a child container of a packing event: not the parent or
// one of its ancestors (up), not inside another container, held by the
// actor. An SSCC never seen before is created empty, held by the actor.
func (r *run) packable(sscc string, up []Container) (Container, bool) {
	epc, parent := Epc{SSCC: sscc}, r.ev.Parent
	if sscc == parent || contains(up, sscc) {
		msg := "a container cannot be packed into itself"
		if sscc != parent {
			msg = ContainerName(sscc) + " cannot be packed into " + ContainerName(parent) + ", which is inside it"
		}
		r.refuse(OutcomeConflict, r.alert(CodeAggregationConflict, epc, msg, KV{"parent_sscc", parent}, KV{"child_sscc", sscc}))
		return Container{}, false
	}
	c, ok := r.container(sscc)
	if !ok {
		c = Container{SSCC: sscc, Custody: Custody{Custodian: r.ev.Actor, Location: r.where}, CreatedBy: r.ev.Actor}
	}
	if c.Parent != "" {
		r.refuse(OutcomeConflict, r.alreadyPacked(epc, c.Parent))
		return Container{}, false
	}
	return c, r.holds(epc, c.Custody)
}

// contains reports whether sscc is one of the containers.
func contains(cs []Container, sscc string) bool {
	for i := range cs {
		if cs[i].SSCC == sscc {
			return true
		}
	}
	return false
}

// alreadyPacked raises AGGREGATION_CONFLICT for a child already inside a
// container.
func (r *run) alreadyPacked(epc Epc, current string) string {
	return r.alert(CodeAggregationConflict, epc,
		"already inside container "+current+"; unpack it before packing it into "+r.ev.Parent,
		KV{"current_parent_sscc", current}, KV{"parent_sscc", r.ev.Parent})
}

// unpacking takes the children of an AggregationEvent DELETE out of
// ev.Parent; each child takes the custody of the container it
// leaves.
func (r *run) unpacking() {
	ev := r.ev
	var buf [maxDepth]Container
	up := r.chain(ev.Parent, &buf)
	var root Custody
	if len(up) > 0 {
		root = up[len(up)-1].Custody
		if !r.holds(Epc{SSCC: ev.Parent}, root) {
			return
		}
	}
	removed := 0
	for i := range ev.Epcs {
		e := &ev.Epcs[i]
		if e.IsContainer() {
			c, ok := r.container(e.SSCC)
			if !ok || c.Parent != ev.Parent {
				r.refuse(OutcomeConflict, r.notInside(*e, c.Parent))
				continue
			}
			if len(up) > 0 {
				c.Custody = root
			}
			c.Parent, c.LastEvent = "", r.at
			r.putContainer(c)
			removed += c.Packs
			continue
		}
		pc, ok := r.member(e.Pack)
		if !ok {
			continue
		}
		p := pc.pack
		if p.Parent != ev.Parent {
			r.refuse(OutcomeConflict, r.notInside(pc.epc, p.Parent))
			continue
		}
		if len(up) > 0 {
			p.Custody = root
		}
		p.Parent, p.LastEvent = "", r.at
		r.res.PutPacks = append(r.res.PutPacks, p)
		removed++
	}
	if r.res.Refused > 0 {
		return
	}
	r.leave(ev.Parent, len(ev.Epcs), removed)
	r.res.Affected = removed
}

// notInside raises AGGREGATION_CONFLICT for unpacking a child that is not
// inside the parent.
func (r *run) notInside(epc Epc, current string) string {
	where := "it is loose"
	if current != "" {
		where = "it is inside " + current
	}
	return r.alert(CodeAggregationConflict, epc,
		"not inside container "+r.ev.Parent+" ("+where+")",
		KV{"parent_sscc", r.ev.Parent}, KV{"current_parent_sscc", current})
}

// member identifies a pack an aggregation event names: an unknown pack or
// one whose lot or expiry does not match is refused (false); otherwise the
// result takes its effective status.
func (r *run) member(code PackCode) (packCtx, bool) {
	pc, fatal, mismatch := r.identify(code)
	if fatal != "" || mismatch != "" {
		r.refuse(identifyCode(fatal), fatal+mismatch)
		return pc, false
	}
	r.res.Status = pc.eff
	return pc, true
}
