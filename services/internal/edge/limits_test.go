package edge

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
)

// slow is a config whose budgets never refill within a test: only the
// bursts count, so the outcomes do not depend on the clock.
func slow() Config {
	c := DefaultConfig()
	c.ReadRate, c.ReadBurst = 1e-6, 3
	c.WriteRate, c.WriteBurst = 1e-6, 2
	c.PublicRate, c.PublicBurst = 1e-6, 1
	c.BulkPerParty = 2
	return c
}

func newLimits(t *testing.T, cfg Config) *Limits {
	t.Helper()
	l, err := NewLimits(cfg, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestBudgetsArePerPartyAndPerClass(t *testing.T) {
	l := newLimits(t, slow())
	verify := pb.VerificationService_VerifyPack_FullMethodName
	dispense := pb.VerificationService_DispensePack_FullMethodName
	admit := func(method, party, addr string) error {
		_, err := l.Admit(method, party, addr)
		return err
	}
	for i := range 3 {
		if err := admit(verify, "A", "192.0.2.1:1"); err != nil {
			t.Fatalf("read %d of a burst of 3: %v", i, err)
		}
	}
	secs, err := l.Admit(verify, "A", "192.0.2.1:1")
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "read budget") {
		t.Fatalf("4th read: %v, want ResourceExhausted naming the read budget", err)
	}
	if secs == "" || secs == "0" {
		t.Errorf("retry-after %q, want whole seconds", secs)
	}
	// The write budget is separate, as is every other party's.
	if err := admit(dispense, "A", "192.0.2.1:1"); err != nil {
		t.Errorf("a write after the reads ran out: %v", err)
	}
	if err := admit(verify, "B", "192.0.2.1:1"); err != nil {
		t.Errorf("another party from the same address: %v", err)
	}
	// Health checks are never refused; callers without a token are
	// charged by address.
	for range 5 {
		if err := admit("/grpc.health.v1.Health/Check", "", "192.0.2.9:1"); err != nil {
			t.Fatalf("health check: %v", err)
		}
	}
	if err := admit(pb.LedgerService_GetCheckpoint_FullMethodName, "", "192.0.2.9:1"); err != nil {
		t.Fatal(err)
	}
	if err := admit(pb.LedgerService_GetCheckpoint_FullMethodName, "", "192.0.2.9:2"); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("second anonymous call from the same host: %v", err)
	}
	if err := admit(pb.LedgerService_GetCheckpoint_FullMethodName, "", "192.0.2.10:2"); err != nil {
		t.Errorf("anonymous call from another host: %v", err)
	}
}

func TestNilAndUnlimitedLimitsAdmitEverything(t *testing.T) {
	var none *Limits
	if _, err := none.Admit(pb.VerificationService_VerifyPack_FullMethodName, "A", ""); err != nil {
		t.Fatal(err)
	}
	l := newLimits(t, DefaultConfig().Unlimited())
	for range 10_000 {
		if _, err := l.Admit(pb.CaptureService_CaptureEvent_FullMethodName, "A", ""); err != nil {
			t.Fatal(err)
		}
	}
	release, _, err := l.AcquireBulk("A")
	if err != nil {
		t.Fatal(err)
	}
	release()
}

func TestBudgetMapsStayBounded(t *testing.T) {
	b := newBuckets(1e-6, 1, 100)
	now := time.Now()
	for i := range 10_000 {
		b.take(fmt.Sprintf("198.51.100.%d", i), now)
	}
	if n := b.len(); n != 100 {
		t.Fatalf("%d buckets after 10,000 keys, want the bound 100", n)
	}
	// The most recent keys are kept, with their tokens spent.
	if _, ok := b.take("198.51.100.9999", now); ok {
		t.Error("the most recent key was evicted")
	}
	if _, ok := b.take("198.51.100.0", now); !ok {
		t.Error("the oldest key was kept")
	}
}

func TestBulkCallsInFlightAreCappedPerParty(t *testing.T) {
	l := newLimits(t, slow())
	r1, _, err := l.AcquireBulk("A")
	if err != nil {
		t.Fatal(err)
	}
	r2, _, err := l.AcquireBulk("A")
	if err != nil {
		t.Fatal(err)
	}
	if _, secs, err := l.AcquireBulk("A"); status.Code(err) != codes.ResourceExhausted || secs != "1" {
		t.Fatalf("third bulk call: %v retry-after %q", err, secs)
	}
	if r, _, err := l.AcquireBulk("B"); err != nil {
		t.Fatalf("another party: %v", err)
	} else {
		r()
	}
	r1()
	r1() // a second release gives nothing back twice
	r3, _, err := l.AcquireBulk("A")
	if err != nil {
		t.Fatalf("after a release: %v", err)
	}
	if _, _, err := l.AcquireBulk("A"); err == nil {
		t.Fatal("a double release freed two slots")
	}
	r2()
	r3()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if r, _, err := l.AcquireBulk("C"); err == nil {
				r()
			}
		})
	}
	wg.Wait()
	if len(l.bulk) != 0 {
		t.Errorf("bulk map holds %v after every call ended", l.bulk)
	}
}

func TestAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:443":                  "192.0.2.7",
		"[::ffff:192.0.2.7]:1":           "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443":     "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1%eth0]:80": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":                "2001:db8:1:3::/64",
		"bufconn":                        "bufconn",
	} {
		if got := AddressKey(in); got != want {
			t.Errorf("AddressKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRetryAfterRoundsUp(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1", time.Millisecond: "1", 1500 * time.Millisecond: "2", time.Hour: "3600"} {
		if got := RetryAfter(d); got != want {
			t.Errorf("RetryAfter(%s) = %s, want %s", d, got, want)
		}
	}
}

func TestConfigValidateNamesTheFlag(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.MaxBody, c.WriteRate, c.WriteBurst, c.TLSCert = 0, 5, 0, "cert.pem"
	c.HTTPWriteTimeout = -time.Second
	err := c.Validate()
	for _, flag := range []string{"max-body", "write-burst", "tls-cert, tls-key", "http-write-timeout"} {
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("Validate = %v, want it to name %s", err, flag)
		}
	}
}

func apiServices() []grpc.ServiceDesc {
	return []grpc.ServiceDesc{pb.RegistryService_ServiceDesc, pb.VerificationService_ServiceDesc,
		pb.CaptureService_ServiceDesc, pb.ProvenanceService_ServiceDesc, pb.LedgerService_ServiceDesc}
}

func TestEveryAPIMethodHasAClass(t *testing.T) {
	// Reads are listed by name; a renamed read would silently become a
	// write, so the list must name only methods that exist.
	all := map[string]bool{}
	for _, desc := range apiServices() {
		for _, m := range desc.Methods {
			all["/"+desc.ServiceName+"/"+m.MethodName] = true
		}
		for _, s := range desc.Streams {
			all["/"+desc.ServiceName+"/"+s.StreamName] = true
		}
	}
	for m := range readMethods {
		if !all[m] {
			t.Errorf("read method %s is not in the API", m)
		}
	}
	for m := range bulkMethods {
		if !all[m] {
			t.Errorf("bulk method %s is not in the API", m)
		}
	}
	if ClassOf(pb.VerificationService_VerifyPack_FullMethodName) != Read || ClassOf(pb.CaptureService_StreamCaptureEvents_FullMethodName) != Write {
		t.Error("verify must be a read, a capture stream a write")
	}
}
