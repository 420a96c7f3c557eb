package resolver

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pedigree-project/pedigree/gs1"
)

// FuzzParsePack: no path or query makes the parser panic; whatever it
// accepts is a valid pack code, and the pack's canonical Digital Link
// reads back as the same code.
func FuzzParsePack(f *testing.F) {
	for _, s := range []string{
		"/01/09506000134352/10/L1/21/S1?17=281200",
		"/qr/x/01/09506000134352/21/S1?10=L1&17=281200&linkType=all",
		"/01/09506000134352/10/A%2FB/21/%3Cs%3E",
		"/01/9506000134352/21/1",
		"/ARHE4WhIYqEQNy",
		"/01/09506000134352/21/S1/10/L1",
		"/01//21/",
		"/%zz/01/09506000134352/21/S1?17=%",
	} {
		path, q, _ := strings.Cut(s, "?")
		f.Add(path, q)
	}
	f.Fuzz(func(t *testing.T, path, query string) {
		r, err := parsePack(path, query)
		if err != nil {
			if r != nil {
				t.Fatal("a result with an error")
			}
			return
		}
		if !gs1.ValidGTIN(r.GTIN) || !gs1.ValidSerial(r.Serial) || len(path)+len(query) > maxRequestURI {
			t.Fatalf("accepted %q %q as GTIN %q serial %q", path, query, r.GTIN, r.Serial)
		}
		a := Answer{GTIN: r.GTIN, Serial: r.Serial, Lot: r.Lot, Expiry: r.Expiry}
		back, err := parsePack(canonicalPath(a), canonicalQuery(a))
		if err != nil {
			t.Fatalf("canonical link of %q %q: %v", path, query, err)
		}
		if back.GTIN != r.GTIN || back.Serial != r.Serial || back.Lot != r.Lot || back.Expiry != r.Expiry {
			t.Fatalf("canonical link of %q %q reads back as %+v", path, query, back)
		}
		l := itemLinks("https://verify.example", Answer{GTIN: r.GTIN, Serial: r.Serial, Lot: r.Lot, Expiry: r.Expiry, Product: "P"})
		for rel, tg := range l {
			if u, err := url.Parse(tg.Href); err != nil || u.Host != "verify.example" {
				t.Fatalf("%s link %q: %v", rel, tg.Href, err)
			}
		}
		if h := linkHeader(l); strings.ContainsAny(h, "\r\n") {
			t.Fatalf("Link header %q", h)
		}
	})
}

// TestLimiter: a client gets its burst, then waits; another client is
// not charged for it; tokens come back at the rate.
func TestLimiter(t *testing.T) {
	l := newLimiter(2, 3)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		if _, ok := l.admit("192.0.2.1:1000", now); !ok {
			t.Fatalf("request %d within the burst refused", i)
		}
	}
	wait, ok := l.admit("192.0.2.1:2000", now)
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("over the burst: %v %v, want a wait of at most 500 ms", wait, ok)
	}
	if _, ok := l.admit("192.0.2.2:1000", now); !ok {
		t.Fatal("another client was charged")
	}
	// One IPv6 /64 is one client.
	for i := range 3 {
		l.admit("[2001:db8::"+string(rune('1'+i))+"]:1", now)
	}
	if _, ok := l.admit("[2001:db8::ffff]:1", now); ok {
		t.Fatal("a /64 rotating addresses escaped its bucket")
	}
	if _, ok := l.admit("192.0.2.1:1000", now.Add(500*time.Millisecond)); !ok {
		t.Fatal("no token back after 1/rate")
	}
	if newLimiter(0, 3) != nil {
		t.Fatal("rate 0 is no limit")
	}
	if _, ok := (*limiter)(nil).admit("x", now); !ok {
		t.Fatal("no limiter refused")
	}
}

// TestLimiterBounded: the buckets held stay bounded however many clients.
func TestLimiterBounded(t *testing.T) {
	l := newLimiter(1, 1)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range maxClients + 100 {
		l.admit("10.0."+itoa(i>>8)+"."+itoa(i&255), now)
	}
	if n := l.len(); n > maxClients {
		t.Fatalf("%d buckets held, bound %d", n, maxClients)
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// TestConfigValidate names the field at fault.
func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Rate: -1}, "resolver-rate"},
		{Config{Rate: 5}, "resolver-burst"},
		{Config{PublicURL: "ftp://x"}, "resolver-url"},
		{Config{PublicURL: "https://x/"}, "resolver-url"},
		{Config{PublicURL: "https://x/a?b"}, "resolver-url"},
		{Config{PublicURL: "https://a b"}, "resolver-url"},
	} {
		if err := c.cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming %s", c.cfg, err, c.want)
		}
	}
	if err := (Config{PublicURL: "https://verify.example.org/gs1"}).Validate(); err != nil {
		t.Error(err)
	}
}

// TestClaims: the resolver takes Digital Link paths and its own routes,
// never the REST API's.
func TestClaims(t *testing.T) {
	for path, want := range map[string]bool{
		"/01/09506000134352/21/S1":           true,
		"/any/prefix/01/09506000134352/21/1": true,
		"/.well-known/gs1resolver":           true,
		"/resolver/assets/resolver.css":      true,
		"/ARHE4WhIYqEQNy":                    true,
		"/v1/products/01/x":                  false,
		"/epcis/capture/ARHE4WhIYqEQNyAbCd":  false,
		"/epcis/events/01/09506000134352":    false,
		"/ui/packs/01/09506000134352/21/S1":  false,
		"/healthz":                           false,
		"/readyz":                            false,
		"/openapi.json":                      false,
		"/":                                  false,
	} {
		if got := Claims(path); got != want {
			t.Errorf("Claims(%q) = %v", path, got)
		}
	}
}
