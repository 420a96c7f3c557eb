package state

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/pedigree-project/pedigree/ledger/entry"
	"github.com/pedigree-project/pedigree/lifecycle"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// Reader is what state reads go through: the database itself, or a
// snapshot or batch of it.
type Reader interface {
	Get(key []byte) ([]byte, io.Closer, error)
}

// get copies the value of key, reporting ok=false when it is absent.
func get(r Reader, key []byte) (v []byte, ok bool, err error) {
	val, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("state: read: %w", err)
	}
	v = append([]byte(nil), val...)
	return v, true, closer.Close()
}

func getProto(r Reader, key []byte, m proto.Message, what string) error {
	v, ok, err := get(r, key)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if err := proto.Unmarshal(v, m); err != nil {
		return fmt.Errorf("state: decode %s: %w", what, err)
	}
	return nil
}

var deterministic = proto.MarshalOptions{Deterministic: true}

func setProto(b *pebble.Batch, key []byte, m proto.Message) error {
	v, err := deterministic.Marshal(m)
	if err != nil {
		return fmt.Errorf("state: encode: %w", err)
	}
	return b.Set(key, v, nil)
}

// Product returns a product, or an error wrapping ErrNotFound.
func (s *Store) Product(gtin string) (*pb.Product, error) {
	return readThrough(s, productsOf, gtin, (*Store).readProduct)
}

func (s *Store) readProduct(gtin string) (*pb.Product, error) {
	p := &pb.Product{}
	return p, getProto(s.db, productKey(gtin), p, "product "+gtin)
}

// PutProduct writes a product into b.
func PutProduct(b *pebble.Batch, p *pb.Product) error { return setProto(b, productKey(p.GetGtin()), p) }

// Batch returns a batch, or an error wrapping ErrNotFound.
func (s *Store) Batch(gtin, lot string) (*pb.Batch, error) {
	return readThrough(s, batchesOf, batchRef{gtin, lot}, (*Store).readBatch)
}

func (s *Store) readBatch(ref batchRef) (*pb.Batch, error) {
	m := &pb.Batch{}
	return m, getProto(s.db, batchKey(ref.gtin, ref.lot), m, "batch "+ref.gtin+"/"+ref.lot)
}

// PutBatch writes a batch into b.
func PutBatch(b *pebble.Batch, m *pb.Batch) error {
	return setProto(b, batchKey(m.GetGtin(), m.GetLot()), m)
}

// Pack returns a pack's record.
func (s *Store) Pack(gtin, serial string) (lifecycle.Pack, bool, error) {
	val, closer, err := s.db.Get(packKey(gtin, serial))
	if errors.Is(err, pebble.ErrNotFound) {
		return lifecycle.Pack{}, false, nil
	}
	if err != nil {
		return lifecycle.Pack{}, false, fmt.Errorf("state: read: %w", err)
	}
	p, err := decodePack(gtin, serial, val) // copies val
	if cerr := closer.Close(); err == nil {
		err = cerr
	}
	return p, err == nil, err
}

// PutPack writes a pack's record into b; buf is scratch space to reuse.
func PutPack(b *pebble.Batch, p *lifecycle.Pack, buf []byte) ([]byte, error) {
	buf = appendStr(append(append(buf[:0], prefixPack), p.GTIN...), p.Serial)
	k := len(buf)
	buf = encodePack(buf, p)
	return buf, b.Set(buf[:k], buf[k:], nil)
}

// Container returns a container's record.
func (s *Store) Container(sscc string) (lifecycle.Container, bool, error) {
	v, ok, err := get(s.db, containerKey(sscc))
	if err != nil || !ok {
		return lifecycle.Container{}, false, err
	}
	c, err := decodeContainer(sscc, v)
	return c, err == nil, err
}

// PutContainer writes a container's record into b.
func PutContainer(b *pebble.Batch, c *lifecycle.Container) error {
	return b.Set(containerKey(c.SSCC), encodeContainer(nil, c), nil)
}

// PartyKey returns the party and public key registered under a key ID.
func (s *Store) PartyKey(keyID [8]byte) (gln string, pub ed25519.PublicKey, err error) {
	k, err := readThrough(s, partyKeysOf, keyID, (*Store).readPartyKey)
	return k.owner, k.pub, err
}

func (s *Store) readPartyKey(keyID [8]byte) (namedKey, error) {
	v, ok, err := get(s.db, partyKeyKey(keyID))
	if err != nil {
		return namedKey{}, err
	}
	if !ok || len(v) != 13+ed25519.PublicKeySize {
		return namedKey{}, fmt.Errorf("party key: %w", ErrNotFound)
	}
	return namedKey{owner: string(v[:13]), pub: ed25519.PublicKey(v[13:])}, nil
}

// PutPartyKey registers a party's signing key into b.
func PutPartyKey(b *pebble.Batch, keyID [8]byte, gln string, pub ed25519.PublicKey) error {
	return b.Set(partyKeyKey(keyID), append([]byte(gln), pub...), nil)
}

// NodeKey returns a trusted node key by key ID.
func (s *Store) NodeKey(keyID [8]byte) (name string, pub ed25519.PublicKey, err error) {
	k, err := readThrough(s, nodeKeysOf, keyID, (*Store).readNodeKey)
	return k.owner, k.pub, err
}

func (s *Store) readNodeKey(keyID [8]byte) (namedKey, error) {
	v, ok, err := get(s.db, nodeKeyKey(keyID))
	if err != nil {
		return namedKey{}, err
	}
	if !ok || len(v) < ed25519.PublicKeySize {
		return namedKey{}, fmt.Errorf("node key: %w", ErrNotFound)
	}
	return namedKey{owner: string(v[ed25519.PublicKeySize:]), pub: ed25519.PublicKey(v[:ed25519.PublicKeySize])}, nil
}

// PutNodeKey trusts a node key into b.
func PutNodeKey(b *pebble.Batch, keyID [8]byte, name string, pub ed25519.PublicKey) error {
	return b.Set(nodeKeyKey(keyID), append(append([]byte(nil), pub...), name...), nil)
}

// DeleteToken revokes a token into b.
func DeleteToken(b *pebble.Batch, gln string, id [8]byte, hash [32]byte) error {
	if err := b.Delete(tokenKey(hash), nil); err != nil {
		return err
	}
	return b.Delete(tokenIDKey(gln, id), nil)
}

// TokenHashOf returns the hash of a party's unrevoked token by ID.
func (s *Store) TokenHashOf(gln string, id [8]byte) ([32]byte, error) {
	return readThrough(s, tokenIDsOf, tokenRef{gln, id}, (*Store).readTokenHash)
}

func (s *Store) readTokenHash(ref tokenRef) ([32]byte, error) {
	gln, id := ref.gln, ref.id
	var h [32]byte
	v, ok, err := get(s.db, tokenIDKey(gln, id))
	if err != nil {
		return h, err
	}
	if !ok || len(v) != 32 {
		return h, fmt.Errorf("token: %w", ErrNotFound)
	}
	copy(h[:], v)
	return h, nil
}

// PutAlert writes an alert into b under its ledger index and position,
// and its entries in the alert index.
func PutAlert(b *pebble.Batch, index uint64, n uint32, a *pb.Alert) error {
	if err := setProto(b, alertKey(index, n), a); err != nil {
		return err
	}
	return putAlertIndex(b, index, n, a)
}

// Alert returns one alert. An alert stored before ledger format 2 comes
// back with its evidence in the current form (entry.UpgradeAlert).
func (s *Store) Alert(index uint64, n uint32) (*pb.Alert, error) {
	a := &pb.Alert{}
	if err := getProto(s.db, alertKey(index, n), a, fmt.Sprintf("alert %d-%d", index, n)); err != nil {
		return a, err
	}
	if err := entry.UpgradeAlert(a); err != nil {
		return nil, fmt.Errorf("state: alert %d-%d: %w", index, n, err)
	}
	return a, nil
}

// PutPackLog records that ledger entry index touched a pack.
func PutPackLog(b *pebble.Batch, gtin, serial string, index uint64) error {
	if len(serial) > 255 {
		serial = serial[:255] // as appendStr does
	}
	op := b.SetDeferred(1+len(gtin)+1+len(serial)+8, 0)
	// Appending within op.Key's length writes the key in place.
	k := binary.BigEndian.AppendUint64(appendStr(append(append(op.Key[:0], prefixPackLog), gtin...), serial), index)
	if len(k) != len(op.Key) {
		return fmt.Errorf("state: internal error: pack log key of %d bytes, want %d", len(k), len(op.Key))
	}
	return op.Finish()
}

// PutContainerLog records that ledger entry index touched a container.
func PutContainerLog(b *pebble.Batch, sscc string, index uint64) error {
	return b.Set(binary.BigEndian.AppendUint64(contLogPrefix(sscc), index), nil, nil)
}

// PutMember records that at ledger entry index the object entered
// container sscc (or left its container, when sscc is empty).
func PutMember(b *pebble.Batch, object []byte, index uint64, sscc string) error {
	return b.Set(binary.BigEndian.AppendUint64(memberPrefix(object), index), []byte(sscc), nil)
}

// AppliedSeq returns the last stream sequence the ledger applied (0 when
// none).
func (s *Store) AppliedSeq() (uint64, error) {
	v, ok, err := get(s.db, metaKey(metaAppliedSeq))
	if err != nil || !ok {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: applied sequence", errRecord)
	}
	return binary.BigEndian.Uint64(v), nil
}

// PutAppliedSeq records the last applied stream sequence into b.
func PutAppliedSeq(b *pebble.Batch, seq uint64) error {
	return b.Set(metaKey(metaAppliedSeq), binary.BigEndian.AppendUint64(nil, seq), nil)
}
