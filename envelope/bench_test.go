package envelope

import (
	"crypto/ed25519"
	"fmt"
	"testing"
)

// BenchmarkSignatures compares checking the signatures of single-event
// envelopes one by one (crypto/ed25519, and Pedigree's rule) with checking
// them in batches of n (envelope.Batch, with and without decompressed
// keys kept). ns/sig is the cost per signature.
func BenchmarkSignatures(b *testing.B) {
	pub, priv, err := GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	ops := sealed(b, 1000, priv)
	perSig := func(b *testing.B, n int) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sig")
	}
	b.Run("single/crypto-ed25519", func(b *testing.B) {
		for b.Loop() {
			if o := ops[0]; !ed25519.Verify(pub, o.Signed.GetEnvelope(), o.Signed.GetSignature()) {
				b.Fatal("does not verify")
			}
		}
		perSig(b, 1)
	})
	b.Run("single/rule", func(b *testing.B) {
		for b.Loop() {
			if !ops[0].Verify(pub) {
				b.Fatal("does not verify")
			}
		}
		perSig(b, 1)
	})
	for _, n := range []int{16, 64, 256, 500, 1000} {
		for _, cached := range []bool{false, true} {
			b.Run(fmt.Sprintf("batch=%d/keys-kept=%v", n, cached), func(b *testing.B) {
				var keys *Keys
				if cached {
					keys = &Keys{}
				}
				for b.Loop() {
					bt := NewBatch(n)
					for _, o := range ops[:n] {
						bt.Add(o, pub, keys)
					}
					for _, ok := range bt.Verify() {
						if !ok {
							b.Fatal("does not verify")
						}
					}
				}
				perSig(b, n)
			})
		}
	}
}
