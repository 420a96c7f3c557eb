package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/state"
)

// exportFixture is a node with a manufacturer whose lot L1 holds
// generated serials and lot L2 a few more, and the parties that ask.
type exportFixture struct {
	n                     *Node
	mfr, mfr2, pharm, reg string // tokens
	registry              pb.RegistryServiceClient
	verification          pb.VerificationServiceClient
	serials               []string // of L1, in the export's order
}

func newExportFixture(t *testing.T, count int) *exportFixture {
	t.Helper()
	f := newExportFixtureAt(t, t.TempDir(), count)
	t.Cleanup(func() { shutdown(t, f.n) })
	return f
}

// newExportFixtureAt builds the fixture on a node with data directory
// dir, which the caller shuts down.
func newExportFixtureAt(t *testing.T, dir string, count int) *exportFixture {
	t.Helper()
	n := startNode(t, testConfig(dir))
	a := &api{t: t, n: n}
	f := &exportFixture{n: n, mfr: a.party(apiMfr, pb.Role_ROLE_MANUFACTURER), mfr2: a.party(apiMfr2, pb.Role_ROLE_MANUFACTURER),
		pharm: a.party(apiPharm, pb.Role_ROLE_PHARMACY), reg: a.party("4000007000009", pb.Role_ROLE_REGULATOR)}
	conn := plainConn(t, n)
	f.registry, f.verification = pb.NewRegistryServiceClient(conn), pb.NewVerificationServiceClient(conn)
	ctx := bearer(context.Background(), f.mfr)
	if _, err := f.registry.CreateProduct(ctx, &pb.CreateProductRequest{Product: &pb.Product{Gtin: apiGTIN, Name: "Paracetamol"}}); err != nil {
		t.Fatal(err)
	}
	for _, lot := range []string{"L1", "L2"} {
		if _, err := f.registry.CreateBatch(ctx, &pb.CreateBatchRequest{Gtin: apiGTIN, Batch: &pb.Batch{Lot: lot, Expiry: "281200"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.registry.CommissionSerials(ctx, &pb.CommissionSerialsRequest{Gtin: apiGTIN, Lot: "L2", Count: 7}); err != nil {
		t.Fatal(err)
	}
	for left := count; left > 0; left -= 10_000 {
		resp, err := f.registry.CommissionSerials(ctx, &pb.CommissionSerialsRequest{Gtin: apiGTIN, Lot: "L1", Count: uint32(min(left, 10_000))})
		if err != nil {
			t.Fatal(err)
		}
		f.serials = append(f.serials, resp.GetSerials()...)
	}
	if len(f.serials) != count {
		t.Fatalf("commissioned %d serials, got %d back", count, len(f.serials))
	}
	slices.SortFunc(f.serials, func(a, b string) int { return state.ComparePacks("", a, "", b) })
	return f
}

// list pages through ListBatchPacks as token with pages of size.
func (f *exportFixture) list(t *testing.T, token string, size int32, st pb.PackStatus) ([]*pb.BatchPack, int, error) {
	t.Helper()
	ctx := bearer(context.Background(), token)
	req := &pb.ListBatchPacksRequest{Gtin: apiGTIN, Lot: "L1", PageSize: size, Status: st}
	var out []*pb.BatchPack
	for pages := 1; ; pages++ {
		resp, err := f.registry.ListBatchPacks(ctx, req)
		if err != nil {
			return out, pages, err
		}
		if len(resp.GetPacks()) > int(size) {
			t.Fatalf("page %d has %d packs, asked for %d", pages, len(resp.GetPacks()), size)
		}
		out = append(out, resp.GetPacks()...)
		if resp.GetNextPageToken() == "" {
			return out, pages, nil
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

func serialsOf(ps []*pb.BatchPack) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.GetSerial()
	}
	return out
}

// TestBatchExportPagesFiltersAndIsTheManufacturers lists a batch in pages
// (only its own lot's serials, each once, in order), filters by status
// after a few are dispensed, binds the page token to the filter, and
// refuses another manufacturer and a pharmacy.
func TestBatchExportPagesFiltersAndIsTheManufacturers(t *testing.T) {
	f := newExportFixture(t, 250)
	ctx := context.Background()
	dispensed := []string{f.serials[3], f.serials[100], f.serials[249]}
	for _, sn := range dispensed {
		if _, err := f.verification.DispensePack(bearer(ctx, f.pharm), &pb.DispensePackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: sn})}); err != nil {
			t.Fatalf("dispense %s: %v", sn, err)
		}
	}
	for _, who := range []struct{ name, token string }{{"manufacturer", f.mfr}, {"regulator", f.reg}} {
		all, pages, err := f.list(t, who.token, 40, 0)
		if err != nil {
			t.Fatalf("%s: %v", who.name, err)
		}
		if pages != 7 || !slices.Equal(serialsOf(all), f.serials) {
			t.Errorf("%s: %d pages, %d serials; want 7 pages and the %d commissioned in order", who.name, pages, len(all), len(f.serials))
		}
		for _, p := range all {
			want := pb.PackStatus_PACK_STATUS_ACTIVE
			if slices.Contains(dispensed, p.GetSerial()) {
				want = pb.PackStatus_PACK_STATUS_SUPPLIED
			}
			if p.GetStatus() != want {
				t.Errorf("%s: %s is %v, want %v", who.name, p.GetSerial(), p.GetStatus(), want)
			}
		}
	}
	supplied, _, err := f.list(t, f.mfr, 2, pb.PackStatus_PACK_STATUS_SUPPLIED)
	if err != nil || !slices.Equal(serialsOf(supplied), dispensed) {
		t.Errorf("supplied: %v, %v; want %v", serialsOf(supplied), err, dispensed)
	}
	active, _, err := f.list(t, f.mfr, 1000, pb.PackStatus_PACK_STATUS_ACTIVE)
	if err != nil || len(active) != 247 {
		t.Errorf("active: %d, %v; want 247", len(active), err)
	}

	first, err := f.registry.ListBatchPacks(bearer(ctx, f.mfr), &pb.ListBatchPacksRequest{Gtin: apiGTIN, Lot: "L1", PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.registry.ListBatchPacks(bearer(ctx, f.mfr), &pb.ListBatchPacksRequest{Gtin: apiGTIN, Lot: "L1", PageSize: 10,
		Status: pb.PackStatus_PACK_STATUS_ACTIVE, PageToken: first.GetNextPageToken()})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "pageToken") {
		t.Errorf("token of another filter: %v, want InvalidArgument naming pageToken", err)
	}
	for _, who := range []struct{ name, token string }{{"another manufacturer", f.mfr2}, {"a pharmacy", f.pharm}} {
		_, _, err := f.list(t, who.token, 10, 0)
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s: %v, want PermissionDenied", who.name, err)
		}
		code, body := fileOf(t, f.n, who.token, "serials.txt")
		if code != http.StatusForbidden || strings.Contains(body, f.serials[0]) {
			t.Errorf("%s: serials.txt answered %d %q, want 403", who.name, code, body)
		}
	}
	if code, _ := fileOf(t, f.n, "", "serials.csv"); code != http.StatusUnauthorized {
		t.Errorf("serials.csv without a token: %d, want 401", code)
	}
}

// fileOf fetches a batch file of lot L1 as token.
func fileOf(t *testing.T, n *Node, token, name string) (int, string) {
	t.Helper()
	code, b := bearerDo(context.Background(), t, http.MethodGet, "http://"+n.HTTPAddr()+"/v1/products/"+apiGTIN+"/batches/L1/"+name, token)
	return code, string(b)
}

// TestBatchFilesStreamWhatWasCommissioned reads a 20,000-serial batch as
// serials.txt and serials.csv: exactly the serials commissioned in the lot,
// one a line, in the export's order, with their status in the CSV.
func TestBatchFilesStreamWhatWasCommissioned(t *testing.T) {
	f := newExportFixture(t, 20_000)
	code, txt := fileOf(t, f.n, f.mfr, "serials.txt")
	if want := strings.Join(f.serials, "\n") + "\n"; code != http.StatusOK || txt != want {
		t.Errorf("serials.txt: HTTP %d, %d bytes; want 200 and the %d serials (%d bytes)", code, len(txt), len(f.serials), len(want))
	}
	var want strings.Builder
	want.WriteString("serial,status\n")
	for _, sn := range f.serials {
		fmt.Fprintf(&want, "%s,ACTIVE\n", sn)
	}
	code, csv := fileOf(t, f.n, f.reg, "serials.csv?status=active")
	if code != http.StatusOK || csv != want.String() {
		t.Errorf("serials.csv: HTTP %d, %d bytes; want 200 and %d bytes", code, len(csv), want.Len())
	}
	if code, csv := fileOf(t, f.n, f.mfr, "serials.csv?status=supplied"); code != http.StatusOK || csv != "serial,status\n" {
		t.Errorf("serials.csv of supplied packs: HTTP %d %q, want only the header", code, csv)
	}
}

// TestLotIndexIsBuiltForAnOlderStore removes the lot index from a node's
// store, as a store written before the index existed, and restarts the
// node: it builds the index before it consumes, and the export and the
// trace of each batch hold exactly its packs.
func TestLotIndexIsBuiltForAnOlderStore(t *testing.T) {
	dir := t.TempDir()
	f := newExportFixtureAt(t, dir, 300)
	shutdown(t, f.n)
	db, err := pebble.Open(filepath.Join(dir, "pebble"), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The on-disk layout (services/internal/state/keys.go): 0x28 lotpack,
	// meta 0x1F 0x03 the lot index format.
	if err := errors.Join(db.DeleteRange([]byte{0x28}, []byte{0x29}, pebble.Sync), db.Delete([]byte{0x1F, 0x03}, pebble.Sync), db.Close()); err != nil {
		t.Fatal(err)
	}
	f.n = startNode(t, testConfig(dir))
	defer shutdown(t, f.n)
	conn := plainConn(t, f.n)
	f.registry = pb.NewRegistryServiceClient(conn)
	all, _, err := f.list(t, f.mfr, 1000, 0)
	if err != nil || !slices.Equal(serialsOf(all), f.serials) {
		t.Fatalf("after the rebuild L1 lists %d serials (%v), want the %d commissioned", len(all), err, len(f.serials))
	}
	tr, err := pb.NewProvenanceServiceClient(conn).TraceBatch(bearer(context.Background(), f.reg), &pb.TraceBatchRequest{Gtin: apiGTIN, Lot: "L2"})
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, c := range tr.GetCounts() {
		n += c.GetCount()
	}
	if n != 7 {
		t.Fatalf("trace of L2 counts %d packs, want 7", n)
	}
}
