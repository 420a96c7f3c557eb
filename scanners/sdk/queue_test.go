package sdk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func testRecord(i int) *record {
	return &record{
		events:  1 + i%3,
		subject: "pedigree.scan.4012345000009",
		msgID:   fmt.Sprintf("urn:uuid:%08d", i),
		data:    bytes.Repeat([]byte{byte(i)}, 100+i),
	}
}

func openTestQueue(t *testing.T, dir string, segSize int64) *queue {
	t.Helper()
	q, err := openQueue(dir, segSize, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// drain reads and releases every record and returns their message IDs.
func drain(t *testing.T, q *queue) []string {
	t.Helper()
	var ids []string
	for {
		r, err := q.read()
		if err != nil {
			t.Fatal(err)
		}
		if r == nil {
			return ids
		}
		ids = append(ids, r.msgID)
		if err := q.release(r.seq); err != nil {
			t.Fatal(err)
		}
	}
}

func appendN(t *testing.T, q *queue, from, to int) []string {
	t.Helper()
	var ids []string
	for i := from; i < to; i++ {
		r := testRecord(i)
		if err := q.append(r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.msgID)
	}
	return ids
}

func segments(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

func TestQueueOrderAcrossReopenRotationAndCompaction(t *testing.T) {
	dir := t.TempDir()
	q := openTestQueue(t, dir, 1024)
	want := appendN(t, q, 0, 30)
	if n := len(segments(t, dir)); n < 3 {
		t.Fatalf("%d segments after 30 records of ~150 bytes with 1 KiB segments, want several", n)
	}
	// Release the first 10, then "crash" (close without draining).
	for range 10 {
		r, err := q.read()
		if err != nil || r == nil {
			t.Fatalf("read: %v %v", r, err)
		}
		if err := q.release(r.seq); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.close(); err != nil {
		t.Fatal(err)
	}

	q = openTestQueue(t, dir, 1024)
	if m, _ := filepath.Glob(filepath.Join(dir, "*.corrupt")); len(m) > 0 {
		t.Fatalf("reopening a healthy queue moved records aside: %v", m)
	}
	msgs, events, _ := q.state()
	wantEvents := 0
	for i := 10; i < 30; i++ {
		wantEvents += testRecord(i).events
	}
	if msgs != 20 || events != wantEvents {
		t.Fatalf("after reopen: %d messages, %d events pending, want 20, %d", msgs, events, wantEvents)
	}
	want = append(want, appendN(t, q, 30, 35)...)
	if got := drain(t, q); !slices.Equal(got, want[10:]) {
		t.Fatalf("drained %v\nwant %v", got, want[10:])
	}
	if n := len(segments(t, dir)); n != 1 {
		t.Errorf("%d segments left after everything was acknowledged, want only the active one", n)
	}
	if err := q.close(); err != nil {
		t.Fatal(err)
	}
	q = openTestQueue(t, dir, 1024)
	defer q.close()
	if msgs, _, _ := q.state(); msgs != 0 {
		t.Fatalf("%d messages pending after a full drain and reopen", msgs)
	}
	r := testRecord(99)
	if err := q.append(r); err != nil {
		t.Fatal(err)
	}
	if r.seq != 36 {
		t.Errorf("sequence after reopen = %d, want 36", r.seq)
	}
}

func TestQueueTornTailIsTruncated(t *testing.T) {
	for _, tc := range []struct {
		name string
		tear func(data []byte) []byte
	}{
		{"cut inside the last record", func(d []byte) []byte { return d[:len(d)-7] }},
		{"cut inside the last header", func(d []byte) []byte { return d[:len(d)-frameLen(testRecord(2))+3] }},
		{"zero-filled tail", func(d []byte) []byte { return append(d, make([]byte, 300)...) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			q := openTestQueue(t, dir, DefaultSegmentSize)
			ids := appendN(t, q, 0, 3)
			q.close()
			seg := segments(t, dir)[0]
			data, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(seg, tc.tear(data), 0o600); err != nil {
				t.Fatal(err)
			}
			q = openTestQueue(t, dir, DefaultSegmentSize)
			defer q.close()
			wantIDs := ids
			if len(tc.tear(data)) < len(data) {
				wantIDs = ids[:2]
			}
			wantIDs = append(slices.Clone(wantIDs), appendN(t, q, 3, 4)...)
			if got := drain(t, q); !slices.Equal(got, wantIDs) {
				t.Fatalf("drained %v, want %v", got, wantIDs)
			}
			if _, err := os.Stat(seg + ".corrupt"); err == nil {
				t.Error("a torn tail was saved as corrupt")
			}
		})
	}
}

func TestQueueCorruptRecordIsMovedAsideAndTheRestKept(t *testing.T) {
	dir := t.TempDir()
	q := openTestQueue(t, dir, DefaultSegmentSize)
	ids := appendN(t, q, 0, 4)
	q.close()
	seg := segments(t, dir)[0]
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	// Flip a byte in the data of the second record.
	off := len(segMagic) + frameLen(testRecord(0)) + frameLen(testRecord(1)) - 5
	data[off] ^= 0xff
	if err := os.WriteFile(seg, data, 0o600); err != nil {
		t.Fatal(err)
	}
	q = openTestQueue(t, dir, DefaultSegmentSize)
	defer q.close()
	want := []string{ids[0], ids[2], ids[3]}
	if got := drain(t, q); !slices.Equal(got, want) {
		t.Fatalf("drained %v, want %v", got, want)
	}
	saved, err := os.ReadFile(seg + ".corrupt")
	if err != nil {
		t.Fatal(err)
	}
	if len(saved) != frameLen(testRecord(1)) {
		t.Errorf("saved %d corrupt bytes, want the %d of the damaged record", len(saved), frameLen(testRecord(1)))
	}
}

func TestQueueTornAcknowledgementIsIgnored(t *testing.T) {
	dir := t.TempDir()
	q := openTestQueue(t, dir, DefaultSegmentSize)
	ids := appendN(t, q, 0, 3)
	r, _ := q.read()
	if err := q.release(r.seq); err != nil {
		t.Fatal(err)
	}
	q.close()
	f, err := os.OpenFile(filepath.Join(dir, ackFileName), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(appendAckEntry(nil, 2)[:7]); err != nil {
		t.Fatal(err)
	}
	f.Close()
	q = openTestQueue(t, dir, DefaultSegmentSize)
	defer q.close()
	if got := drain(t, q); !slices.Equal(got, ids[1:]) {
		t.Fatalf("drained %v, want %v", got, ids[1:])
	}
}

func TestQueueAckFileIsRewrittenWhenLarge(t *testing.T) {
	dir := t.TempDir()
	q := openTestQueue(t, dir, DefaultSegmentSize)
	q.maxAck = 10 * ackEntryLen
	n := 25
	for i := range n {
		appendN(t, q, i, i+1)
		drain(t, q)
	}
	q.close()
	info, err := os.Stat(filepath.Join(dir, ackFileName))
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() > 10*ackEntryLen {
		t.Fatalf("ack file is %d bytes, want at most %d", info.Size(), 10*ackEntryLen)
	}
	q = openTestQueue(t, dir, DefaultSegmentSize)
	defer q.close()
	if msgs, _, _ := q.state(); msgs != 0 || q.acked != uint64(n) {
		t.Fatalf("after reopen: %d pending, acked %d; want 0, %d", msgs, q.acked, n)
	}
}

// TestQueueReleasesOutOfOrder reads records ahead of the head and
// releases them in another order: the head moves only over a released
// prefix, across segments, and what was released behind an unreleased
// record comes back after a reopen (it is sent again, harmlessly).
func TestQueueReleasesOutOfOrder(t *testing.T) {
	dir := t.TempDir()
	q := openTestQueue(t, dir, 1024)
	want := appendN(t, q, 0, 20)
	var read []*record
	for range 12 {
		r, err := q.read()
		if err != nil || r == nil {
			t.Fatalf("read: %v %v", r, err)
		}
		read = append(read, r)
	}
	pending := func() int {
		msgs, _, _ := q.state()
		return msgs
	}
	for _, i := range []int{3, 1, 2} { // records 2, 3, 4 answered before 1
		if err := q.release(read[i].seq); err != nil {
			t.Fatal(err)
		}
	}
	if pending() != 17 || q.acked != 0 {
		t.Fatalf("released behind the head: %d pending, acked %d; want 17, 0", pending(), q.acked)
	}
	if err := q.release(read[0].seq); err != nil {
		t.Fatal(err)
	}
	if pending() != 16 || q.acked != read[3].seq {
		t.Fatalf("after the head's release: %d pending, acked %d; want 16, %d", pending(), q.acked, read[3].seq)
	}
	if err := q.release(read[0].seq); err == nil {
		t.Error("a record released twice")
	}
	for _, i := range []int{11, 9, 8, 7, 6, 5, 4} { // 10 stays unanswered
		if err := q.release(read[i].seq); err != nil {
			t.Fatal(err)
		}
	}
	if pending() != 9 || q.acked != read[9].seq {
		t.Fatalf("%d pending, acked %d; want 9, %d", pending(), q.acked, read[9].seq)
	}
	if err := q.close(); err != nil {
		t.Fatal(err)
	}
	q = openTestQueue(t, dir, 1024)
	defer q.close()
	if got := drain(t, q); !slices.Equal(got, want[10:]) {
		t.Fatalf("after reopen drained %v\nwant %v", got, want[10:])
	}
	if n := len(segments(t, dir)); n != 1 {
		t.Errorf("%d segments left after everything was released, want only the active one", n)
	}
}

func TestQueueDirectoryIsLocked(t *testing.T) {
	dir := t.TempDir()
	q := openTestQueue(t, dir, DefaultSegmentSize)
	if _, err := openQueue(dir, DefaultSegmentSize, slog.New(slog.DiscardHandler)); !errors.Is(err, ErrQueueLocked) {
		t.Fatalf("second open: %v, want ErrQueueLocked", err)
	}
	q.close()
	openTestQueue(t, dir, DefaultSegmentSize).close()
}

func TestQueueRefusesForeignFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%020d%s", 1, segSuffix)), []byte("not a segment at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openQueue(dir, DefaultSegmentSize, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("opened a queue over a file that is not a segment")
	}
}

// FuzzDecodeFrame feeds the decoder arbitrary frames, and arbitrary
// payloads framed with a valid checksum so that the payload decoder is
// reached too: it must never panic, and what it accepts must re-encode to
// the same bytes.
func FuzzDecodeFrame(f *testing.F) {
	f.Add(appendFrame(nil, testRecord(1)))
	f.Add(appendFrame(nil, testRecord(2))[frameHeader:])
	f.Add(appendFrame(appendFrame(nil, testRecord(2)), testRecord(3))[:50])
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		framed := binary.BigEndian.AppendUint32(nil, uint32(len(b)))
		framed = binary.BigEndian.AppendUint32(framed, crc32.Checksum(b, castagnoli))
		for _, in := range [][]byte{b, append(framed, b...)} {
			r, n, err := decodeFrame(in)
			if err != nil {
				continue
			}
			if n > len(in) || r.seq == 0 || r.events < 1 || r.subject == "" || r.msgID == "" || len(r.data) == 0 {
				t.Fatalf("decoded an invalid record: %+v n=%d", r, n)
			}
			if again := appendFrame(nil, r); !bytes.Equal(again, in[:n]) {
				t.Fatalf("re-encoding gives %x, want %x", again, in[:n])
			}
			if frameLen(r) != n {
				t.Fatalf("frameLen = %d, want %d", frameLen(r), n)
			}
		}
	})
}

func TestRecordRoundTrip(t *testing.T) {
	r := testRecord(7)
	r.seq = 42
	b := appendFrame(nil, r)
	if len(b) != frameLen(r) {
		t.Fatalf("frame is %d bytes, frameLen says %d", len(b), frameLen(r))
	}
	got, n, err := decodeFrame(b)
	if err != nil || n != len(b) {
		t.Fatalf("decode: %v, n=%d", err, n)
	}
	if got.seq != 42 || got.events != r.events || got.subject != r.subject || got.msgID != r.msgID || !bytes.Equal(got.data, r.data) {
		t.Fatalf("round trip: %+v, want %+v", got, r)
	}
	for i := range b {
		c := slices.Clone(b)
		c[i] ^= 0x40
		if _, _, err := decodeFrame(c); err == nil {
			t.Fatalf("a flipped bit at byte %d went unnoticed", i)
		}
	}
}
