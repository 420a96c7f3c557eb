package ledger

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// A Checkpoint is a signed statement of the log's size and root hash: a
// C2SP tlog-checkpoint body
//
//	<origin>\n
//	<size in decimal>\n
//	<root hash in standard base64>\n
//
// signed as a signed note (golang.org/x/mod/sumdb/note) with an Ed25519 key.
// Anyone holding it and the verifier key can check inclusion and
// consistency proofs against Root with standard RFC 6962 code.
type Checkpoint struct {
	// Seq numbers the stored checkpoints of a log: 0, 1, 2, …
	Seq uint64
	// Origin is the log's origin line.
	Origin string
	// Size is the number of entries the checkpoint covers.
	Size uint64
	// Root is the Merkle tree root hash of the first Size entries.
	Root tlog.Hash
	// Note is the signed note, exactly as stored and published.
	Note []byte
	// VerifierKey is the note verifier key ("name+hash+key") that checks
	// the signature; empty if the log was opened without one.
	VerifierKey string
}

// checkpointText formats a C2SP checkpoint body.
func checkpointText(origin string, size uint64, root tlog.Hash) string {
	return origin + "\n" + strconv.FormatUint(size, 10) + "\n" + base64.StdEncoding.EncodeToString(root[:]) + "\n"
}

// ParseCheckpoint checks the signature of a signed checkpoint note with v
// and parses its body. Extension lines after the root hash are allowed and
// ignored. The returned Checkpoint has Seq 0 and no VerifierKey.
func ParseCheckpoint(msg []byte, v note.Verifier) (Checkpoint, error) {
	if v == nil {
		return Checkpoint{}, errors.New("ledger: checkpoint: nil verifier")
	}
	cp, _, err := OpenCheckpoint(msg, note.VerifierList(v))
	return cp, err
}

// OpenCheckpoint checks the signatures of a signed checkpoint note with
// known, as note.Open does (at least one must verify, signatures by
// unknown keys are ignored, a bad one by a known key fails), and parses
// its body. The note lists the verified signatures, one per key.
func OpenCheckpoint(msg []byte, known note.Verifiers) (Checkpoint, *note.Note, error) {
	if known == nil {
		return Checkpoint{}, nil, errors.New("ledger: checkpoint: no verifiers")
	}
	n, err := note.Open(msg, known)
	if err != nil {
		return Checkpoint{}, nil, fmt.Errorf("ledger: checkpoint: %w", err)
	}
	cp, err := parseCheckpointText(msg, n.Text)
	if err != nil {
		return Checkpoint{}, nil, err
	}
	return cp, n, nil
}

// CheckpointText returns the C2SP checkpoint body of origin, size and
// root: the text a signed checkpoint note signs.
func CheckpointText(origin string, size uint64, root tlog.Hash) string {
	return checkpointText(origin, size, root)
}

// ParseUnverifiedCheckpoint parses a signed checkpoint note without
// checking any signature: for a note whose signatures were checked when it
// was received, or to learn the origin that says which keys check it.
func ParseUnverifiedCheckpoint(msg []byte) (Checkpoint, error) {
	return parseCheckpointNote(msg, nil)
}

// parseCheckpointNote parses a stored note, checking its signature when v
// is not nil.
func parseCheckpointNote(msg []byte, v note.Verifier) (Checkpoint, error) {
	if v != nil {
		return ParseCheckpoint(msg, v)
	}
	_, err := note.Open(msg, nil)
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		return Checkpoint{}, fmt.Errorf("ledger: checkpoint: %w", err)
	}
	return parseCheckpointText(msg, unverified.Note.Text)
}

func parseCheckpointText(msg []byte, text string) (Checkpoint, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 || lines[0] == "" {
		return Checkpoint{}, errors.New("ledger: checkpoint: want origin, size and root lines")
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("ledger: checkpoint: bad size %q", lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("ledger: checkpoint: bad root hash %q", lines[2])
	}
	cp := Checkpoint{Origin: lines[0], Size: size, Note: msg}
	copy(cp.Root[:], root)
	return cp, nil
}

// Checkpoint signs a checkpoint of the current committed size, stores it
// (committed with pebble.Sync) and returns it. If the latest stored
// checkpoint already has this size, Checkpoint returns that one instead.
func (l *Log) Checkpoint(ctx context.Context) (Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return Checkpoint{}, err
	}
	if l.signer == nil {
		return Checkpoint{}, ErrNoSigner
	}
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	size, root := l.Head()
	latest, err := l.Latest()
	switch {
	case err == nil && latest.Size == size:
		return latest, nil
	case err == nil && latest.Size > size:
		return Checkpoint{}, fmt.Errorf("%w: checkpoint %d has size %d beyond log size %d", ErrCorrupt, latest.Seq, latest.Size, size)
	case err != nil && !errors.Is(err, ErrNoCheckpoint):
		return Checkpoint{}, err
	}
	var seq uint64
	if err == nil {
		seq = latest.Seq + 1
	}
	msg, err := note.Sign(&note.Note{Text: checkpointText(l.origin, size, root)}, l.signer)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("ledger: sign checkpoint: %w", err)
	}
	b := l.db.NewBatch()
	defer b.Close()
	if err := b.Set(checkpointKey(seq), msg, nil); err != nil {
		return Checkpoint{}, fmt.Errorf("ledger: store checkpoint: %w", err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return Checkpoint{}, fmt.Errorf("ledger: store checkpoint: %w", err)
	}
	cp := Checkpoint{Seq: seq, Origin: l.origin, Size: size, Root: root, Note: msg, VerifierKey: l.vkey}
	l.mu.Lock()
	l.latest = &cp
	l.mu.Unlock()
	return cp, nil
}

// Latest returns the latest stored checkpoint, or ErrNoCheckpoint.
func (l *Log) Latest() (Checkpoint, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.latest == nil {
		return Checkpoint{}, ErrNoCheckpoint
	}
	return *l.latest, nil
}

// ReadCheckpoint returns the stored checkpoint with sequence number seq,
// or ErrNoCheckpoint.
func (l *Log) ReadCheckpoint(ctx context.Context, seq uint64) (Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return Checkpoint{}, err
	}
	msg, err := getCopy(l.db, checkpointKey(seq))
	if errors.Is(err, pebble.ErrNotFound) {
		return Checkpoint{}, fmt.Errorf("%w: seq %d", ErrNoCheckpoint, seq)
	}
	if err != nil {
		return Checkpoint{}, err
	}
	return l.storedCheckpoint(seq, msg)
}

// Checkpoints calls fn for each stored checkpoint with Seq ≥ from, in
// order, and stops at the first error fn returns.
func (l *Log) Checkpoints(ctx context.Context, from uint64, fn func(Checkpoint) error) error {
	lo, hi := prefixBounds(prefixCheckpoint)
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("ledger: checkpoints: %w", err)
	}
	defer it.Close()
	for ok := it.SeekGE(checkpointKey(from)); ok; ok = it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		seq, _ := checkpointSeq(it.Key())
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("ledger: checkpoint %d: %w", seq, err)
		}
		cp, err := l.storedCheckpoint(seq, append([]byte(nil), v...))
		if err != nil {
			return err
		}
		if err := fn(cp); err != nil {
			return err
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("ledger: checkpoints: %w", err)
	}
	return nil
}

func (l *Log) storedCheckpoint(seq uint64, msg []byte) (Checkpoint, error) {
	cp, err := parseCheckpointNote(msg, l.verifier)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint %d: %w", ErrCorrupt, seq, err)
	}
	if cp.Origin != l.origin {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint %d has origin %q, log has %q", ErrCorrupt, seq, cp.Origin, l.origin)
	}
	cp.Seq, cp.VerifierKey = seq, l.vkey
	return cp, nil
}

// lastCheckpoint reads the stored checkpoint with the highest sequence.
func (l *Log) lastCheckpoint() (*Checkpoint, error) {
	lo, hi := prefixBounds(prefixCheckpoint)
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, fmt.Errorf("ledger: open: %w", err)
	}
	defer it.Close()
	if !it.Last() {
		return nil, it.Error()
	}
	seq, ok := checkpointSeq(it.Key())
	if !ok {
		return nil, fmt.Errorf("%w: bad checkpoint key %x", ErrCorrupt, it.Key())
	}
	cp, err := l.storedCheckpoint(seq, append([]byte(nil), it.Value()...))
	if err != nil {
		return nil, err
	}
	return &cp, nil
}
