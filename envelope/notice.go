package envelope

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/protobuf/proto"

	"github.com/pedigree-project/pedigree/ledger/entry"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// NoticeKind names what a node signs. Each kind has its own context string
// in front of the signed bytes, so that a signature over one kind never
// verifies as another, nor as an envelope.
type NoticeKind string

// The statements a node signs.
const (
	// KindReceipt is a BatchReceipt: a batch of entries is durable.
	KindReceipt NoticeKind = "pedigree batch receipt v1\n"
	// KindAlert is an AlertStatement: a committed entry raised an alert.
	KindAlert NoticeKind = "pedigree alert v1\n"
	// KindRefusal is a RefusalStatement: a message was refused and kept in
	// the dead-letter stream.
	KindRefusal NoticeKind = "pedigree refusal v1\n"
)

// ErrUntrusted reports a notice that is not signed by a trusted node key,
// or whose proof does not bind it to what it claims to answer.
var ErrUntrusted = errors.New("envelope: notice not proven by a trusted node key")

// NodeKeys are the node keys whose notices are believed, by key ID.
type NodeKeys map[string]ed25519.PublicKey

// NewNodeKeys returns the set of keys pubs.
func NewNodeKeys(pubs ...ed25519.PublicKey) (NodeKeys, error) {
	k := make(NodeKeys, len(pubs))
	for _, pub := range pubs {
		if len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("envelope: node key: want %d bytes, got %d", ed25519.PublicKeySize, len(pub))
		}
		k[KeyID(pub)] = pub
	}
	return k, nil
}

// SignNotice signs body as a statement of kind with a node key.
func SignNotice(kind NoticeKind, body []byte, priv ed25519.PrivateKey) *pb.SignedNotice {
	return &pb.SignedNotice{
		Body:      body,
		KeyId:     KeyID(priv.Public().(ed25519.PublicKey)),
		Signature: voi.Sign(voi.PrivateKey(priv), noticeMessage(kind, body)),
	}
}

// OpenNotice returns the body of n once its signature verifies, as a
// statement of kind, with one of keys.
func OpenNotice(kind NoticeKind, n *pb.SignedNotice, keys NodeKeys) ([]byte, error) {
	pub, ok := keys[n.GetKeyId()]
	if !ok {
		return nil, fmt.Errorf("%w: key %q is not a trusted node key", ErrUntrusted, n.GetKeyId())
	}
	if !VerifySignature(pub, noticeMessage(kind, n.GetBody()), n.GetSignature()) {
		return nil, fmt.Errorf("%w: signature does not verify with node key %s", ErrUntrusted, n.GetKeyId())
	}
	return n.GetBody(), nil
}

func noticeMessage(kind NoticeKind, body []byte) []byte {
	msg := make([]byte, 0, len(kind)+len(body))
	return append(append(msg, kind...), body...)
}

// BatchTree is the RFC 6962 Merkle tree over the leaf hashes of one batch
// of entries, built in memory once, with every leaf's inclusion proof, so
// that its root is signed once and each entry proven from it.
type BatchTree struct {
	root   tlog.Hash
	proofs [][]tlog.Hash
}

// NewBatchTree builds the tree over leaves, in order (at least one).
func NewBatchTree(leaves []tlog.Hash) (*BatchTree, error) {
	if len(leaves) == 0 {
		return nil, errors.New("envelope: batch tree: no leaves")
	}
	t := &BatchTree{proofs: make([][]tlog.Hash, len(leaves))}
	depth := bits.Len(uint(len(leaves) - 1))
	for i := range t.proofs {
		t.proofs[i] = make([]tlog.Hash, 0, depth)
	}
	t.root = t.build(leaves, 0)
	return t, nil
}

// build returns the RFC 6962 hash of leaves (which start at index lo of
// the batch) and appends to each leaf's proof its siblings in this
// subtree, from the bottom up: RFC 6962's PATH, for every leaf at once.
func (t *BatchTree) build(leaves []tlog.Hash, lo int) tlog.Hash {
	n := len(leaves)
	if n == 1 {
		return leaves[0]
	}
	k := 1 << (bits.Len(uint(n-1)) - 1) // the largest power of two below n
	left, right := t.build(leaves[:k], lo), t.build(leaves[k:], lo+k)
	for i := lo; i < lo+k; i++ {
		t.proofs[i] = append(t.proofs[i], right)
	}
	for i := lo + k; i < lo+n; i++ {
		t.proofs[i] = append(t.proofs[i], left)
	}
	return tlog.NodeHash(left, right)
}

// Root returns the tree's root hash.
func (t *BatchTree) Root() tlog.Hash { return t.root }

// Proof returns the inclusion proof of leaf i, from the leaf up.
func (t *BatchTree) Proof(i int) [][]byte {
	p := t.proofs[i]
	out := make([][]byte, len(p))
	for k := range p {
		out[k] = p[k][:]
	}
	return out
}

// ResultNotices signs the outcomes of one committed batch: the entries at
// ledger indexes first, first+1, … whose encodings without their envelope
// are bare and whose leaf hashes are leaves. It signs one BatchReceipt
// with key and returns, for each entry, the ResultNotice that carries it
// and the entry's inclusion proof: one signature per batch, a proof per
// entry.
func ResultNotices(origin string, first uint64, bare [][]byte, leaves []tlog.Hash, key ed25519.PrivateKey) ([][]byte, error) {
	if len(bare) != len(leaves) {
		return nil, fmt.Errorf("envelope: result notices: %d entries, %d leaf hashes", len(bare), len(leaves))
	}
	tree, err := NewBatchTree(leaves)
	if err != nil {
		return nil, err
	}
	root := tree.Root()
	body, err := deterministic.Marshal(&pb.BatchReceipt{Origin: origin, FirstIndex: first, Count: uint64(len(leaves)), RootHash: root[:]})
	if err != nil {
		return nil, fmt.Errorf("envelope: batch receipt: %w", err)
	}
	receipt := SignNotice(KindReceipt, body, key)
	out := make([][]byte, len(bare))
	for i := range bare {
		if out[i], err = deterministic.Marshal(&pb.ResultNotice{Entry: bare[i], Receipt: receipt, Proof: tree.Proof(i)}); err != nil {
			return nil, fmt.Errorf("envelope: result notice: %w", err)
		}
	}
	return out, nil
}

// deterministic is the encoding of what a node signs and publishes.
var deterministic = proto.MarshalOptions{Deterministic: true}

// SpliceEntry returns the ledger encoding of an entry from its encoding
// without its envelope field (what a ResultNotice carries) and the signed
// envelope bytes: the envelope (field 2) goes after the index (field 1),
// where the ledger's encoding puts it (docs/ledger-format.md), and before
// every other field.
func SpliceEntry(withoutEnvelope, signedEnvelope []byte) ([]byte, error) {
	return AppendSpliced(make([]byte, 0, len(withoutEnvelope)+len(signedEnvelope)+8), withoutEnvelope, signedEnvelope)
}

// AppendSpliced is SpliceEntry appending to dst (entry.AppendSpliced).
func AppendSpliced(dst, withoutEnvelope, signedEnvelope []byte) ([]byte, error) {
	out, err := entry.AppendSpliced(dst, withoutEnvelope, signedEnvelope)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	return out, nil
}

// Result is a verified ResultNotice: a ledger entry, or a refusal.
type Result struct {
	// Entry is the ledger entry that recorded the write, with its envelope;
	// nil when the node refused the message.
	Entry *pb.LedgerEntry
	// Refusal says why the node refused the message; nil when an entry
	// recorded it.
	Refusal *pb.RefusalStatement
	// Receipt is the node-signed receipt of the batch it was committed in.
	Receipt *pb.BatchReceipt
	// KeyID is the node key that signed the receipt.
	KeyID string
}

// OpenResult checks a ResultNotice (the bytes published on a result
// subject) against the signed envelope the sender published (wire) and
// returns the ledger entry it proves. It fails with ErrUntrusted unless a
// key of keys signed the batch receipt and the entry, rebuilt with wire as
// its envelope, is in the receipt's tree at its index: a forged or
// misrouted notice, or one for other bytes, is never believed.
func OpenResult(data, wire []byte, keys NodeKeys) (*Result, error) {
	n := &pb.ResultNotice{}
	if err := proto.Unmarshal(data, n); err != nil {
		return nil, fmt.Errorf("%w: not a ResultNotice: %v", ErrUntrusted, err)
	}
	if n.GetRefusal() != nil {
		return openRefusal(n.GetRefusal(), wire, keys)
	}
	body, err := OpenNotice(KindReceipt, n.GetReceipt(), keys)
	if err != nil {
		return nil, err
	}
	rc := &pb.BatchReceipt{}
	if err := proto.Unmarshal(body, rc); err != nil || len(rc.GetRootHash()) != tlog.HashSize || rc.GetCount() == 0 {
		return nil, fmt.Errorf("%w: malformed batch receipt", ErrUntrusted)
	}
	full, err := SpliceEntry(n.GetEntry(), wire)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUntrusted, err)
	}
	le, err := entry.Decode(full)
	if err != nil {
		return nil, fmt.Errorf("%w: entry: %v", ErrUntrusted, err)
	}
	pos := le.GetIndex() - rc.GetFirstIndex()
	if le.GetIndex() < rc.GetFirstIndex() || pos >= rc.GetCount() || !bytes.Equal(le.GetEnvelope(), wire) {
		return nil, fmt.Errorf("%w: entry %d is not in the receipt's batch", ErrUntrusted, le.GetIndex())
	}
	proof := make(tlog.RecordProof, len(n.GetProof()))
	for i, h := range n.GetProof() {
		if len(h) != tlog.HashSize {
			return nil, fmt.Errorf("%w: proof hash %d: want %d bytes", ErrUntrusted, i, tlog.HashSize)
		}
		copy(proof[i][:], h)
	}
	if err := tlog.CheckRecord(proof, int64(rc.GetCount()), tlog.Hash(rc.GetRootHash()), int64(pos), tlog.RecordHash(full)); err != nil {
		return nil, fmt.Errorf("%w: entry %d: %v", ErrUntrusted, le.GetIndex(), err)
	}
	return &Result{Entry: le, Receipt: rc, KeyID: n.GetReceipt().GetKeyId()}, nil
}

// openRefusal checks a refusal against the bytes its receiver sent.
func openRefusal(sn *pb.SignedNotice, wire []byte, keys NodeKeys) (*Result, error) {
	body, err := OpenNotice(KindRefusal, sn, keys)
	if err != nil {
		return nil, err
	}
	st := &pb.RefusalStatement{}
	if err := proto.Unmarshal(body, st); err != nil {
		return nil, fmt.Errorf("%w: malformed refusal", ErrUntrusted)
	}
	if sum := sha256.Sum256(wire); !bytes.Equal(st.GetMessageSha256(), sum[:]) {
		return nil, fmt.Errorf("%w: the refusal is for other bytes", ErrUntrusted)
	}
	return &Result{Refusal: st, KeyID: sn.GetKeyId()}, nil
}

// OpenAlert checks an alert notice (the bytes published on an alert
// subject) and returns the statement once a key of keys signed it.
func OpenAlert(data []byte, keys NodeKeys) (*pb.AlertStatement, error) {
	n := &pb.SignedNotice{}
	if err := proto.Unmarshal(data, n); err != nil {
		return nil, fmt.Errorf("%w: not a SignedNotice: %v", ErrUntrusted, err)
	}
	body, err := OpenNotice(KindAlert, n, keys)
	if err != nil {
		return nil, err
	}
	st := &pb.AlertStatement{}
	if err := proto.Unmarshal(body, st); err != nil || len(st.GetEnvelopeSha256()) != sha256.Size || st.GetAlert() == nil {
		return nil, fmt.Errorf("%w: malformed alert statement", ErrUntrusted)
	}
	return st, nil
}
