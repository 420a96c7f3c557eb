package ingest

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Panics. No message may stop the node, and none may be skipped silently.
// A panic while the pipeline handles one message (decoding, the signature
// check, validation, the rules, encoding its entry) is caught and the
// message becomes a dead letter with the reason "internal error: <panic>":
//
//   - The batch the message was in is built again from scratch, with that
//     message marked, so that nothing it half did (state writes in the
//     overlay, keys in the Pebble batch) survives: the dead letter is
//     stored, like any other, before the batch is acknowledged, and the
//     other messages of the batch get exactly the outcome they would have
//     had without it. This keeps the exactly-once contract of doc.go.
//   - A panic is a function of the code, the state before the message and
//     the message, so two nodes running the same code reach the same dead
//     letter: the ledger stays a function of the stream.
//
// A panic raised inside Pebble (a frame of the storage engine between the
// panic and the pipeline) says nothing about the message: the storage is
// broken, so the pipeline stops with an error (the node turns not ready)
// rather than blame the message, and nothing of the batch is acknowledged.
// So does a panic that cannot be tied to one message (committing,
// acknowledging): the messages are redelivered after a restart.

// panicError is a recovered panic.
type panicError struct {
	value   any
	storage bool   // raised inside Pebble
	stack   []byte // for the log
}

func (e *panicError) Error() string {
	if e.storage {
		return fmt.Sprintf("ingest: storage engine panic: %v", e.value)
	}
	return fmt.Sprintf("internal error: %v", e.value)
}

// reason is the dead-letter reason of a message whose handling panicked.
func (e *panicError) reason() string { return fmt.Sprintf("internal error: %v", e.value) }

// recovered turns r, a value recover returned in a function deferred by
// the function that caught the panic, into a panicError. It must be
// called by that deferred function directly: it reads the stack of the
// panic, which is still there while deferred functions run.
func recovered(r any) *panicError {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(3, pcs) // runtime.Callers, recovered, the deferred function
	frames := runtime.CallersFrames(pcs[:n])
	e := &panicError{value: r, stack: debug.Stack()}
	panicking := false
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic":
			panicking = true
		case panicking && strings.HasPrefix(f.Function, "github.com/cockroachdb/pebble"):
			e.storage = true
		}
		if !more || e.storage {
			break
		}
	}
	return e
}

// poisoned marks items[i] as a message whose handling panicked: the next
// build of its batch sends it to the dead-letter stream.
func (p *Pipeline) poisoned(it *item, e *panicError) {
	it.poison = e.reason()
	p.log.Error("message handling panicked: it goes to the dead-letter stream", "seq", it.seq, "subject", it.subject,
		"panic", fmt.Sprint(e.value), "stack", string(e.stack))
}

// errRebuild reports that a batch must be built again: a message of it has
// just been marked as poisoned.
var errRebuild = errors.New("ingest: rebuild the batch without the message that panicked")

// handleSafely is handle, with a panic caught: it returns errRebuild after
// marking the message, or a storage panic as an error.
func (p *Pipeline) handleSafely(w *batchWork, it *item) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = p.caught(it, recovered(r))
		}
	}()
	p.handle(w, it)
	return nil
}

// caught decides what a panic while handling it becomes: a storage panic
// is an error that stops the pipeline; any other poisons the message.
func (p *Pipeline) caught(it *item, e *panicError) error {
	if e.storage || it == nil {
		p.log.Error("panic in the write path", "panic", fmt.Sprint(e.value), "stack", string(e.stack))
		return e
	}
	p.poisoned(it, e)
	return errRebuild
}
