package ingest

import (
	"encoding/hex"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// issued is the record of a token issued by the envelope at ledger index
// index, recorded at recordTime, from who.
func issued(gln string, id [8]byte, hash [32]byte, who principal, index uint64, recordTime time.Time) tokenRecord {
	t := tokenRecord{gln: gln, id: id, hash: hash, at: recordTime, index: index}
	if who.method == pb.AuthMethod_AUTH_METHOD_NODE {
		t.nodeKey = who.credential
	}
	return t
}

// info is the token record (state table 0x1E) of an issued token.
func (t tokenRecord) info() *pb.TokenInfo {
	i := &pb.TokenInfo{TokenId: hex.EncodeToString(t.id[:]), PartyGln: t.gln, CreateTime: timestamp(t.at),
		CreateLedgerIndex: t.index, NodeKeyId: t.nodeKey}
	if !t.expires.IsZero() {
		i.ExpireTime = timestamppb.New(t.expires)
	}
	return i
}
