package pedigreev1

// EvidenceValue returns the value of the first evidence pair of x whose
// key is key, and whether there is one.
func (x *Alert) EvidenceValue(key string) (string, bool) {
	for _, kv := range x.GetEvidence() {
		if kv.GetKey() == key {
			return kv.GetValue(), true
		}
	}
	return "", false
}
