package envelope

import (
	"crypto/ed25519"
	"fmt"
	"math/big"
	"testing"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// sealed returns n opened envelopes signed by priv.
func sealed(t testing.TB, n int, priv ed25519.PrivateKey) []*Opened {
	t.Helper()
	out := make([]*Opened, n)
	for i := range out {
		env := &pb.Envelope{PartyGln: "4012345000009", Body: &pb.Envelope_Capture{Capture: &pb.Capture{
			Events: []*pb.ScanEvent{{EventId: fmt.Sprintf("urn:uuid:%d", i), BizStep: pb.BizStep_BIZ_STEP_DISPENSING}},
		}}}
		wire, err := Seal(env, "4012345000009", priv)
		if err != nil {
			t.Fatal(err)
		}
		if out[i], err = Open(wire); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// malleate returns sig with S replaced by S + L, the group order: the same
// point equation, but a non-canonical scalar that RFC 8032 rejects.
func malleate(sig []byte) []byte {
	l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	le := func(b []byte) []byte { // little endian ⇄ big endian
		r := make([]byte, len(b))
		for i := range b {
			r[len(b)-1-i] = b[i]
		}
		return r
	}
	s := new(big.Int).SetBytes(le(sig[32:]))
	s.Add(s, l)
	out := append([]byte(nil), sig[:32]...)
	sb := s.FillBytes(make([]byte, 32))
	return append(out, le(sb)...)
}

func TestBatchAgreesWithSingleChecks(t *testing.T) {
	pub, priv, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	other, _, _ := GenerateKey()
	for _, n := range []int{1, 2, 7, 64, 200} {
		ops := sealed(t, n, priv)
		keys := make([]ed25519.PublicKey, n)
		want := make([]bool, n)
		for i := range ops {
			keys[i] = pub
			switch i % 5 {
			case 1: // altered bytes
				ops[i].Signed.Envelope[len(ops[i].Signed.Envelope)-1] ^= 1
			case 3: // another key
				keys[i] = other
			case 4: // non-canonical S
				ops[i].Signed.Signature = malleate(ops[i].Signed.Signature)
			}
			want[i] = ops[i].Verify(keys[i])
		}
		b := NewBatch(n)
		var cache *Keys
		if n%2 == 0 {
			cache = &Keys{}
		}
		for i := range ops {
			b.Add(ops[i], keys[i], cache)
		}
		if b.Len() != n {
			t.Fatalf("Len = %d, want %d", b.Len(), n)
		}
		got := b.Verify()
		bad := 0
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("n=%d: signature %d: batch says %v, single check %v", n, i, got[i], want[i])
			}
			if !want[i] {
				bad++
			}
		}
		if n >= 5 && bad == 0 {
			t.Fatalf("n=%d: the test altered no signature", n)
		}
	}
}

func TestSignatureRule(t *testing.T) {
	pub, priv, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	o := sealed(t, 1, priv)[0]
	msg, sig := o.Signed.GetEnvelope(), o.Signed.GetSignature()
	if !ed25519.Verify(pub, msg, sig) || !VerifySignature(pub, msg, sig) {
		t.Fatal("an RFC 8032 signature does not verify")
	}
	if want := ed25519.Sign(priv, msg); string(sig) != string(want) {
		t.Error("Seal's signature differs from crypto/ed25519's")
	}
	if m := malleate(sig); ed25519.Verify(pub, msg, m) || VerifySignature(pub, msg, m) {
		t.Error("a signature with S + L verifies")
	}
	if VerifySignature(pub[:31], msg, sig) || VerifySignature(pub, msg, sig[:63]) {
		t.Error("a short key or signature verifies")
	}
	b := NewBatch(2)
	o.Signed.Signature = sig[:10]
	b.Add(o, pub, &Keys{})
	b.Add(sealed(t, 1, priv)[0], pub[:5], &Keys{})
	if got := b.Verify(); len(got) != 2 || got[0] || got[1] {
		t.Errorf("batch with a short signature and a short key: %v, want [false false]", got)
	}
	if NewBatch(0).Verify() != nil {
		t.Error("an empty batch answers")
	}
}
