package lab

import (
	"testing"
	"time"
)

func TestAvailCache(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newAvailCache()
	c.now = func() time.Time { return now }
	k := availKey("qemu", []string{"usb"}, 1)
	if c.ok(k) {
		t.Fatal("empty cache answered ok")
	}
	c.remember(k)
	if !c.ok(k) {
		t.Fatal("remembered key not ok")
	}
	if c.ok(availKey("qemu", nil, 1)) || c.ok(availKey("qemu", []string{"usb"}, 2)) {
		t.Fatal("other tags or count shared the answer")
	}
	now = now.Add(availTTL)
	if c.ok(k) {
		t.Fatal("answer kept past its TTL")
	}
}
