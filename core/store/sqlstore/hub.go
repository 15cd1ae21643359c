package sqlstore

import (
	"context"
	"slices"
	"sync"

	"github.com/lavalab/lavalab/core/store"
)

// HubBuffer is each subscriber's channel capacity; a subscriber that falls
// further behind misses events (delivery is best effort).
const HubBuffer = 256

// Hub fans events out to in-process subscribers. The zero Hub is ready.
type Hub struct {
	mu   sync.Mutex
	subs map[*sub]struct{}
}

type sub struct {
	all    bool          // no topic named: every event
	topics []string      // whole topics
	keyed  []store.Event // one key's events of a topic (store.KeyTopic)
	ch     chan store.Event
}

// wants reports whether s subscribed to ev. A keyed subscription also
// takes its topic's events without a key (a wake-up for every key, as
// after a lost PostgreSQL listener).
func (s *sub) wants(ev store.Event) bool {
	if s.all || slices.Contains(s.topics, ev.Topic) {
		return true
	}
	for _, k := range s.keyed {
		if k.Topic == ev.Topic && (k.Key == ev.Key || ev.Key == "") {
			return true
		}
	}
	return false
}

// Subscribe returns a channel of the events of the given topics (all
// topics if none), closed when ctx ends.
func (h *Hub) Subscribe(ctx context.Context, topics ...string) (<-chan store.Event, error) {
	s := &sub{all: len(topics) == 0, ch: make(chan store.Event, HubBuffer)}
	for _, t := range topics {
		if topic, key, ok := store.SplitKeyTopic(t); ok {
			s.keyed = append(s.keyed, store.Event{Topic: topic, Key: key})
		} else {
			s.topics = append(s.topics, t)
		}
	}
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[*sub]struct{}{}
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	go func() {
		<-ctx.Done()
		h.mu.Lock()
		if _, ok := h.subs[s]; ok {
			delete(h.subs, s)
			close(s.ch)
		}
		h.mu.Unlock()
	}()
	return s.ch, nil
}

// Deliver hands the events to every interested subscriber without
// blocking.
func (h *Hub) Deliver(evs ...store.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		for _, ev := range evs {
			if !s.wants(ev) {
				continue
			}
			select {
			case s.ch <- ev:
			default: // slow subscriber: it re-reads on its timer
			}
		}
	}
}

// CloseAll closes every subscriber's channel (on store Close).
func (h *Hub) CloseAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		close(s.ch)
		delete(h.subs, s)
	}
}
