package expect

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/lavalab/lavalab/sdk"
)

// TestRaw (issue 17): the engine keeps the raw output, escapes included,
// by offset; RawWait reports new output; the oldest output goes beyond
// rawHistMax.
func TestRaw(t *testing.T) {
	b := newBoard()
	e := New(b, Options{KeepRaw: true})
	defer b.in.Close()
	ctx := context.Background()
	if e.RawWait(ctx, 0, 20*time.Millisecond) {
		t.Fatal("RawWait reports output before any")
	}
	first := "\x1b[2J\x1b[01;01H\x1b[0m\x1b[37m\x1b[40mBoot Manager\r\n"
	go b.say(t, first)
	if !e.RawWait(ctx, 0, 5*time.Second) {
		t.Fatal("RawWait saw no output")
	}
	deadline := time.Now().Add(5 * time.Second)
	var raw []byte
	var off int64
	for time.Now().Before(deadline) {
		if raw, off = e.Raw(0); len(raw) == len(first) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if string(raw) != first || off != int64(len(first)) {
		t.Fatalf("Raw(0) = %q, %d; want the output as sent", raw, off)
	}
	if tail, _ := e.Raw(off - 4); string(tail) != "er\r\n" {
		t.Errorf("Raw(off-4) = %q", tail)
	}
	if none, o := e.Raw(off); len(none) != 0 || o != off {
		t.Errorf("Raw(end) = %q, %d", none, o)
	}
	big := bytes.Repeat([]byte("y"), rawHistMax)
	go b.say(t, string(big))
	for time.Now().Before(deadline.Add(5 * time.Second)) {
		if _, o := e.Raw(0); o == off+int64(len(big)) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	all, end := e.Raw(0)
	if end != off+int64(len(big)) || len(all) != rawHistMax || !bytes.Equal(all, big) {
		t.Errorf("after %d more bytes: Raw(0) has %d bytes up to %d; want the last %d", len(big), len(all), end, rawHistMax)
	}
	// Past twice the bound the kept tail is compacted; the last bytes stay.
	more := bytes.Repeat([]byte("z"), rawHistMax+10)
	go b.say(t, string(more))
	for time.Now().Before(deadline.Add(10 * time.Second)) {
		if _, o := e.Raw(0); o == end+int64(len(more)) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	all, end2 := e.Raw(0)
	if end2 != end+int64(len(more)) || !bytes.Equal(all, more[10:]) || len(e.hist.buf) > 2*rawHistMax {
		t.Errorf("after compaction: Raw(0) has %d bytes up to %d, %d kept", len(all), end2, len(e.hist.buf))
	}
}

// TestRawKeptOnlyWhenAsked: an engine keeps no raw output until KeepRaw,
// then keeps what comes after it.
func TestRawKeptOnlyWhenAsked(t *testing.T) {
	b := newBoard()
	e := New(b, Options{})
	defer b.in.Close()
	ctx := context.Background()
	go b.say(t, "before\r\n")
	if _, err := e.ExpectPatterns(ctx, []sdk.Pattern{re("before")}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if raw, _ := e.Raw(0); len(raw) != 0 {
		t.Fatalf("raw output kept without KeepRaw: %q", raw)
	}
	e.KeepRaw()
	go b.say(t, "after\r\n")
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if raw, _ := e.Raw(0); string(raw) == "after\r\n" {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	raw, _ := e.Raw(0)
	t.Fatalf("after KeepRaw: Raw(0) = %q, want the output that came after it", raw)
}
