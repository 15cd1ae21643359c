package main

import (
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/job"
)

func TestLoopbackOnly(t *testing.T) {
	for u, ok := range map[string]bool{
		"http://127.0.0.1:8000": true, "http://localhost:8000": true, "http://[::1]:8000": true,
		"http://127.1.2.3": true, "http://10.0.0.1:8000": false, "https://example.com": false, "http://192.168.1.1": false,
	} {
		if err := loopbackOnly(u); (err == nil) != ok {
			t.Errorf("loopbackOnly(%s) = %v", u, err)
		}
	}
}

func TestPercentile(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i))
	}
	if p := pct(lat, 0.5); p != 50 {
		t.Errorf("p50 %v", p)
	}
	if p := pct(lat, 0.99); p != 99 {
		t.Errorf("p99 %v", p)
	}
	if p := pct(nil, 0.5); p != 0 {
		t.Errorf("empty %v", p)
	}
}

// The embedded job must be valid, else every submission is a 400.
func TestEmbeddedJobValid(t *testing.T) {
	d, rep := job.Parse(defaultJob)
	if !rep.OK() || len(rep.Warnings) > 0 || d.DeviceType != "qemu" {
		t.Fatalf("errors %v warnings %v", rep.Errors, rep.Warnings)
	}
	if n := len(defaultJob); n < 800 || n > 1500 {
		t.Errorf("embedded job is %d bytes, want about 1 KB", n)
	}
}
