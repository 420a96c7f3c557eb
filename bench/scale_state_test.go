package bench

import (
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"
)

// validState returns a state file a run could have written after growing
// two pallets.
func validState(t testing.TB) map[string]any {
	t.Helper()
	key := func() []byte {
		_, k, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	st := scaleState{Version: scaleStateVersion, Pallets: 2, Events: 2 * EventsPerPallet, PackEvs: 2 * PackEventsPerPallet, ShelfCur: 10,
		World:  worldState{Run: "123456", GTIN: "09520000000000", Lot: "BENCH123456", Expiry: "291200", MfrGLN: "9520000000001", MfrToken: "pdg_m"},
		Market: marketState{MfrKey: key(), Wholesale: partyState{GLN: "9520000000002", Token: "pdg_w", Key: key()}, Lots: []string{"BENCH123456"}}}
	for i := range st.World.Pharm {
		st.World.Pharm[i] = partyState{GLN: "952000000001" + string(rune('0'+i)), Token: "pdg_p", Key: key()}
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestParseScaleStateNamesTheField checks that a state file the run did
// not write as it should is refused with the field and the rule.
func TestParseScaleStateNamesTheField(t *testing.T) {
	b, err := json.Marshal(validState(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseScaleState(b); err != nil {
		t.Fatalf("a valid state: %v", err)
	}
	for name, tc := range map[string]struct {
		edit func(m map[string]any)
		want string
	}{
		"version":   {func(m map[string]any) { m["version"] = 7 }, "version: must be 1"},
		"short key": {func(m map[string]any) { m["market"].(map[string]any)["mfr_key"] = "AAAA" }, "market.mfr_key: must be an Ed25519 private key"},
		"no token": {func(m map[string]any) {
			m["world"].(map[string]any)["pharmacies"].([]any)[1].(map[string]any)["token"] = ""
		}, "world.pharmacies[1].token: must not be empty"},
		"no lots":    {func(m map[string]any) { m["market"].(map[string]any)["lots"] = []any{} }, "market.lots: must hold a lot"},
		"few events": {func(m map[string]any) { m["events"] = 3 }, "events: must count at least"},
		"past shelf": {func(m map[string]any) { m["shelf_cur"] = 41 }, "shelf_cur: must be within"},
		"negative":   {func(m map[string]any) { m["pallets"] = -1 }, "pallets: must be between"},
		"steps order": {func(m map[string]any) {
			m["steps"] = []any{map[string]any{"events": 500}, map[string]any{"events": 400}}
		}, "steps[1].events: must increase"},
	} {
		t.Run(name, func(t *testing.T) {
			m := validState(t)
			tc.edit(m)
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := parseScaleState(b); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestCheckResume checks which commands may go on with a saved state.
func TestCheckResume(t *testing.T) {
	st := &scaleState{Settings: ScaleSettings{Steps: []int64{20_000, 40_000}, PhaseSeconds: 1, VerifyRate: 100, VerifyIngestRate: 10},
		Events: 25_000, Steps: []ScaleStep{{Events: 20_100}}}
	cfg := ScaleConfig{Steps: []int64{20_000, 40_000, 80_000}}
	same := st.Settings
	if err := st.checkResume(cfg, same); err != nil {
		t.Errorf("a longer run with the same settings: %v", err)
	}
	for name, tc := range map[string]struct {
		cfg      ScaleConfig
		settings func(*ScaleSettings)
		pending  string
		want     string
	}{
		"pending":     {cfg, nil, "measuring step 40k", "stopped while measuring step 40k"},
		"retention":   {ScaleConfig{Steps: cfg.Steps, Retention: true}, nil, "", "scale-retention: the run began with false"},
		"rate":        {cfg, func(s *ScaleSettings) { s.VerifyRate = 5 }, "", "verify-rate"},
		"other steps": {ScaleConfig{Steps: []int64{10_000, 40_000}}, nil, "", "the run measured 20k already"},
		"step behind": {ScaleConfig{Steps: []int64{20_000, 22_000}}, nil, "", "step 22k: the node holds 25000 events already"},
		"fewer steps": {ScaleConfig{Steps: []int64{}}, nil, "", "the run measured 20k already"},
	} {
		t.Run(name, func(t *testing.T) {
			st := *st
			st.Pending = tc.pending
			s := same
			if tc.settings != nil {
				tc.settings(&s)
			}
			if err := st.checkResume(tc.cfg, s); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// FuzzParseScaleState holds the state reader to refusing, never
// panicking, on any file.
func FuzzParseScaleState(f *testing.F) {
	b, err := json.Marshal(validState(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"version":1,"pallets":1e300}`))
	f.Add([]byte(`{"steps":[{"events":-1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseScaleState(b)
		if err == nil && (st.Pallets < 0 || len(st.Market.MfrKey) != ed25519.PrivateKeySize) {
			t.Errorf("accepted %+v", st)
		}
	})
}
