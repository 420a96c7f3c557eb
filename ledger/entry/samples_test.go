package entry

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// sampleEnvelope is a SignedEnvelope (signer, key ID, a zero signature)
// over a two-byte envelope ending in n.
func sampleEnvelope(n byte) []byte {
	b := []byte{0x0a, 0x04, 0x0a, 0x02, 'h', n, 0x12, 0x0d}
	b = append(b, "4000005000001"...)
	b = append(b, 0x1a, 0x10)
	b = append(b, "0123456789abcdef"...)
	b = append(b, 0x22, 0x40)
	return append(b, make([]byte, 64)...)
}

func ts(s int64, n int32) *timestamppb.Timestamp { return &timestamppb.Timestamp{Seconds: s, Nanos: n} }

// samples are the entries of ledger/testdata/entries.txt: the four kinds
// of entries at ledger indexes first … first+3. Format 1 evidence is in key
// order, as a map was written; format 2 keeps the rules' order.
func samples(first uint64, f Format) []*pb.LedgerEntry {
	evidence := []*pb.EvidenceItem{{Key: "previous_status", Value: "SUPPLIED"}, {Key: "custodian_gln", Value: "4012345000009"}, {Key: "note"}}
	if f == Format1 {
		evidence = []*pb.EvidenceItem{evidence[1], evidence[2], evidence[0]}
	}
	var format uint32
	if f != Format1 {
		format = uint32(f)
	}
	i := func(k uint64) uint64 { return first + k }
	return []*pb.LedgerEntry{
		{Index: i(0), Envelope: sampleEnvelope(byte(i(0))), EventIds: []string{"env-1"}, AuthMethod: pb.AuthMethod_AUTH_METHOD_NODE, PartyGln: "4000005000001",
			CredentialId: "0123456789abcdef", StreamSequence: i(1), RecordTime: ts(1764633600, 0), Format: format,
			Outcomes: []*pb.Outcome{{Applied: true, Affected: 1}}},
		{Index: i(1), Envelope: sampleEnvelope(byte(i(1))), EventIds: []string{"urn:uuid:6f1c-1", "urn:uuid:6f1c-2"}, AuthMethod: pb.AuthMethod_AUTH_METHOD_PARTY_SIGNATURE,
			PartyGln: "4098765000002", CredentialId: "fedcba9876543210", StreamSequence: i(2), RecordTime: ts(1764633601, 250000000), Format: format,
			Outcomes: []*pb.Outcome{{Applied: true, Status: pb.PackStatus_PACK_STATUS_ACTIVE, Affected: 1},
				{Applied: true, Status: pb.PackStatus_PACK_STATUS_SUPPLIED, Affected: 1, Alerts: []*pb.Alert{
					{AlertId: "1-0", Code: pb.AlertCode_ALERT_CODE_ALREADY_INACTIVE, EventId: "urn:uuid:6f1c-2", LedgerIndex: i(1),
						Epc:      &pb.Epc{Id: &pb.Epc_Pack{Pack: &pb.PackCode{Gtin: "04012345000009", Serial: "SER1", Lot: "L1", Expiry: "271231"}}},
						PartyGln: "4098765000002", LocationGln: "4098765000019", RaisedAt: ts(1764633500, 0), Message: "dispensed at 4012345000009; now scanned again",
						Evidence: evidence, Status: pb.AlertStatus_ALERT_STATUS_OPEN},
					{AlertId: "1-1", Code: pb.AlertCode_ALERT_CODE_UNKNOWN_SERIAL, EventId: "urn:uuid:6f1c-2", LedgerIndex: i(1),
						Epc: &pb.Epc{Id: &pb.Epc_Sscc{Sscc: "340123450000000016"}}, PartyGln: "4098765000002", RaisedAt: ts(1764633500, 0), Status: pb.AlertStatus_ALERT_STATUS_OPEN},
				}}}},
		{Index: i(2), Envelope: sampleEnvelope(byte(i(2))), EventIds: []string{"urn:uuid:77"}, AuthMethod: pb.AuthMethod_AUTH_METHOD_API_TOKEN, PartyGln: "4098765000002",
			CredentialId: "tok-1", StreamSequence: i(3), RecordTime: ts(1764633602, 999999999), Format: format,
			Outcomes: []*pb.Outcome{{Reason: "pack 04012345000009/SER9 is not known", Code: pb.OutcomeCode_OUTCOME_CODE_NOT_FOUND}}},
		{Index: i(3), Envelope: sampleEnvelope(byte(i(3))), EventIds: []string{"urn:uuid:6f1c-1"}, AuthMethod: pb.AuthMethod_AUTH_METHOD_PARTY_SIGNATURE, PartyGln: "4098765000002",
			CredentialId: "fedcba9876543210", StreamSequence: i(4), RecordTime: ts(1764633603, 0), Format: format,
			Outcomes: []*pb.Outcome{{Duplicate: true, Reason: "event already recorded at ledger entry 1", Code: pb.OutcomeCode_OUTCOME_CODE_DUPLICATE}}},
	}
}
