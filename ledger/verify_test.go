package ledger

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

const (
	tamperHeight = 4 // tiles of 16 hashes: several tile levels in 1000 entries
	tamperSize   = 1000
)

// tamperFixture is a log of 1000 entries appended in batches of 100 with a
// checkpoint after each batch: checkpoint k has size 100(k+1).
func tamperFixture(t *testing.T) *testEnv {
	e := newEnv(t)
	l := e.open(tamperHeight)
	for i := 0; i < tamperSize; i += 100 {
		mustAppend(t, l, testEntries(i, i+100))
		if _, err := l.Checkpoint(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	e.mustVerify()
	return e
}

// forgedLog builds, in a scratch DB, the log an attacker would compute for
// entries, and returns its entry and tile keys and its size value.
func forgedLog(t *testing.T, entries [][]byte) map[string]string {
	f := newEnv(t)
	mustAppend(t, f.open(tamperHeight), entries)
	out := map[string]string{}
	for k, v := range dump(t, f.db) {
		if k[0] == 0x01 || k[0] == 0x02 || k == string(rawSizeKey) {
			out[k] = v
		}
	}
	return out
}

// replaceTree deletes all entries and tiles and writes the forged ones.
func replaceTree(b *pebble.Batch, forged map[string]string) {
	_ = b.DeleteRange([]byte{0x01}, []byte{0x03}, nil)
	for k, v := range forged {
		_ = b.Set([]byte(k), []byte(v), nil)
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(t *testing.T, e *testEnv)
		want   string // exact error, or prefix ending in "…"
		index  uint64
	}{
		{
			name: "byte flipped in entry",
			tamper: func(t *testing.T, e *testEnv) {
				v := e.get(rawEntryKey(41))
				v[32+3] ^= 0x01
				e.edit(func(b *pebble.Batch) { _ = b.Set(rawEntryKey(41), v, nil) })
			},
			want: "ledger: entry 41: chain hash mismatch", index: 41,
		},
		{
			name: "entry deleted",
			tamper: func(t *testing.T, e *testEnv) {
				e.edit(func(b *pebble.Batch) { _ = b.Delete(rawEntryKey(7), nil) })
			},
			want: "ledger: entry 7: missing (next stored entry is 8)", index: 7,
		},
		{
			name: "malformed key among the entries",
			tamper: func(t *testing.T, e *testEnv) {
				e.edit(func(b *pebble.Batch) { _ = b.Set(append(rawEntryKey(500), 0x00), []byte("x"), nil) })
			},
			want: "ledger: entry 501: malformed key …", index: 501,
		},
		{
			name: "entries swapped",
			tamper: func(t *testing.T, e *testEnv) {
				a, b := e.get(rawEntryKey(100)), e.get(rawEntryKey(200))
				e.edit(func(bt *pebble.Batch) {
					_ = bt.Set(rawEntryKey(100), b, nil)
					_ = bt.Set(rawEntryKey(200), a, nil)
				})
			},
			want: "ledger: entry 100: chain hash mismatch", index: 100,
		},
		{
			name: "leaf hash in tile altered",
			tamper: func(t *testing.T, e *testEnv) {
				v := e.get(rawTileKey(0, 3))
				v[12*32] ^= 0x80 // hash 12 of tile L0/N3: leaf 3·16+12 = 60
				e.edit(func(b *pebble.Batch) { _ = b.Set(rawTileKey(0, 3), v, nil) })
			},
			want: "ledger: tile L0/N3: hash at index 60 differs", index: 60,
		},
		{
			name: "interior hash in tile altered",
			tamper: func(t *testing.T, e *testEnv) {
				v := e.get(rawTileKey(1, 0))
				v[2*32+31] ^= 0x01 // hash 2 of tile L1/N0: level 4, leaves 32…47
				e.edit(func(b *pebble.Batch) { _ = b.Set(rawTileKey(1, 0), v, nil) })
			},
			want: "ledger: tile L1/N0: hash at level 4 covering entries from 32 differs", index: 32,
		},
		{
			name: "tile deleted",
			tamper: func(t *testing.T, e *testEnv) {
				e.edit(func(b *pebble.Batch) { _ = b.Delete(rawTileKey(0, 5), nil) })
			},
			want: "ledger: tile L0/N5: missing", index: 80,
		},
		{
			name: "log truncated behind a checkpoint",
			tamper: func(t *testing.T, e *testEnv) {
				forged := forgedLog(t, testEntries(0, 900))
				e.edit(func(b *pebble.Batch) { replaceTree(b, forged) })
			},
			want: "ledger: checkpoint 9 (size 1000): log has only 900 entries (truncated)", index: 900,
		},
		{
			name: "entries deleted and size lowered, tiles left",
			tamper: func(t *testing.T, e *testEnv) {
				e.edit(func(b *pebble.Batch) {
					_ = b.DeleteRange(rawEntryKey(950), rawEntryKey(tamperSize), nil)
					_ = b.Set(rawSizeKey, rawEntryKey(950)[1:], nil)
				})
			},
			want: "ledger: checkpoint 9 (size 1000): log has only 950 entries (truncated)", index: 950,
		},
		{
			name: "history rewritten consistently after a checkpoint",
			tamper: func(t *testing.T, e *testEnv) {
				entries := testEntries(0, tamperSize)
				entries[550] = []byte("forged")
				forged := forgedLog(t, entries)
				e.edit(func(b *pebble.Batch) { replaceTree(b, forged) })
			},
			want: "ledger: checkpoint 5 (size 600): root hash …", index: 600,
		},
		{
			name: "checkpoint signature does not verify",
			tamper: func(t *testing.T, e *testEnv) {
				msg := e.get(rawCheckpointKey(5))
				i := bytes.LastIndexByte(msg[:len(msg)-1], ' ')
				sig, err := base64.StdEncoding.DecodeString(string(msg[i+1 : len(msg)-1]))
				if err != nil {
					t.Fatal(err)
				}
				sig[len(sig)-1] ^= 0x01
				bad := append(append(msg[:i+1:i+1], base64.StdEncoding.EncodeToString(sig)...), '\n')
				e.edit(func(b *pebble.Batch) { _ = b.Set(rawCheckpointKey(5), bad, nil) })
			},
			want: "ledger: checkpoint 5 (size 600): bad signature: …", index: 600,
		},
		{
			name: "size metadata beyond the entries",
			tamper: func(t *testing.T, e *testEnv) {
				e.edit(func(b *pebble.Batch) { _ = b.Set(rawSizeKey, rawEntryKey(1005)[1:], nil) })
			},
			want: "ledger: entry 1000: missing (size metadata says 1005 entries)", index: 1000,
		},
		{
			name: "tile stored beyond the end",
			tamper: func(t *testing.T, e *testEnv) {
				e.edit(func(b *pebble.Batch) { _ = b.Set(rawTileKey(0, 99), make([]byte, 32), nil) })
			},
			want: "ledger: tile L0/N99: stored beyond the end of the log (1000 entries)", index: 1000,
		},
	}
	// The entries are read in ranges by several readers: each case runs
	// with the default split, and with ranges of a few entries read by
	// more readers than cores, so that every problem lands in some
	// reader's range, not the first.
	for _, shape := range []scanShape{{}, {rangeEntries: 7, readers: 3}, {rangeEntries: 64, readers: 2}} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/ranges=%d,readers=%d", c.name, shape.rangeEntries, shape.readers), func(t *testing.T) {
				e := tamperFixture(t)
				c.tamper(t, e)
				_, err := verifyEntries(context.Background(), e.db, e.verifier, nil, nil, shape)
				if err == nil {
					t.Fatal("Verify passed a tampered ledger")
				}
				if want, ok := strings.CutSuffix(c.want, "…"); ok {
					if !strings.HasPrefix(err.Error(), want) {
						t.Fatalf("Verify: %v\nwant prefix: %s", err, want)
					}
				} else if err.Error() != c.want {
					t.Fatalf("Verify: %v\nwant:        %s", err, c.want)
				}
				var ve *VerifyError
				if !errors.As(err, &ve) || !errors.Is(err, ErrCorrupt) || ve.Index != c.index {
					t.Fatalf("error %#v: want *VerifyError matching ErrCorrupt with index %d", err, c.index)
				}
			})
		}
	}
}

func TestVerifyReport(t *testing.T) {
	e := tamperFixture(t)
	l := e.open(0)
	var calls, last uint64
	r, err := Verify(context.Background(), e.db, e.verifier, func(done, total uint64) {
		calls++
		if total != tamperSize || done < last {
			t.Errorf("progress(%d, %d) after %d", done, total, last)
		}
		last = done
	})
	if err != nil {
		t.Fatal(err)
	}
	_, root := l.Head()
	if r.Entries != tamperSize || r.Root != root || r.Checkpoints != 10 || r.TileHeight != tamperHeight || r.Origin != testOrigin {
		t.Fatalf("report %+v", r)
	}
	if calls == 0 || last != tamperSize {
		t.Fatalf("progress: %d calls, last %d", calls, last)
	}
	if r.Rate() <= 0 {
		t.Fatalf("rate %v", r.Rate())
	}

	// A verifier for another key rejects the checkpoints.
	other := newEnv(t)
	if _, err := Verify(context.Background(), e.db, other.verifier, nil); err == nil || !strings.Contains(err.Error(), "checkpoint 0 (size 100): bad signature") {
		t.Fatalf("Verify with another key: %v", err)
	}
	// An empty DB holds no ledger.
	if _, err := Verify(context.Background(), other.db, other.verifier, nil); err == nil {
		t.Fatal("Verify of an empty DB succeeded")
	}
	// An empty ledger verifies.
	l0, err := Open(other.db, other.opts(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l0.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := other.mustVerify(); r.Entries != 0 || r.Checkpoints != 1 {
		t.Fatalf("empty ledger report %+v", r)
	}
}

// TestVerifyEntriesChecksEachEntry checks that VerifyEntries hands every
// entry's bytes to the check in order and fails on the entry it refuses,
// naming it and keeping the check's error.
func TestVerifyEntriesChecksEachEntry(t *testing.T) {
	e := newEnv(t)
	l := e.open(2)
	want := [][]byte{[]byte("a"), []byte("bad"), []byte("c")}
	if _, err := l.Append(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	var seen []string
	errBad := errors.New("refused")
	_, err := VerifyEntries(context.Background(), e.db, e.verifier, nil, func(i uint64, data []byte) error {
		seen = append(seen, fmt.Sprint(i, string(data)))
		if string(data) == "bad" {
			return errBad
		}
		return nil
	})
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Index != 1 || !errors.Is(err, errBad) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("VerifyEntries: %v", err)
	}
	if fmt.Sprint(seen) != "[0a 1bad]" {
		t.Errorf("checked %v", seen)
	}
	rep, err := VerifyEntries(context.Background(), e.db, e.verifier, nil, func(uint64, []byte) error { return nil })
	if err != nil || rep.Entries != 3 {
		t.Fatalf("VerifyEntries: %v, %d entries", err, rep.Entries)
	}
}
