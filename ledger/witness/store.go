package witness

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
)

// Store is a witness's durable state: per log origin, the last checkpoint
// note it cosigned. It is a Pebble DB of its own, so one process at a time
// holds it.
//
//	key                   value
//	0x01 ‖ origin         the checkpoint note as the log signed it
type Store struct {
	db *pebble.DB
}

const prefixLatest byte = 0x01

// OpenStore opens (creating if needed) the store in dir; Pebble's errors
// go to logger.
func OpenStore(dir string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		return nil, errors.New("witness: open store: nil logger")
	}
	opts := &pebble.Options{Logger: pebbleLogger{logger}}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("witness: open store %s: %w", dir, err)
	}
	return &Store{db: db}, nil
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

func latestKey(origin string) []byte { return append([]byte{prefixLatest}, origin...) }

// latest returns the stored note of origin, or nil when there is none.
func (s *Store) latest(origin string) ([]byte, error) {
	v, closer, err := s.db.Get(latestKey(origin))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("witness: read state of %q: %w", origin, err)
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

// put replaces the stored note of origin, committed with pebble.Sync.
func (s *Store) put(origin string, note []byte) error {
	if err := s.db.Set(latestKey(origin), note, pebble.Sync); err != nil {
		return fmt.Errorf("witness: store state of %q: %w", origin, err)
	}
	return nil
}

// pebbleLogger drops Pebble's informational lines and logs its errors.
type pebbleLogger struct{ l *slog.Logger }

func (pebbleLogger) Infof(string, ...any) {}
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error("witness store: " + fmt.Sprintf(format, args...))
}

// Fatalf is Pebble's report of a broken invariant: it must not go on.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error("witness store: " + msg)
	panic("witness: pebble: " + msg)
}
