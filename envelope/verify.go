package envelope

import (
	"crypto/ed25519"
	"sync"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// verifyOptions is the one signature rule of Pedigree: RFC 8032 §5.1.7 with
// the cofactored group equation [8][S]B = [8]R + [8][k]A', and canonical
// encodings of A and R, as FIPS 186-5 specifies. Checking signatures one
// by one and in batches gives the same answer under this rule (the
// cofactorless shortcut of crypto/ed25519 does not batch), so a node's
// outcome never depends on how messages were grouped. Every signature made
// by RFC 8032 signing, crypto/ed25519's included, verifies under it.
var verifyOptions = &voi.Options{Verify: voi.VerifyOptionsFIPS_186_5}

// VerifySignature reports whether sig is pub's signature of msg under
// Pedigree's signature rule.
func VerifySignature(pub ed25519.PublicKey, msg, sig []byte) bool {
	return len(pub) == ed25519.PublicKeySize && len(sig) == ed25519.SignatureSize &&
		voi.VerifyWithOptions(voi.PublicKey(pub), msg, sig, verifyOptions)
}

// Verify reports whether the envelope's signature verifies with pub.
func (o *Opened) Verify(pub ed25519.PublicKey) bool {
	return VerifySignature(pub, o.Signed.GetEnvelope(), o.Signed.GetSignature())
}

// Batch checks the signatures of many envelopes at once, at a fraction of
// the cost of checking each (a random linear combination of the
// verification equations, one multiscalar multiplication; when the
// combination fails, each signature is checked on its own to find the bad
// ones). Its answers are those Opened.Verify gives, except with
// probability below 2^-128 for a batch that holds a bad signature. A Batch
// is not safe for concurrent use.
type Batch struct {
	bv *voi.BatchVerifier
	n  int
}

// NewBatch returns an empty batch with room for n signatures.
func NewBatch(n int) *Batch { return &Batch{bv: voi.NewBatchVerifierWithCapacity(n)} }

// Add queues the check of o's signature with pub. Its answer is at the
// position Add was called in (0, 1, …) in the slice Verify returns. keys,
// when not nil, keeps pub decompressed for later batches.
func (b *Batch) Add(o *Opened, pub ed25519.PublicKey, keys *Keys) {
	msg, sig := o.Signed.GetEnvelope(), o.Signed.GetSignature()
	if x := keys.expanded(pub); x != nil {
		b.bv.AddExpandedWithOptions(x, msg, sig, verifyOptions)
	} else {
		b.bv.AddWithOptions(voi.PublicKey(pub), msg, sig, verifyOptions)
	}
	b.n++
}

// Len is the number of signatures queued.
func (b *Batch) Len() int { return b.n }

// Verify checks every queued signature and reports each one's validity,
// in the order they were added. It draws the combination's coefficients
// from crypto/rand.
func (b *Batch) Verify() []bool {
	if b.n == 0 {
		return nil
	}
	_, valid := b.bv.Verify(nil)
	return valid
}

// Keys keeps public keys decompressed (about 1.5 KiB each) for Batch, which
// otherwise decompresses the key of every signature it checks. It holds at
// most MaxKeys keys and starts over when full. A Keys is safe for
// concurrent use; the zero value is ready to use.
type Keys struct {
	mu sync.RWMutex
	m  map[[ed25519.PublicKeySize]byte]*voi.ExpandedPublicKey
}

// MaxKeys bounds a Keys.
const MaxKeys = 1 << 15

// expanded returns pub decompressed, or nil when k is nil or pub is not a
// valid point (Batch then checks it the slow way, and fails it).
func (k *Keys) expanded(pub ed25519.PublicKey) *voi.ExpandedPublicKey {
	if k == nil || len(pub) != ed25519.PublicKeySize {
		return nil
	}
	id := [ed25519.PublicKeySize]byte(pub)
	k.mu.RLock()
	x, ok := k.m[id]
	k.mu.RUnlock()
	if ok {
		return x
	}
	x, err := voi.NewExpandedPublicKey(voi.PublicKey(pub))
	if err != nil {
		return nil
	}
	k.mu.Lock()
	if k.m == nil || len(k.m) >= MaxKeys {
		k.m = make(map[[ed25519.PublicKeySize]byte]*voi.ExpandedPublicKey)
	}
	k.m[id] = x
	k.mu.Unlock()
	return x
}
