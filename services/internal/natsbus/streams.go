package natsbus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedigree-project/pedigree/subjects"
)

// StreamLimits bounds the streams. Zero values mean the defaults below.
type StreamLimits struct {
	// MaxBytes of SCANS; -1 or 0 means unlimited. When reached, new
	// publishes are refused (the stream never drops old records).
	MaxBytes int64
	// MaxMsgSize is the largest write in bytes; 0 means 4 MiB.
	MaxMsgSize int32
	// Duplicates is the window in which a repeated Nats-Msg-Id is stored
	// once; 0 means subjects.DefaultDuplicateWindow. The ledger also deduplicates by
	// event ID for ever, so the window only saves work.
	Duplicates time.Duration
	// Replicas of each stream (1 embedded, 3 or 5 in a cluster); 0 means 1.
	Replicas int
	// AllowPurge creates SCANS so that its head may be purged (stream
	// retention: the messages every node applied and a verified backup
	// holds), marked with RetentionMetadata. It only applies when SCANS is
	// created: JetStream cannot lift an existing stream's deny-purge, and
	// an existing stream that allows purges keeps allowing them (its head
	// may be gone already).
	AllowPurge bool
}

// RetentionMetadata is the key of SCANS's metadata that marks a stream
// created to allow purges (StreamLimits.AllowPurge), with the value
// RetentionAfterBackup: a stream that starts after sequence 1 without it
// lost its head by accident, not to retention.
const RetentionMetadata = "pedigree.retention"

// RetentionAfterBackup is RetentionMetadata's value.
const RetentionAfterBackup = "after-backup"

// Purgeable reports whether cfg is that of a SCANS stream created to
// allow purges: deny-purge off and marked with RetentionMetadata.
func Purgeable(cfg jetstream.StreamConfig) bool {
	return !cfg.DenyPurge && cfg.Metadata[RetentionMetadata] == RetentionAfterBackup
}

// EnsureStreams creates or updates SCANS and DEADLETTER with explicit
// limits. SCANS always denies deletes; it denies purges unless it was
// created with lim.AllowPurge.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, lim StreamLimits) error {
	if lim.MaxBytes == 0 {
		lim.MaxBytes = -1
	}
	if lim.MaxMsgSize == 0 {
		lim.MaxMsgSize = subjects.DefaultMaxMsgSize
	}
	if lim.Duplicates == 0 {
		lim.Duplicates = subjects.DefaultDuplicateWindow
	}
	if lim.Replicas == 0 {
		lim.Replicas = 1
	}
	scans := jetstream.StreamConfig{
		Name:        subjects.ScanStream,
		Description: "Pedigree writes: signed envelopes, the source of truth for ledger order",
		Subjects:    []string{subjects.ScanSubjects},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew,
		MaxMsgs:     -1,
		MaxBytes:    lim.MaxBytes,
		MaxAge:      0,
		MaxMsgSize:  lim.MaxMsgSize,
		Duplicates:  lim.Duplicates,
		Replicas:    lim.Replicas,
		DenyDelete:  true,
		DenyPurge:   !lim.AllowPurge,
	}
	switch st, err := js.Stream(ctx, subjects.ScanStream); {
	case err == nil:
		scans.DenyPurge = !Purgeable(st.CachedInfo().Config)
	case !errors.Is(err, jetstream.ErrStreamNotFound):
		return fmt.Errorf("natsbus: stream %s: %w", subjects.ScanStream, err)
	}
	if !scans.DenyPurge {
		scans.Metadata = map[string]string{RetentionMetadata: RetentionAfterBackup}
	}
	if _, err := js.CreateOrUpdateStream(ctx, scans); err != nil {
		return fmt.Errorf("natsbus: stream %s: %w", subjects.ScanStream, err)
	}
	dead := jetstream.StreamConfig{
		Name:        subjects.DeadLetterStream,
		Description: "Pedigree writes the ledger node could not decode or authenticate, with the reason",
		Subjects:    []string{subjects.DeadLetterSubject},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew,
		MaxMsgs:     -1,
		MaxBytes:    -1,
		DenyDelete:  true,
		DenyPurge:   true,
		MaxMsgSize:  lim.MaxMsgSize + 64<<10,
		Duplicates:  lim.Duplicates,
		Replicas:    lim.Replicas,
	}
	if _, err := js.CreateOrUpdateStream(ctx, dead); err != nil {
		return fmt.Errorf("natsbus: stream %s: %w", subjects.DeadLetterStream, err)
	}
	return nil
}
