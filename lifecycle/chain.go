package lifecycle

// EffectiveChain is EffectiveCustody with the walk it made: the custody
// that applies to an object with custody own and parent container parent,
// and the SSCCs of the containers it is in, nearest first (the last is
// the root whose custody applies). The walk stops as EffectiveCustody's
// does: after 8 containers, at a container that does not exist, and at a
// cycle. A loose object (no parent) has its own custody and no chain.
func EffectiveChain(v View, own Custody, parent string) (Custody, []string) {
	if parent == "" {
		return own, nil
	}
	r := run{v: v}
	var buf [maxDepth]Container
	up := r.chain(parent, &buf)
	if len(up) == 0 {
		return own, nil
	}
	ssccs := make([]string, len(up))
	for i, c := range up {
		ssccs[i] = c.SSCC
	}
	return up[len(up)-1].Custody, ssccs
}
