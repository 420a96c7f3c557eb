package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/pedigree-project/pedigree/envelope"
	"github.com/pedigree-project/pedigree/gs1"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// pharmacies is how many pharmacies the run registers; dispense envelopes
// alternate between them.
const pharmacies = 2

// world is what a run registers on the server: a manufacturer, its
// product and batch, and pharmacies with API tokens and signing keys. Every
// identifier is drawn at random in GS1's demonstration range (prefix 952),
// so that runs against the same server never collide.
type world struct {
	run      string // random tag of this run, in serials and names
	gtin     string
	lot      string
	expiry   string // YYMM00, three years ahead
	mfrGLN   string
	mfrToken string
	pharm    [pharmacies]party
}

// party is a pharmacy: its GLN, API token and Ed25519 key (registered with
// the party) for publishing straight to NATS.
type party struct {
	gln   string
	token string
	key   ed25519.PrivateKey
}

// randomDigits returns n random decimal digits.
func randomDigits(n int) (string, error) {
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
	v, err := rand.Int(rand.Reader, limit)
	if err != nil {
		return "", fmt.Errorf("bench: random: %w", err)
	}
	return fmt.Sprintf("%0*s", n, v.String()), nil
}

// demoKey returns a random GS1 key of length n (check digit included) in
// the demonstration range 952.
func demoKey(lead string, n int) (string, error) {
	d, err := randomDigits(n - 1 - len(lead) - 3)
	if err != nil {
		return "", err
	}
	body := lead + "952" + d
	return body + string(gs1.CheckDigit(body)), nil
}

// withToken returns ctx carrying token as the call's bearer credential.
func withToken(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// newWorld registers a world through the RegistryService, as admin.
func newWorld(ctx context.Context, conn *grpc.ClientConn, adminToken string) (*world, error) {
	w := &world{}
	var err error
	if w.run, err = randomDigits(6); err != nil {
		return nil, err
	}
	if w.gtin, err = demoKey("0", 14); err != nil {
		return nil, err
	}
	if w.mfrGLN, err = demoKey("", 13); err != nil {
		return nil, err
	}
	w.lot = "BENCH" + w.run
	w.expiry = time.Now().AddDate(3, 0, 0).Format("0601") + "00"
	reg := pb.NewRegistryServiceClient(conn)
	admin := withToken(ctx, adminToken)
	mfr, err := reg.CreateParty(admin, &pb.CreatePartyRequest{Party: &pb.Party{
		Gln: w.mfrGLN, Name: "Bench manufacturer " + w.run, Role: pb.Role_ROLE_MANUFACTURER}})
	if err != nil {
		return nil, fmt.Errorf("bench: register the manufacturer: %w", err)
	}
	w.mfrToken = mfr.GetToken()
	for i := range w.pharm {
		p := &w.pharm[i]
		if p.gln, err = demoKey("", 13); err != nil {
			return nil, err
		}
		pub, priv, err := envelope.GenerateKey()
		if err != nil {
			return nil, err
		}
		p.key = priv
		resp, err := reg.CreateParty(admin, &pb.CreatePartyRequest{Party: &pb.Party{
			Gln: p.gln, Name: fmt.Sprintf("Bench pharmacy %d %s", i+1, w.run), Role: pb.Role_ROLE_PHARMACY,
			PublicKeys: [][]byte{pub}}})
		if err != nil {
			return nil, fmt.Errorf("bench: register pharmacy %d: %w", i+1, err)
		}
		p.token = resp.GetToken()
	}
	m := withToken(ctx, w.mfrToken)
	if _, err := reg.CreateProduct(m, &pb.CreateProductRequest{Product: &pb.Product{
		Gtin: w.gtin, Name: "Bench product " + w.run, Form: "tablet", PackSize: 20}}); err != nil {
		return nil, fmt.Errorf("bench: register the product: %w", err)
	}
	if _, err := reg.CreateBatch(m, &pb.CreateBatchRequest{Gtin: w.gtin, Batch: &pb.Batch{Lot: w.lot, Expiry: w.expiry}}); err != nil {
		return nil, fmt.Errorf("bench: register the batch: %w", err)
	}
	return w, nil
}

// serial returns the serial of the i-th pack of the run: "B", the run tag
// and i, 15 characters in all.
func (w *world) serial(i int) string {
	s := strconv.Itoa(i)
	const width = 8
	if len(s) < width {
		s = "00000000"[:width-len(s)] + s
	}
	return "B" + w.run + s
}

// barcode returns the i-th pack's GS1 DataMatrix element string as a
// scanner sends it: symbology identifier, GTIN, expiry, lot, GS, serial.
func (w *world) barcode(i int) string {
	return "]d201" + w.gtin + "17" + w.expiry + "10" + w.lot + "\x1d21" + w.serial(i)
}

// partyKeys returns the pharmacies' public keys by GLN.
func (w *world) partyKeys() map[string]ed25519.PublicKey {
	keys := make(map[string]ed25519.PublicKey, len(w.pharm))
	for _, p := range w.pharm {
		keys[p.gln] = p.key.Public().(ed25519.PublicKey)
	}
	return keys
}
