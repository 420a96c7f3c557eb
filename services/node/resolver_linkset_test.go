package node

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// linksetTarget is one link of a linkset, as RFC 9264 section 4.2 writes it.
type linksetTarget struct {
	Href     string   `json:"href"`
	Title    string   `json:"title"`
	Type     string   `json:"type"`
	HrefLang []string `json:"hreflang"`
}

// readLinkset checks an RFC 9264 JSON linkset of one context and returns
// its anchor and links by relation type.
func readLinkset(t *testing.T, body string) (string, map[string][]linksetTarget) {
	t.Helper()
	var doc map[string][]map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("linkset: %v: %s", err, body)
	}
	if len(doc) != 1 || len(doc["linkset"]) != 1 {
		t.Fatalf("linkset: want one member \"linkset\" with one context object: %s", body)
	}
	var anchor string
	links := map[string][]linksetTarget{}
	for k, v := range doc["linkset"][0] {
		switch k {
		case "anchor":
			if err := json.Unmarshal(v, &anchor); err != nil {
				t.Fatalf("anchor: %v", err)
			}
		case "description":
		default:
			if !strings.HasPrefix(k, "https://gs1.org/voc/") {
				t.Errorf("relation type %q is not a GS1 link type URI", k)
			}
			var ts []linksetTarget
			dec := json.NewDecoder(strings.NewReader(string(v)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&ts); err != nil || len(ts) == 0 {
				t.Fatalf("%s: want an array of targets: %v %s", k, err, v)
			}
			for _, tg := range ts {
				if !strings.HasPrefix(tg.Href, "http://") || tg.Title == "" || tg.Type == "" || len(tg.HrefLang) == 0 {
					t.Errorf("%s: target lacks href, title, type or hreflang: %+v", k, tg)
				}
			}
			links[k] = ts
		}
	}
	if !strings.HasPrefix(anchor, "http://") {
		t.Fatalf("anchor %q", anchor)
	}
	return anchor, links
}

// TestResolverLinkset: the GS1 resolver linkset of genuine, unknown and
// recalled packs, linkType answers, the batch's recall status and the
// resolver description.
func TestResolverLinkset(t *testing.T) {
	f := newResolverFixture(t)
	g := "/01/" + apiGTIN
	get := func(path, accept string, status int) (*http.Response, string) {
		t.Helper()
		resp, body := resolverGet(t, f.base+path, accept)
		if resp.StatusCode != status {
			t.Fatalf("GET %s = %d, want %d: %s", path, resp.StatusCode, status, body)
		}
		for _, gln := range f.glns {
			if strings.Contains(body, gln) {
				t.Errorf("GET %s names %q", path, gln)
			}
		}
		return resp, body
	}
	const (
		dflt   = "https://gs1.org/voc/defaultLink"
		verify = "https://gs1.org/voc/verificationService"
		pip    = "https://gs1.org/voc/pip"
		recall = "https://gs1.org/voc/recallStatus"
	)

	// Genuine: every link, anchored at the pack's canonical Digital Link.
	resp, body := get("/qr"+g+"/21/S1?10=L1&17=281200", "application/linkset+json", 200)
	if ct := resp.Header.Get("Content-Type"); ct != "application/linkset+json" {
		t.Errorf("Content-Type %q", ct)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(resp.Header.Get("Link"), `rel="`+verify+`"`) {
		t.Errorf("headers: %v", resp.Header)
	}
	anchor, links := readLinkset(t, body)
	if anchor != f.base+g+"/10/L1/21/S1" {
		t.Errorf("anchor %q", anchor)
	}
	for _, rel := range []string{dflt, verify, pip, recall} {
		if len(links[rel]) != 1 {
			t.Errorf("no %s link: %s", rel, body)
		}
	}
	page := f.base + g + "/10/L1/21/S1?17=281200"
	if links[dflt][0].Href != page || links[verify][0].Href != page || links[verify][0].Type != "text/html" ||
		links[pip][0].Href != page+"#product" || !strings.Contains(links[pip][0].Title, "Paracetamol") ||
		links[recall][0].Type != "application/json" {
		t.Errorf("links: %s", body)
	}
	// linkType=all is the same linkset, whatever the Accept header.
	if _, all := get(g+"/10/L1/21/S1?17=281200&linkType=all", "text/html", 200); all != body {
		t.Errorf("linkType=all:\n%s\nwant\n%s", all, body)
	}
	// A linkType redirects (307) to that link; one the item lacks, to the default link.
	for lt, want := range map[string]string{"gs1:recallStatus": links[recall][0].Href, "gs1:pip": page + "#product",
		"https://gs1.org/voc/verificationService": page, "gs1:epil": page} {
		resp, _ := get(g+"/10/L1/21/S1?17=281200&linkType="+lt, "", http.StatusTemporaryRedirect)
		if loc := resp.Header.Get("Location"); loc != want {
			t.Errorf("linkType=%s: Location %q, want %q", lt, loc, want)
		}
	}
	_, st := get(strings.TrimPrefix(links[recall][0].Href, f.base), "", 200)
	if !strings.Contains(st, `"status": "not recalled"`) || !strings.Contains(st, `"recalled": false`) {
		t.Errorf("recall status of L1: %s", st)
	}

	// Recalled: its recall status link says so.
	_, body = get(g+"/10/L2/21/R1?17=281000", "application/linkset+json", 200)
	_, links = readLinkset(t, body)
	if len(links[recall]) != 1 {
		t.Fatalf("recalled pack has no recallStatus link: %s", body)
	}
	_, st = get(strings.TrimPrefix(links[recall][0].Href, f.base), "application/json", 200)
	if !strings.Contains(st, `"status": "recalled"`) || !strings.Contains(st, `"recalled": true`) {
		t.Errorf("recall status of L2: %s", st)
	}

	// Unknown product: the verification links only (which say "unknown").
	_, body = get("/01/09506000134376/10/L1/21/S1?17=281200", "application/json", 200)
	_, links = readLinkset(t, body)
	if len(links[verify]) != 1 || len(links[pip]) != 0 || len(links[recall]) != 0 {
		t.Errorf("unknown product's links: %s", body)
	}
	// Unreadable codes get a JSON error.
	if _, body = get("/01/09506000134353/21/S1", "application/linkset+json", 400); !strings.Contains(body, `"error"`) {
		t.Errorf("bad GTIN: %s", body)
	}
	get("/resolver/recall-status/01/"+apiGTIN+"/21/S1", "", 400)

	// The resolver description.
	resp, body = get("/.well-known/gs1resolver", "", 200)
	var desc struct {
		Name              string   `json:"name"`
		ResolverRoot      string   `json:"resolverRoot"`
		SupportedKeys     []string `json:"supportedPrimaryKeys"`
		SupportedLinkType []struct {
			Namespace, Prefix string
		} `json:"supportedLinkType"`
		LinksetDefault *bool `json:"linkTypeDefaultCanBeLinkset"`
	}
	if err := json.Unmarshal([]byte(body), &desc); err != nil || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("description: %v %s", err, body)
	}
	if desc.Name == "" || desc.ResolverRoot != f.base || len(desc.SupportedKeys) != 1 || desc.SupportedKeys[0] != "01" ||
		len(desc.SupportedLinkType) != 1 || desc.SupportedLinkType[0].Prefix != "gs1:" || desc.LinksetDefault == nil {
		t.Errorf("description: %s", body)
	}
}

// TestResolverRateLimit: a client over its burst gets 429 with
// Retry-After; the REST API's own limits are not charged by it.
func TestResolverRateLimit(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Resolver.Rate, cfg.Resolver.Burst = 0.01, 3 // a token per 100 s: none comes back during the test
	n := startNode(t, cfg)
	defer shutdown(t, n)
	url := "http://" + n.HTTPAddr() + "/01/" + apiGTIN + "/10/L1/21/S1?17=281200"
	for i := range 3 {
		if resp, body := resolverGet(t, url, "text/html"); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
	}
	resp, body := resolverGet(t, url, "text/html")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the burst: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if resp, _ := resolverGet(t, "http://"+n.HTTPAddr()+"/.well-known/gs1resolver", ""); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the description is limited too: %d", resp.StatusCode)
	}
	if resp, _ := resolverGet(t, "http://"+n.HTTPAddr()+"/healthz", ""); resp.StatusCode != 200 {
		t.Errorf("/healthz after the resolver's limit: %d", resp.StatusCode)
	}
}
