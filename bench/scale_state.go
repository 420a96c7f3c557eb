package bench

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ScaleStateFile is the file, inside the data directory of a scale run
// kept with ScaleConfig.DataDir, that lets a later run resume it: the
// market's parties with their keys and tokens, how far it has grown, and
// the steps measured so far. It holds secrets of the node's parties and
// is written with mode 0600.
const ScaleStateFile = "bench-scale.json"

// scaleStateVersion is the version of the state file's layout.
const scaleStateVersion = 1

// scaleState is the saved state of a scale run, written after every grown
// block and every measured step. Pending names what the run was doing
// when it wrote the state last: the node's data then holds part of it,
// and the run cannot resume.
type scaleState struct {
	Version  int           `json:"version"`
	Settings ScaleSettings `json:"settings"`
	// Retention is ScaleConfig.Retention: the node's serve flags.
	Retention bool        `json:"retention"`
	Pending   string      `json:"pending,omitempty"`
	World     worldState  `json:"world"`
	Market    marketState `json:"market"`
	Pallets   int         `json:"pallets"`
	Events    int64       `json:"events"`
	PackEvs   int64       `json:"pack_events"`
	ShelfCur  int         `json:"shelf_cur"`
	// GrowSeconds is the time grown toward the next step so far.
	GrowSeconds float64     `json:"grow_s"`
	WallSeconds float64     `json:"wall_s"`
	Resumed     int         `json:"resumed"`
	Machine     Machine     `json:"machine"`
	Steps       []ScaleStep `json:"steps"`
}

type partyState struct {
	GLN   string             `json:"gln"`
	Token string             `json:"token"`
	Key   ed25519.PrivateKey `json:"key"`
}

type worldState struct {
	Run      string                 `json:"run"`
	GTIN     string                 `json:"gtin"`
	Lot      string                 `json:"lot"`
	Expiry   string                 `json:"expiry"`
	MfrGLN   string                 `json:"mfr_gln"`
	MfrToken string                 `json:"mfr_token"`
	Pharm    [pharmacies]partyState `json:"pharmacies"`
}

type marketState struct {
	MfrKey    ed25519.PrivateKey `json:"mfr_key"`
	Wholesale partyState         `json:"wholesaler"`
	Lots      []string           `json:"lots"`
}

// snapshot returns the run's state.
func (s *scaleRun) snapshot(pending string) *scaleState {
	st := &scaleState{
		Version: scaleStateVersion, Settings: s.res.Settings, Retention: s.cfg.Retention, Pending: pending,
		Pallets: s.pallets, Events: s.events, PackEvs: s.packEvs, ShelfCur: s.shelfCur,
		GrowSeconds: s.growSeconds, WallSeconds: s.wallSeconds(), Resumed: s.resumed,
		Machine: s.res.Machine, Steps: s.res.Steps,
	}
	w := s.m.world
	st.World = worldState{Run: w.run, GTIN: w.gtin, Lot: w.lot, Expiry: w.expiry, MfrGLN: w.mfrGLN, MfrToken: w.mfrToken}
	for i, p := range w.pharm {
		st.World.Pharm[i] = partyState{GLN: p.gln, Token: p.token, Key: p.key}
	}
	s.m.lotsMu.RLock()
	st.Market = marketState{MfrKey: s.m.mfrKey, Wholesale: partyState{GLN: s.m.whGLN, Token: s.m.whToken, Key: s.m.whKey},
		Lots: slices.Clone(s.m.lots)}
	s.m.lotsMu.RUnlock()
	return st
}

// saveState writes the run's state when it keeps its data directory;
// pending, when set, says what the run starts changing.
func (s *scaleRun) saveState(pending string) error {
	if s.cfg.DataDir == "" || s.m == nil {
		return nil
	}
	b, err := json.MarshalIndent(s.snapshot(pending), "", "  ")
	if err != nil {
		return fmt.Errorf("bench: scale state: %w", err)
	}
	path := filepath.Join(s.cfg.DataDir, ScaleStateFile)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("bench: scale state: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("bench: scale state: %w", err)
	}
	return nil
}

// loadScaleState reads and checks the state file at path; it returns
// nil, nil when there is none.
func loadScaleState(path string) (*scaleState, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bench: scale state: %w", err)
	}
	st, err := parseScaleState(b)
	if err != nil {
		return nil, fmt.Errorf("bench: scale state %s: %w", path, err)
	}
	return st, nil
}

// parseScaleState decodes a state file and checks every field the run
// relies on.
func parseScaleState(b []byte) (*scaleState, error) {
	var st scaleState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, err
	}
	var errs []error
	bad := func(field, rule string) { errs = append(errs, fmt.Errorf("%s: %s", field, rule)) }
	if st.Version != scaleStateVersion {
		bad("version", fmt.Sprintf("must be %d", scaleStateVersion))
	}
	key := func(field string, k ed25519.PrivateKey) {
		if len(k) != ed25519.PrivateKeySize {
			bad(field, fmt.Sprintf("must be an Ed25519 private key of %d bytes", ed25519.PrivateKeySize))
		}
	}
	nonEmpty := func(field, v string) {
		if v == "" {
			bad(field, "must not be empty")
		}
	}
	w := st.World
	// In file order, so that the error reads the same every time.
	for _, fv := range [...][2]string{{"world.run", w.Run}, {"world.gtin", w.GTIN}, {"world.lot", w.Lot}, {"world.expiry", w.Expiry},
		{"world.mfr_gln", w.MfrGLN}, {"world.mfr_token", w.MfrToken}, {"market.wholesaler.gln", st.Market.Wholesale.GLN},
		{"market.wholesaler.token", st.Market.Wholesale.Token}} {
		nonEmpty(fv[0], fv[1])
	}
	for i, p := range w.Pharm {
		nonEmpty(fmt.Sprintf("world.pharmacies[%d].gln", i), p.GLN)
		nonEmpty(fmt.Sprintf("world.pharmacies[%d].token", i), p.Token)
		key(fmt.Sprintf("world.pharmacies[%d].key", i), p.Key)
	}
	key("market.mfr_key", st.Market.MfrKey)
	key("market.wholesaler.key", st.Market.Wholesale.Key)
	if st.Pallets < 0 || st.Pallets > 1<<40/palletPacks {
		bad("pallets", "must be between 0 and 2^40 packs' worth")
	}
	if len(st.Market.Lots)*lotPacks < st.Pallets*palletPacks || len(st.Market.Lots) == 0 {
		bad("market.lots", "must hold a lot for every pack grown")
	}
	if st.Events < int64(st.Pallets)*EventsPerPallet || st.PackEvs < st.Events {
		bad("events", "must count at least the grown pallets' events, and pack_events at least as many")
	}
	if st.ShelfCur < 0 || st.ShelfCur > st.Pallets*palletPacks/shelfEvery {
		bad("shelf_cur", "must be within the shelf packs grown")
	}
	if st.GrowSeconds < 0 || st.WallSeconds < 0 || st.Resumed < 0 {
		bad("grow_s, wall_s, resumed", "must not be negative")
	}
	for i, step := range st.Steps {
		if step.Events > st.Events || (i > 0 && step.Events <= st.Steps[i-1].Events) {
			bad(fmt.Sprintf("steps[%d].events", i), "must increase, up to the events grown")
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &st, nil
}

// restore rebuilds the market from a saved state.
func (s *scaleRun) restore(st *scaleState) {
	w := &world{run: st.World.Run, gtin: st.World.GTIN, lot: st.World.Lot, expiry: st.World.Expiry,
		mfrGLN: st.World.MfrGLN, mfrToken: st.World.MfrToken}
	for i, p := range st.World.Pharm {
		w.pharm[i] = party{gln: p.GLN, token: p.Token, key: p.Key}
	}
	s.m = &market{world: w, mfrKey: st.Market.MfrKey, whGLN: st.Market.Wholesale.GLN, whToken: st.Market.Wholesale.Token,
		whKey: st.Market.Wholesale.Key, lots: st.Market.Lots}
	s.pallets, s.events, s.packEvs, s.shelfCur = st.Pallets, st.Events, st.PackEvs, st.ShelfCur
	s.grown.Store(s.events)
	s.growSeconds, s.wallBefore, s.resumed = st.GrowSeconds, st.WallSeconds, st.Resumed+1
	s.res.Machine, s.res.Steps = st.Machine, st.Steps
}

// checkResume says whether a saved state can go on under cfg: nothing
// was left half done, the node runs as it did, and the steps measured are
// the first of cfg's.
func (st *scaleState) checkResume(cfg ScaleConfig, settings ScaleSettings) error {
	if st.Pending != "" {
		return fmt.Errorf("the run stopped while %s, so the node's data holds part of it and cannot be measured on; start again on a new directory", st.Pending)
	}
	var errs []error
	if st.Retention != cfg.Retention {
		errs = append(errs, fmt.Errorf("scale-retention: the run began with %v", st.Retention))
	}
	was := st.Settings
	if was.PhaseSeconds != settings.PhaseSeconds || was.VerifyRate != settings.VerifyRate || was.VerifyIngestRate != settings.VerifyIngestRate ||
		!slices.Equal(was.Skip, settings.Skip) {
		errs = append(errs, fmt.Errorf("scale-phase, verify-rate, verify-ingest-rate, scale-skip: the run began with %gs, %d, %d and %q",
			was.PhaseSeconds, was.VerifyRate, was.VerifyIngestRate, was.Skip))
	}
	measured := was.Steps[:min(len(st.Steps), len(was.Steps))]
	if len(measured) > len(cfg.Steps) || !slices.Equal(measured, cfg.Steps[:len(measured)]) {
		var words []string
		for _, m := range measured {
			words = append(words, shortValue(float64(m)))
		}
		return errors.Join(append(errs, fmt.Errorf("scale: the run measured %s already; its steps must come first", strings.Join(words, ",")))...)
	}
	for _, target := range cfg.Steps[len(measured):] {
		if target < st.Events {
			errs = append(errs, fmt.Errorf("scale: step %s: the node holds %d events already", shortValue(float64(target)), st.Events))
			break
		}
	}
	return errors.Join(errs...)
}
