package sqlstore

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/lavalab/lavalab/core/store"
)

func TestMigrations(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []int
		err   string
	}{
		{"ordered", map[string]string{"m/0002_b.sql": "B", "m/0001_a.sql": "A", "m/README": "x"}, []int{1, 2}, ""},
		{"no number", map[string]string{"m/init.sql": "A"}, nil, "NNNN_name.sql"},
		{"zero", map[string]string{"m/0000_a.sql": "A"}, nil, "NNNN_name.sql"},
		{"duplicate", map[string]string{"m/0001_a.sql": "A", "m/1_b.sql": "B"}, nil, "two migrations numbered 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for n, c := range tc.files {
				fsys[n] = &fstest.MapFile{Data: []byte(c)}
			}
			ms, err := Migrations(fsys, "m")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.Version)
			}
			if len(got) != len(tc.want) || got[0] != tc.want[0] || ms[0].Name != "a" || ms[0].SQL != "A" {
				t.Errorf("Migrations = %+v", ms)
			}
		})
	}
}

func TestHub(t *testing.T) {
	var h Hub
	ctx, cancel := context.WithCancel(context.Background())
	logs, _ := h.Subscribe(ctx, store.TopicLogs)
	all, _ := h.Subscribe(context.Background())
	h.Deliver(store.Event{Topic: store.TopicDeviceFree, Key: "d"}, store.Event{Topic: store.TopicLogs, Key: "1"})
	if ev := <-logs; ev.Key != "1" {
		t.Errorf("topic subscriber got %+v", ev)
	}
	if ev := <-all; ev.Topic != store.TopicDeviceFree {
		t.Errorf("all-topics subscriber got %+v first", ev)
	}
	// A slow subscriber does not block delivery.
	for range HubBuffer + 10 {
		h.Deliver(store.Event{Topic: store.TopicLogs})
	}
	cancel()
	deadline := time.After(5 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-logs:
		case <-deadline:
			t.Fatal("channel not closed after ctx end")
		}
	}
	h.CloseAll()
	if _, open := <-all; open {
		// drain buffered events, then it must be closed
		for range all {
		}
	}
}

func TestLikeEscape(t *testing.T) {
	if got := likeEscape(`a%b_c\d`); got != `a\%b\_c\\d` {
		t.Errorf("likeEscape = %q", got)
	}
}
