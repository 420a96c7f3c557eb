package envelope

import (
	"os"
	"path/filepath"
	"testing"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

func TestSealOpenVerify(t *testing.T) {
	pub, priv, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	env := &pb.Envelope{PartyGln: "4012345000009", Body: &pb.Envelope_Capture{Capture: &pb.Capture{
		Events: []*pb.ScanEvent{{EventId: "urn:uuid:1", BizStep: pb.BizStep_BIZ_STEP_DISPENSING}},
	}}}
	wire, err := Seal(env, "4012345000009", priv)
	if err != nil {
		t.Fatal(err)
	}
	o, err := Open(wire)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Verify(pub) {
		t.Fatal("signature does not verify")
	}
	if o.Signed.GetKeyId() != KeyID(pub) || len(o.Signed.GetKeyId()) != 16 {
		t.Errorf("key ID %q, want %q", o.Signed.GetKeyId(), KeyID(pub))
	}
	if got := MsgID(o.Envelope, o.Signed.GetEnvelope()); got != "urn:uuid:1" {
		t.Errorf("MsgID = %q, want the event ID", got)
	}
	other, _, _ := GenerateKey()
	if o.Verify(other) {
		t.Error("signature verifies with another key")
	}
	o.Signed.Envelope[len(o.Signed.Envelope)-1] ^= 1
	if o.Verify(pub) {
		t.Error("signature verifies over altered bytes")
	}
	if _, err := Open([]byte{0xff, 0xff}); err == nil {
		t.Error("Open accepted garbage")
	}
}

func TestMsgIDOfMultiEventCaptureIsEnvelopeID(t *testing.T) {
	env := &pb.Envelope{Body: &pb.Envelope_Capture{Capture: &pb.Capture{Events: []*pb.ScanEvent{{EventId: "a"}, {EventId: "b"}}}}}
	b, err := Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := MsgID(env, b), ID(b); got != want || len(got) != len(EnvelopeIDPrefix)+64 {
		t.Fatalf("MsgID = %q, want %q", got, want)
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "party.key")
	priv, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %o, want 600", info.Mode().Perm())
	}
	again, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !priv.Equal(again) {
		t.Fatal("second load returned another key")
	}
	if err := WriteKeyFile(path, priv); err == nil {
		t.Fatal("WriteKeyFile overwrote an existing key")
	}
	if err := os.WriteFile(path+".bad", []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadKeyFile(path + ".bad"); err == nil {
		t.Fatal("ReadKeyFile accepted a non-PEM file")
	}
}
