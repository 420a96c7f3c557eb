package pedigreev1

import "strings"

// ParsePackStatus reads a pack status as people and files write it:
// "active", "ACTIVE", "PACK_STATUS_ACTIVE", with '-' for '_' if they like.
// It reports false for an unknown name and for the unspecified status.
func ParsePackStatus(name string) (PackStatus, bool) {
	up := strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	for _, k := range []string{up, "PACK_STATUS_" + up} {
		if v, ok := PackStatus_value[k]; ok && v != 0 {
			return PackStatus(v), true
		}
	}
	return 0, false
}

// AppendLine appends the pack's line of a batch's serials file: the serial,
// with ",STATUS" (ACTIVE, DISPENSED, …) when withStatus, and a newline.
// The CLI's export and the node's streamed file write the same lines.
func (x *BatchPack) AppendLine(b []byte, withStatus bool) []byte {
	b = append(b, x.GetSerial()...)
	if withStatus {
		b = append(append(b, ','), strings.TrimPrefix(x.GetStatus().String(), "PACK_STATUS_")...)
	}
	return append(b, '\n')
}
