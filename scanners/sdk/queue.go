package sdk

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// queue is the store-and-forward queue: an append-only log of records in
// segment files under dir, and an ack file saying how far the records are
// released (their node-signed outcomes arrived). See record.go for the
// format. One writer appends; one forwarder reads the records in order
// through a cursor (read); any goroutine releases them, in any order.
type queue struct {
	dir     string
	segSize int64
	maxAck  int64 // size at which the ack file is rewritten
	log     *slog.Logger

	mu            sync.Mutex
	lock          *os.File   // holds the directory lock
	segs          []*segment // segs[0] holds the head; the last one is active
	w             *os.File   // active segment, opened for appending
	ackf          *os.File
	ackSize       int64
	acked         uint64   // highest released sequence number: the ack file's last entry
	next          uint64   // sequence number of the next append
	headOff       int64    // offset of the first unreleased record in segs[0]
	cur           *segment // segment of the read cursor
	curOff        int64    // offset of the read cursor in cur
	reading       []span   // records read returned and not yet passed by the head, in order
	pendingMsgs   int
	pendingEvents int
	changed       chan struct{} // closed and replaced on every change
	err           error         // sticky: a failed fsync leaves the queue unusable
	buf           []byte
}

// span is a record read has returned, as the head needs it to move on.
type span struct {
	seq      uint64
	frame    int
	events   int
	released bool
}

type segment struct {
	first uint64 // from the file name
	path  string
	size  int64
	r     *os.File // read handle, opened on demand
}

// maxAckFile is the size at which the ack file is rewritten to one entry.
// At 64 KiB that is once every 5,461 acknowledgements.
const maxAckFile = 64 << 10

// openQueue opens (creating if needed) the queue in dir, recovering from a
// crash: a torn last record is truncated, a corrupt record is moved aside to
// a ".corrupt" file and the records after it are kept.
func openQueue(dir string, segSize int64, log *slog.Logger) (*queue, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sdk: queue: %w", err)
	}
	lock, err := lockFile(filepath.Join(dir, lockFileName))
	if err != nil {
		return nil, err
	}
	q := &queue{dir: dir, segSize: segSize, maxAck: maxAckFile, log: log, lock: lock, changed: make(chan struct{})}
	if err := q.recover(); err != nil {
		q.close()
		return nil, err
	}
	return q, nil
}

func (q *queue) recover() error {
	if err := q.openAck(); err != nil {
		return err
	}
	entries, err := os.ReadDir(q.dir)
	if err != nil {
		return fmt.Errorf("sdk: queue: %w", err)
	}
	var firsts []uint64
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") { // a rewrite cut short by a crash
			_ = os.Remove(filepath.Join(q.dir, name))
			continue
		}
		if !strings.HasSuffix(name, segSuffix) || len(name) != 20+len(segSuffix) {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(name, segSuffix), 10, 64)
		if err != nil {
			continue
		}
		firsts = append(firsts, first)
	}
	slices.Sort(firsts)
	var last uint64 // highest sequence number seen
	head := -1      // index in q.segs of the segment holding the head
	for i, first := range firsts {
		seg := &segment{first: first, path: q.segPath(first)}
		recs, err := q.recoverSegment(seg, i == len(firsts)-1, last)
		if err != nil {
			return err
		}
		if seg.size < 0 {
			continue // removed: empty and not the last
		}
		q.segs = append(q.segs, seg)
		off := int64(len(segMagic))
		for _, r := range recs {
			last = max(last, r.seq)
			if r.seq > q.acked {
				if head < 0 {
					head, q.headOff = len(q.segs)-1, off
				}
				q.pendingMsgs++
				q.pendingEvents += r.events
			}
			off += int64(r.frame)
		}
	}
	q.next = max(last, q.acked) + 1
	if len(q.segs) == 0 {
		if err := q.rotate(); err != nil {
			return err
		}
	} else {
		if head < 0 { // everything acknowledged: the head is the end of the log
			head, q.headOff = len(q.segs)-1, q.segs[len(q.segs)-1].size
		}
		for _, s := range q.segs[:head] {
			_ = os.Remove(s.path)
		}
		q.segs = q.segs[head:]
		active := q.segs[len(q.segs)-1]
		w, err := os.OpenFile(active.path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return fmt.Errorf("sdk: queue: %w", err)
		}
		q.w = w
		q.cur, q.curOff = q.segs[0], q.headOff
	}
	if q.pendingMsgs > 0 {
		q.log.Info("sdk: queue holds unsent scans", "dir", q.dir, "messages", q.pendingMsgs, "events", q.pendingEvents)
	}
	return nil
}

// recoverSegment reads and checks a segment, repairing it in place, and
// returns its records without their data. seg.size is set to -1 when the
// segment was removed.
func (q *queue) recoverSegment(seg *segment, isLast bool, after uint64) ([]*record, error) {
	data, err := os.ReadFile(seg.path)
	if err != nil {
		return nil, fmt.Errorf("sdk: queue: %w", err)
	}
	if len(data) < len(segMagic) && bytes.HasPrefix([]byte(segMagic), data) {
		// Torn while being created.
		if !isLast {
			seg.size = -1
			return nil, os.Remove(seg.path)
		}
		return nil, q.rewriteSegment(seg, []byte(segMagic))
	}
	if !bytes.HasPrefix(data, []byte(segMagic)) {
		return nil, fmt.Errorf("sdk: queue: %s is not a queue segment", seg.path)
	}
	var (
		recs []*record
		good = []byte(segMagic)
		bad  []byte
		torn int
	)
	for off := len(segMagic); off < len(data); {
		r, n, err := decodeFrame(data[off:])
		if err == nil && r.seq > after {
			r.frame, r.data, after = n, nil, r.seq
			recs = append(recs, r)
			good = append(good, data[off:off+n]...)
			off += n
			continue
		}
		next := resync(data, off+1, max(after, max(seg.first, 1)-1))
		if next == len(data) && (errors.Is(err, errShortFrame) || allZero(data[off:])) {
			torn = len(data) - off // a write cut short by a crash
		} else {
			bad = append(bad, data[off:next]...)
		}
		off = next
	}
	if len(bad) > 0 {
		if err := q.saveCorrupt(seg, bad); err != nil {
			return nil, err
		}
	}
	if torn > 0 {
		q.log.Warn("sdk: queue: truncated a torn record", "segment", seg.path, "bytes", torn)
	}
	if len(good) == len(data) {
		seg.size = int64(len(data))
		return recs, nil
	}
	return recs, q.rewriteSegment(seg, good)
}

// resync returns the offset of the next plausible frame in data at or after
// from, or len(data).
func resync(data []byte, from int, after uint64) int {
	for off := from; off < len(data); off++ {
		b := data[off:]
		if len(b) < frameHeader+9 || b[frameHeader] != recordVersion {
			continue
		}
		n := binary.BigEndian.Uint32(b)
		seq := binary.BigEndian.Uint64(b[frameHeader+1:])
		if n == 0 || n > maxPayload || int(n) > len(b)-frameHeader || seq <= after || seq-after > 1<<20 {
			continue
		}
		if _, _, err := decodeFrame(b); err == nil {
			return off
		}
	}
	return len(data)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// saveCorrupt appends bytes that could not be read as records to
// <segment>.corrupt, so that nothing is discarded unseen.
func (q *queue) saveCorrupt(seg *segment, bad []byte) error {
	path := seg.path + ".corrupt"
	q.log.Error("sdk: queue: corrupt records moved aside; the scans in them were not sent",
		"segment", seg.path, "bytes", len(bad), "saved_to", path)
	if err := writeSync(path, os.O_APPEND, bad); err != nil {
		return fmt.Errorf("sdk: queue: save corrupt records: %w", err)
	}
	return nil
}

// rewriteSegment atomically replaces seg's file with data.
func (q *queue) rewriteSegment(seg *segment, data []byte) error {
	tmp := seg.path + ".tmp"
	if err := writeFileSync(tmp, data); err != nil {
		return err
	}
	if err := os.Rename(tmp, seg.path); err != nil {
		return fmt.Errorf("sdk: queue: %w", err)
	}
	seg.size = int64(len(data))
	return syncDir(q.dir)
}

func (q *queue) openAck() error {
	path := filepath.Join(q.dir, ackFileName)
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("sdk: queue: %w", err)
	}
	created := errors.Is(err, os.ErrNotExist)
	seq, valid := lastAck(data)
	if valid < len(data) {
		q.log.Warn("sdk: queue: truncated a torn acknowledgement", "file", path, "bytes", len(data)-valid)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sdk: queue: %w", err)
	}
	q.ackf, q.acked, q.ackSize = f, seq, int64(valid)
	if valid < len(data) {
		if err := f.Truncate(int64(valid)); err != nil {
			return fmt.Errorf("sdk: queue: %w", err)
		}
	}
	if _, err := f.Seek(int64(valid), io.SeekStart); err != nil {
		return fmt.Errorf("sdk: queue: %w", err)
	}
	if created {
		return syncDir(q.dir)
	}
	return nil
}

func (q *queue) segPath(first uint64) string {
	return filepath.Join(q.dir, fmt.Sprintf("%020d%s", first, segSuffix))
}

// rotate starts a new active segment whose first record will be q.next.
func (q *queue) rotate() error {
	path := q.segPath(q.next)
	if err := writeFileSync(path, []byte(segMagic)); err != nil {
		return err
	}
	if err := syncDir(q.dir); err != nil {
		return err
	}
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("sdk: queue: %w", err)
	}
	if q.w != nil {
		_ = q.w.Close()
	}
	q.w = w
	q.segs = append(q.segs, &segment{first: q.next, path: path, size: int64(len(segMagic))})
	if len(q.segs) == 1 {
		q.headOff = int64(len(segMagic))
		q.cur, q.curOff = q.segs[0], q.headOff
	}
	q.compact()
	return nil
}

// compact removes leading segments whose records are all acknowledged.
// Removal needs no fsync: a removed segment that reappears after a crash
// holds only acknowledged records, which recovery skips.
func (q *queue) compact() {
	for len(q.segs) > 1 && q.headOff >= q.segs[0].size {
		s := q.segs[0]
		if s.r != nil {
			_ = s.r.Close()
		}
		if err := os.Remove(s.path); err != nil {
			q.log.Warn("sdk: queue: remove acknowledged segment", "segment", s.path, "err", err)
		}
		q.segs = q.segs[1:]
		q.headOff = int64(len(segMagic))
		if q.cur == s {
			q.cur, q.curOff = q.segs[0], q.headOff
		}
	}
}

// append assigns r the next sequence number and appends it durably: it
// returns only after the record is fsynced.
func (q *queue) append(r *record) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	r.seq = q.next
	q.buf = appendFrame(q.buf[:0], r)
	active := q.segs[len(q.segs)-1]
	if active.size > int64(len(segMagic)) && active.size+int64(len(q.buf)) > q.segSize {
		if err := q.rotate(); err != nil {
			return err
		}
		active = q.segs[len(q.segs)-1]
	}
	if _, err := q.w.Write(q.buf); err != nil {
		if terr := q.w.Truncate(active.size); terr != nil {
			q.err = fmt.Errorf("sdk: queue: write failed and could not be undone: %w", err)
		}
		return fmt.Errorf("sdk: queue: %w", err)
	}
	if err := q.w.Sync(); err != nil {
		q.err = fmt.Errorf("sdk: queue: fsync failed, queue unusable: %w", err)
		return q.err
	}
	active.size += int64(len(q.buf))
	q.next++
	q.pendingMsgs++
	q.pendingEvents += r.events
	q.notify()
	return nil
}

// read returns the first record the read cursor has not passed, reading
// it from disk, and moves the cursor past it; nil when the cursor is at the
// end of the log. The cursor starts at the head when the queue is opened,
// so every unreleased record is read once per opening. The record stays in
// the queue until release.
func (q *queue) read() (*record, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return nil, q.err
	}
	for q.curOff >= q.cur.size {
		i := slices.Index(q.segs, q.cur)
		if i < 0 || i == len(q.segs)-1 {
			return nil, nil
		}
		q.cur, q.curOff = q.segs[i+1], int64(len(segMagic))
	}
	s := q.cur
	if s.r == nil {
		r, err := os.Open(s.path)
		if err != nil {
			return nil, fmt.Errorf("sdk: queue: %w", err)
		}
		s.r = r
	}
	var hdr [frameHeader]byte
	if _, err := s.r.ReadAt(hdr[:], q.curOff); err != nil {
		return nil, fmt.Errorf("sdk: queue: read %s: %w", s.path, err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > maxPayload || q.curOff+frameHeader+int64(n) > s.size {
		return nil, fmt.Errorf("sdk: queue: %s at %d: %w", s.path, q.curOff, errBadLength)
	}
	buf := make([]byte, frameHeader+int(n))
	if _, err := s.r.ReadAt(buf, q.curOff); err != nil {
		return nil, fmt.Errorf("sdk: queue: read %s: %w", s.path, err)
	}
	r, size, err := decodeFrame(buf)
	if err != nil {
		return nil, fmt.Errorf("sdk: queue: %s at %d: %w", s.path, q.curOff, err)
	}
	if last := len(q.reading); last > 0 && r.seq <= q.reading[last-1].seq || r.seq <= q.acked {
		return nil, fmt.Errorf("sdk: queue: %s at %d: sequence %d out of order", s.path, q.curOff, r.seq)
	}
	r.frame = size
	q.curOff += int64(size)
	q.reading = append(q.reading, span{seq: r.seq, frame: size, events: r.events})
	return r, nil
}

// release records that the record with sequence number seq, returned by
// read, may leave the queue: its outcome arrived. Records may be released
// in any order; the head moves over the released records at its front, and
// the ack file records durably the last one it passed. A released record
// behind an unreleased one is released again after a crash (it is then
// sent again, which is harmless).
func (q *queue) release(seq uint64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	i, found := slices.BinarySearchFunc(q.reading, seq, func(s span, seq uint64) int { return cmp.Compare(s.seq, seq) })
	if !found {
		return fmt.Errorf("sdk: queue: release of %d, which is not being read", seq)
	}
	// The counts drop at once; the head, and the ack file, move over a
	// released prefix only.
	if !q.reading[i].released {
		q.reading[i].released = true
		q.pendingMsgs--
		q.pendingEvents -= q.reading[i].events
		q.notify()
	}
	n := 0
	for n < len(q.reading) && q.reading[n].released {
		n++
	}
	if n == 0 {
		return nil
	}
	last := q.reading[n-1].seq
	if q.ackSize+ackEntryLen > q.maxAck {
		if err := q.rewriteAck(last); err != nil {
			return err
		}
	} else {
		if _, err := q.ackf.Write(appendAckEntry(nil, last)); err != nil {
			return fmt.Errorf("sdk: queue: %w", err)
		}
		if err := q.ackf.Sync(); err != nil {
			q.err = fmt.Errorf("sdk: queue: fsync failed, queue unusable: %w", err)
			return q.err
		}
		q.ackSize += ackEntryLen
	}
	q.acked = last
	for _, s := range q.reading[:n] {
		q.headOff += int64(s.frame)
		q.compact()
	}
	q.reading = slices.Delete(q.reading, 0, n)
	return nil
}

// rewriteAck replaces the ack file by one holding only seq.
func (q *queue) rewriteAck(seq uint64) error {
	path := filepath.Join(q.dir, ackFileName)
	if err := writeFileSync(path+".tmp", appendAckEntry(nil, seq)); err != nil {
		return err
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("sdk: queue: %w", err)
	}
	if err := syncDir(q.dir); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		q.err = fmt.Errorf("sdk: queue: reopen ack file: %w", err)
		return q.err
	}
	_ = q.ackf.Close()
	q.ackf, q.ackSize = f, ackEntryLen
	return nil
}

// notify wakes everyone waiting for a change. Called with q.mu held.
func (q *queue) notify() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// state returns the pending counts and a channel closed at the next change.
func (q *queue) state() (msgs, events int, changed <-chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pendingMsgs, q.pendingEvents, q.changed
}

// close releases the files and the directory lock.
func (q *queue) close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	var errs []error
	for _, s := range q.segs {
		if s.r != nil {
			errs = append(errs, s.r.Close())
		}
	}
	for _, f := range []*os.File{q.w, q.ackf, q.lock} {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	q.segs, q.w, q.ackf, q.lock = nil, nil, nil, nil
	if q.err == nil {
		q.err = errors.New("sdk: queue: closed")
	}
	return errors.Join(errs...)
}

// writeFileSync creates path with data, fsynced.
func writeFileSync(path string, data []byte) error {
	if err := writeSync(path, os.O_TRUNC, data); err != nil {
		return fmt.Errorf("sdk: queue: %w", err)
	}
	return nil
}

// writeSync writes data to path, created if need be, opened with the extra
// flag (os.O_APPEND or os.O_TRUNC), and fsyncs it.
func writeSync(path string, flag int, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|flag, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir fsyncs a directory so that file creations and renames in it are
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sdk: queue: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sdk: queue: fsync %s: %w", dir, err)
	}
	return nil
}
