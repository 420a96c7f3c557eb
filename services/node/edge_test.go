package node

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// plainConn is a plaintext gRPC connection to n, closed at the end of
// the test.
func plainConn(t *testing.T, n *Node) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// send makes one HTTP request with body (nil for none) and returns the
// response with its body read.
func send(t *testing.T, method, url, token string, body io.Reader, length int64) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if length != 0 {
		req.ContentLength = length
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", method, url, err)
	}
	return resp, b
}

// wantRefused checks a 429 in the gateway's error shape with a Retry-After
// of whole seconds.
func wantRefused(t *testing.T, what string, resp *http.Response, body []byte) {
	t.Helper()
	var st struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if resp.StatusCode != http.StatusTooManyRequests || json.Unmarshal(body, &st) != nil || st.Code != int(codes.ResourceExhausted) {
		t.Fatalf("%s: %d %s, want 429 with a ResourceExhausted status", what, resp.StatusCode, body)
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs < 1 {
		t.Fatalf("%s: Retry-After %q, want whole seconds", what, resp.Header.Get("Retry-After"))
	}
}

func TestAFloodFromOnePartyIsRefusedWhileOthersPass(t *testing.T) {
	cfg := testConfig(t.TempDir())
	// Budgets that do not refill within the test: only the bursts count.
	cfg.Edge.ReadRate, cfg.Edge.ReadBurst = 1e-6, 5
	cfg.Edge.PublicRate, cfg.Edge.PublicBurst = 1e-6, 3
	n := startNode(t, cfg)
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	flooder := a.party(apiPharm, pb.Role_ROLE_PHARMACY)
	other := a.party(apiPh2, pb.Role_ROLE_PHARMACY)
	third := a.party(apiWs, pb.Role_ROLE_WHOLESALER)
	base := "http://" + n.HTTPAddr()
	verify := func(token string) (*http.Response, []byte) {
		return send(t, http.MethodPost, base+"/v1/packs:verify", token,
			strings.NewReader(`{"pack":{"code":{"gtin":"`+apiGTIN+`","serial":"S1"}}}`), 0)
	}
	for i := range 5 {
		if resp, body := verify(flooder); resp.StatusCode == http.StatusTooManyRequests {
			t.Fatalf("verify %d of a burst of 5: %d %s", i, resp.StatusCode, body)
		}
	}
	resp, body := verify(flooder)
	wantRefused(t, "6th verify over HTTP", resp, body)
	if resp, body := verify(other); resp.StatusCode == http.StatusTooManyRequests {
		t.Fatalf("another party during the flood: %d %s", resp.StatusCode, body)
	}

	// The same budget over gRPC: refused with a retry-after header, while
	// a third party passes.
	conn := plainConn(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	vc := pb.NewVerificationServiceClient(conn)
	req := &pb.VerifyPackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: "S1"})}
	var hdr metadata.MD
	_, err := vc.VerifyPack(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+flooder), req, grpc.Header(&hdr))
	if status.Code(err) != codes.ResourceExhausted || len(hdr.Get("retry-after")) != 1 {
		t.Fatalf("verify over gRPC by the flooding party: %v, header %v; want ResourceExhausted with retry-after", err, hdr)
	}
	if _, err := vc.VerifyPack(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+third), req); status.Code(err) == codes.ResourceExhausted {
		t.Fatalf("verify over gRPC by another party: %v", err)
	}

	// Without a token, public routes are charged to the client's address;
	// with one, to its party.
	for i := range 3 {
		if resp, body := send(t, http.MethodGet, base+"/v1/ledger/checkpoint", "", nil, 0); resp.StatusCode != http.StatusOK {
			t.Fatalf("checkpoint %d without a token: %d %s", i, resp.StatusCode, body)
		}
	}
	resp, body = send(t, http.MethodGet, base+"/v1/ledger/checkpoint", "", nil, 0)
	wantRefused(t, "4th checkpoint without a token", resp, body)
	// Failed authentications draw on the same budget: past it, guessing
	// tokens gets 429 rather than 401.
	resp, body = send(t, http.MethodGet, base+"/v1/parties", "pdg_guess", nil, 0)
	wantRefused(t, "a guessed token past the address's budget", resp, body)
	if resp, body := send(t, http.MethodGet, base+"/v1/ledger/checkpoint", other, nil, 0); resp.StatusCode != http.StatusOK {
		t.Fatalf("checkpoint with another party's token: %d %s", resp.StatusCode, body)
	}
	_, metrics := send(t, http.MethodGet, "http://"+n.MetricsAddr()+"/metrics", "", nil, 0)
	for _, want := range []string{`pedigree_requests_limited_total{limit="read"} 2`, `pedigree_requests_limited_total{limit="public"} 2`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// hugeBody is an endless JSON document cut at size bytes: a prefix, then
// filler. It allocates nothing per read and counts what was read (the
// client's transport may still be reading when the answer is in).
type hugeBody struct {
	prefix string
	size   int64
	read   atomic.Int64
}

func (b *hugeBody) Read(p []byte) (int, error) {
	pos := b.read.Load()
	if pos >= b.size {
		return 0, io.EOF
	}
	n := 0
	for ; n < len(p) && pos < b.size; n, pos = n+1, pos+1 {
		if pos < int64(len(b.prefix)) {
			p[n] = b.prefix[pos]
		} else {
			p[n] = 'A'
		}
	}
	b.read.Store(pos)
	return n, nil
}

// allocated returns the bytes the process allocated while f ran.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestHugeBodiesAreRefusedWithoutBeingRead(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Edge.MaxBody, cfg.Edge.MaxBulkBody = 1<<20, 2<<20
	n := startNode(t, cfg)
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	token := a.adminToken()
	base := "http://" + n.HTTPAddr()
	const huge = 60 << 20
	verifyJSON := `{"pack":{"barcode":"`
	for _, tc := range []struct {
		name     string
		token    string
		declared bool // Content-Length given; otherwise chunked
		want     int
	}{
		{"no token", "", false, http.StatusUnauthorized},
		{"unknown token", "pdg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", true, http.StatusUnauthorized},
		{"declared length", token, true, http.StatusRequestEntityTooLarge},
		{"chunked", token, false, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := &hugeBody{prefix: verifyJSON, size: huge}
			var length int64
			if tc.declared {
				length = huge
			}
			var resp *http.Response
			var answer []byte
			alloc := allocated(func() {
				resp, answer = send(t, http.MethodPost, base+"/v1/packs:verify", tc.token, body, length)
			})
			var st struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if resp.StatusCode != tc.want || json.Unmarshal(answer, &st) != nil || st.Message == "" {
				t.Fatalf("%d %s, want %d in the gateway's error shape", resp.StatusCode, answer, tc.want)
			}
			// Reading 60 MB would allocate at least that much; the node reads
			// at most the 1 MiB limit, and the socket buffers take a few
			// more from the client.
			if alloc > 16<<20 {
				t.Errorf("%d bytes allocated around a refused 60 MB body, want under 16 MiB", alloc)
			}
			if body.read.Load() > 16<<20 {
				t.Errorf("the client sent %d bytes before the refusal, want a few MiB at most", body.read.Load())
			}
		})
	}

	// Commissioning may carry the bulk limit, and no more.
	path := base + "/v1/products/" + apiGTIN + "/batches/L1:commission"
	serials := func(size int64) io.Reader {
		var b strings.Builder
		b.WriteString(`{"serials":["S0"`)
		for i := 1; int64(b.Len()) < size-2; i++ {
			fmt.Fprintf(&b, `,"S%d"`, i)
		}
		b.WriteString("]}")
		return strings.NewReader(b.String())
	}
	if resp, body := send(t, http.MethodPost, path, token, serials(3<<19), 0); resp.StatusCode == http.StatusRequestEntityTooLarge || resp.StatusCode/100 == 2 {
		t.Errorf("1.5 MiB commissioning of an unknown product: %d %s, want it read and refused on its merits", resp.StatusCode, body)
	}
	if resp, body := send(t, http.MethodPost, path, token, &hugeBody{prefix: `{"serials":["`, size: 3 << 20}, 0); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("3 MiB commissioning: %d %s, want 413", resp.StatusCode, body)
	}
}

func TestGRPCCallsWithoutATokenAreRefusedBeforeTheirMessageIsRead(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Edge.MaxBody, cfg.Edge.MaxBulkBody = 1<<20, 2<<20
	n := startNode(t, cfg)
	defer shutdown(t, n)
	token := (&api{t: t, n: n}).adminToken()
	conn := plainConn(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	vc := pb.NewVerificationServiceClient(conn)
	big := &pb.VerifyPackRequest{Pack: pb.BarcodeInput(strings.Repeat("A", 3<<20))}
	// Were the message read first, its size would be refused first.
	if _, err := vc.VerifyPack(ctx, big); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("3 MiB message without a token: %v, want Unauthenticated", err)
	}
	bad := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer pdg_unknown")
	if _, err := vc.VerifyPack(bad, big); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("3 MiB message with an unknown token: %v, want Unauthenticated", err)
	}
	good := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	if _, err := vc.VerifyPack(good, big); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("3 MiB message with a token: %v, want ResourceExhausted (over the 2 MiB limit)", err)
	}
	// Public methods still answer without a token.
	if _, err := pb.NewLedgerServiceClient(conn).GetCheckpoint(ctx, &pb.GetCheckpointRequest{}); err != nil {
		t.Fatalf("checkpoint without a token: %v", err)
	}
}

func TestTheAlertFeedOutlivesTheWriteTimeout(t *testing.T) {
	cfg := testConfig(t.TempDir())
	const writeTimeout = 300 * time.Millisecond
	cfg.Edge.HTTPWriteTimeout = writeTimeout
	n := startNode(t, cfg)
	defer shutdown(t, n)
	a := &api{t: t, n: n}
	regulator := a.party("4000007000009", pb.Role_ROLE_REGULATOR)
	pharmacy := a.party(apiPharm, pb.Role_ROLE_PHARMACY)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.HTTPAddr()+"/v1/alerts:watch", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+regulator)
	type answer struct {
		line string
		err  error
	}
	first := make(chan answer, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			first <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		first <- answer{line: line, err: err}
	}()
	// What is under test is time passing: the feed's first message is
	// written after the write deadline the server set when the request
	// arrived.
	elapsed := time.NewTimer(3 * writeTimeout)
	<-elapsed.C

	conn := plainConn(t, n)
	vc := pb.NewVerificationServiceClient(conn)
	pctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+pharmacy)
	// Each dispense of an unknown product raises an alert; the feed may
	// not be subscribed yet, so raise them until one arrives.
	for i := 0; ; i++ {
		if _, err := vc.DispensePack(pctx, &pb.DispensePackRequest{Pack: pb.CodeInput(&pb.PackCode{Gtin: apiGTIN, Serial: fmt.Sprintf("FAKE%d", i)})}); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-first:
			if got.err != nil || !strings.Contains(got.line, "ALERT_CODE_UNKNOWN_PRODUCT") {
				t.Fatalf("the feed after the write timeout: %q, %v", got.line, got.err)
			}
			return
		case <-ctx.Done():
			t.Fatal("no alert on the feed")
		case <-time.After(100 * time.Millisecond):
		}
	}
}
