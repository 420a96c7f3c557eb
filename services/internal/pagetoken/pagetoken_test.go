package pagetoken

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/pedigree-project/pedigree/services/internal/apierr"
)

func wantInvalid(t *testing.T, what string, err error, naming string) {
	t.Helper()
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Code != codes.InvalidArgument || ae.Field != Field || !strings.Contains(ae.Msg, naming) {
		t.Errorf("%s: %v, want InvalidArgument on %s naming %q", what, err, Field, naming)
	}
}

func TestTokenRoundTripAndBinding(t *testing.T) {
	q := For("/pedigree.v1.ProvenanceService/ListAlerts", "4000001000005", "ALERT_CODE_CLONE_SUSPECTED")
	tok := q.Token("17-2")
	if strings.Contains(tok, "17-2") {
		t.Errorf("token %q shows its key", tok)
	}
	key, err := q.After(tok)
	if err != nil || key != "17-2" {
		t.Fatalf("After(Token(17-2)) = %q, %v", key, err)
	}
	if key, err := q.After(""); err != nil || key != "" {
		t.Fatalf("no token: %q, %v", key, err)
	}
	if k, err := q.After(q.Token("")); err != nil || k != "" {
		t.Fatalf("empty key: %q, %v", k, err)
	}
	other := []Query{
		For("/pedigree.v1.ProvenanceService/ListAlerts", "4000001000005", "ALERT_CODE_UNKNOWN_SERIAL"),
		For("/pedigree.v1.ProvenanceService/ListAlerts", "4000002000004", "ALERT_CODE_CLONE_SUSPECTED"),
		For("/pedigree.v1.RegistryService/ListParties", "4000001000005", "ALERT_CODE_CLONE_SUSPECTED"),
		// Length prefixes: the same bytes split differently are another query.
		For("/pedigree.v1.ProvenanceService/ListAlerts", "4000001000005ALERT_CODE_", "CLONE_SUSPECTED"),
	}
	for i, o := range other {
		_, err := o.After(tok)
		wantInvalid(t, "token of another query "+string(rune('0'+i)), err, "another query")
	}
}

func TestTokenRefusesWhatItDidNotEncode(t *testing.T) {
	q := For("m")
	good, _ := base64.RawURLEncoding.DecodeString(q.Token("k"))
	for name, tok := range map[string]string{
		"not base64":     "!!!",
		"padded base64":  base64.URLEncoding.EncodeToString(good[:len(good)-1]),
		"a plain offset": "100",
		"truncated":      base64.RawURLEncoding.EncodeToString(good[:len(good)-1]),
		"trailing byte":  base64.RawURLEncoding.EncodeToString(append(append([]byte(nil), good...), 0x08)),
		"field twice":    base64.RawURLEncoding.EncodeToString(append(append([]byte(nil), good...), good[len(good)-3:]...)),
		"no version":     base64.RawURLEncoding.EncodeToString(good[2:]),
		"other version":  base64.RawURLEncoding.EncodeToString(append([]byte{0x08, 0x02}, good[2:]...)),
		"too long":       strings.Repeat("A", maxToken+1),
	} {
		if _, err := q.After(tok); err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			wantInvalid(t, name, err, "")
		}
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int32]int{0: 100, 1: 1, 1000: 1000} {
		if got, err := Size(n); err != nil || got != want {
			t.Errorf("Size(%d) = %d, %v; want %d", n, got, err, want)
		}
	}
	for _, n := range []int32{-1, 1001} {
		var ae *apierr.Error
		if _, err := Size(n); !errors.As(err, &ae) || ae.Field != "pageSize" {
			t.Errorf("Size(%d): %v, want an error naming pageSize", n, err)
		}
	}
}

func FuzzAfter(f *testing.F) {
	q := For("m", "f")
	f.Add(q.Token("key"))
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		key, err := q.After(tok)
		if err == nil && tok != "" && q.Token(key) == "" {
			t.Fatal("accepted a token it cannot issue")
		}
	})
}
