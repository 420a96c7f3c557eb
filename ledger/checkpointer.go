package ledger

import (
	"context"
	"errors"
	"time"
)

// A Clock tells the time and makes timers. Tests use a fake one.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives the time after d has elapsed.
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// RunCheckpointer issues checkpoints of l while entries arrive, until ctx
// is done, and passes each new one to publish. After new entries are
// committed it checkpoints at once if the previous checkpoint is at least
// interval old, or else when it becomes so; an idle log gets no new
// checkpoints. So while entries arrive there is a checkpoint at least
// once per interval, and never more often. publish runs on the
// checkpointer's goroutine; it should not block for long.
//
// RunCheckpointer returns nil when ctx is done, or the first error from
// l.Checkpoint. It uses the Clock from l's Options.
func RunCheckpointer(ctx context.Context, l *Log, interval time.Duration, publish func(Checkpoint)) error {
	if interval <= 0 {
		return errors.New("ledger: checkpointer: interval must be positive")
	}
	if l.signer == nil {
		return ErrNoSigner
	}
	var last time.Time // time of the previous checkpoint this run
	var covered uint64 // size it covered
	if cp, err := l.Latest(); err == nil {
		covered = cp.Size
	}
	for {
		grown := l.growth()
		if l.Size() <= covered {
			select {
			case <-ctx.Done():
				return nil
			case <-grown:
				continue
			}
		}
		if !last.IsZero() {
			if wait := last.Add(interval).Sub(l.clock.Now()); wait > 0 {
				select {
				case <-ctx.Done():
					return nil
				case <-l.clock.After(wait):
				}
			}
		}
		cp, err := l.Checkpoint(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		last, covered = l.clock.Now(), cp.Size
		publish(cp)
	}
}
