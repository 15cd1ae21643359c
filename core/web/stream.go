package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

func urlEscape(s string) string { return url.QueryEscape(s) }

// StreamBatch is how many records the live log reads per store call.
const StreamBatch = 1000

// streamRecord is one record as the live log sends it (SSE data, JSON).
type streamRecord struct {
	I int64  `json:"i"`
	T string `json:"t"`
	L string `json:"l"`
	M string `json:"m"`
}

// logStream serves a job's log from ?from= (or the Last-Event-ID of a
// reconnecting browser) as Server-Sent Events: one "message" per record
// (id = its index), batches as they are stored, and one "end" event once
// the job is finished and every record was sent. It reads the same records
// as GET /api/v1/jobs/{id}/logs, a batch at a time, and waits for the
// store's logs and job_finished events between batches (with a slow
// re-read as a safety net, since delivery is best effort).
func (w *Web) logStream(rw http.ResponseWriter, r *http.Request) {
	j, ok := w.visibleJob(rw, r)
	if !ok {
		return
	}
	ctx := r.Context()
	from := streamFrom(r)
	// Subscribe before the first read, so no wake-up falls between them.
	key := strconv.FormatInt(j.ID, 10)
	events, err := w.lab.Subscribe(ctx, store.KeyTopic(store.TopicLogs, key), store.KeyTopic(store.TopicJobFinished, key))
	if err != nil {
		w.fail(rw, r, fmt.Errorf("job %d: subscribing to log events: %w", j.ID, err))
		return
	}
	rc := http.NewResponseController(rw)
	h := rw.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	rw.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprintf(rw, "retry: 2000\n\n")
	beat := time.NewTicker(w.heartbeat)
	defer beat.Stop()
	for {
		// Read the state before the records: a job seen finished has all
		// its records stored (the server finishes a job only then).
		finished := false
		if cur, err := w.lab.Refresh(ctx, j); err == nil {
			finished = cur.State == model.JobFinished
		} else if ctx.Err() == nil {
			w.log.Warn("web: live log: reading job", "job", j.ID, "err", err)
		}
		if from, ok = w.sendRecords(rw, r, rc, j, from); !ok {
			return
		}
		if finished {
			_, _ = fmt.Fprintf(rw, "event: end\ndata: %d\n\n", from)
			_ = rc.Flush()
			return
		}
		if !waitForRecords(rw, r, rc, events, beat) {
			return
		}
	}
}

// streamFrom is the first record to send: after the Last-Event-ID of a
// reconnecting browser, else ?from=, else 0.
func streamFrom(r *http.Request) int64 {
	if s := r.Header.Get("Last-Event-ID"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
			return n + 1
		}
		return 0
	}
	if n, err := strconv.ParseInt(r.URL.Query().Get("from"), 10, 64); err == nil && n > 0 {
		return n
	}
	return 0
}

// sendRecords sends every stored record of j from index from, a batch at
// a time, and returns the next index; false means the stream is over.
func (w *Web) sendRecords(rw http.ResponseWriter, r *http.Request, rc *http.ResponseController, j model.Job, from int64) (int64, bool) {
	ctx := r.Context()
	for {
		recs, err := w.lab.ReadLogs(ctx, j, from, StreamBatch)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("web: live log: reading records", "job", j.ID, "err", err)
			}
			return from, false
		}
		for _, rec := range recs {
			b, _ := json.Marshal(streamRecord{I: rec.Index, T: rec.Time.UTC().Format("15:04:05.000"), L: rec.Level, M: rec.Message})
			_, _ = fmt.Fprintf(rw, "id: %d\ndata: %s\n\n", rec.Index, b)
			from = rec.Index + 1
		}
		if err := rc.Flush(); err != nil {
			return from, false
		}
		if len(recs) < StreamBatch {
			return from, true
		}
	}
}

// waitForRecords waits for an event (the subscription has only the job's
// own, store.KeyTopic) or the heartbeat; false means the stream is over.
func waitForRecords(rw http.ResponseWriter, r *http.Request, rc *http.ResponseController, events <-chan store.Event, beat *time.Ticker) bool {
	select {
	case <-r.Context().Done():
		return false
	case _, ok := <-events:
		return ok
	case <-beat.C:
		// A comment keeps proxies from closing an idle stream, and the
		// re-read catches a missed event.
		if _, err := fmt.Fprintf(rw, ": keep-alive\n\n"); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
}
