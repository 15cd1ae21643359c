package worker

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/lavalab/lavalab/core/jsontext"
	"github.com/lavalab/lavalab/core/workerproto"
)

// logShipper sends the log batches of all the worker's jobs through
// POST /worker/v1/logs, as few requests as it can: a batch handed over
// while a request is in flight leaves in the next one, with every other
// batch handed over meanwhile (the pattern of a group commit). A batch
// handed over to an idle shipper leaves at once: batching adds no wait of
// its own, each job's --log-interval does the gathering. One request is in
// flight at a time: with three, bench/logingest at 1,000 jobs gave the same
// latency (the server answers a request of a few hundred jobs in 40-90 ms;
// the worker's own scheduling is the rest).
//
// Why (RATIONALE.md, "One log request per worker"): a request per job and
// batch made a worker of 1,000 running jobs send about 1,400 requests a
// second; their goroutines, connections and the server's per-request work
// were the tail of the log latency (bench/logingest: p99 1.6-1.9 s).
type logShipper struct {
	c *Client

	mu    sync.Mutex
	queue []*shipment
	busy  bool // a flush goroutine is sending
	// body is the last request's body, reused by the next once the last
	// was answered (one request is in flight at a time): at 1,000 jobs a
	// body is a few MB five times a second, and growing a fresh one was
	// two thirds of the worker's copying (bench/logingest profile).
	body []byte
}

// shipment is one job's batch and, once done is closed, its answer.
type shipment struct {
	ctx   context.Context
	job   int64
	token string
	first int64
	recs  encodedRecords
	next  int64
	err   error
	done  chan struct{}
}

// maxShipBytes bounds one request's body (the server takes up to
// workerproto.MaxWorkerLogsBytes).
const maxShipBytes = 16 << 20

// send hands over job's batch and waits for its answer: the next index
// the server expects, or the error the per-job endpoint would have given
// (a *Error for the server's refusals).
func (s *logShipper) send(ctx context.Context, job int64, token string, first int64, recs encodedRecords) (int64, error) {
	sh := &shipment{ctx: ctx, job: job, token: token, first: first, recs: recs, done: make(chan struct{})}
	s.mu.Lock()
	s.queue = append(s.queue, sh)
	if !s.busy {
		s.busy = true
		go s.flush()
	}
	s.mu.Unlock()
	select {
	case <-sh.done:
		return sh.next, sh.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// flush sends what is queued until the queue is empty.
func (s *logShipper) flush() {
	for {
		s.mu.Lock()
		group, body := s.take()
		if len(group) == 0 {
			s.busy = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		s.ship(group, body)
	}
}

// take removes from the queue the shipments of one request and returns
// them with the request's body (s.mu held).
func (s *logShipper) take() ([]*shipment, []byte) {
	size := 0
	for i, sh := range s.queue {
		if i == workerproto.MaxWorkerLogsJobs {
			break
		}
		size += len(sh.recs.b) + len(sh.token) + 64
	}
	body := s.body[:0]
	s.body = nil
	if cap(body) < size {
		body = make([]byte, 0, min(size, maxShipBytes+1<<20))
	}
	n := 0
	for n < len(s.queue) && n < workerproto.MaxWorkerLogsJobs {
		sh := s.queue[n]
		if sh.ctx.Err() != nil {
			sh.err = sh.ctx.Err()
			close(sh.done)
			s.queue = append(s.queue[:n], s.queue[n+1:]...)
			continue
		}
		before := len(body)
		body = appendJobBatch(body, sh)
		if n > 0 && len(body) > maxShipBytes {
			body = body[:before]
			break
		}
		n++
	}
	group := append([]*shipment(nil), s.queue[:n]...)
	s.queue = append(s.queue[:0], s.queue[n:]...)
	return group, body
}

// ship sends one request and answers its shipments.
func (s *logShipper) ship(group []*shipment, body []byte) {
	var ack workerproto.WorkerLogsAck
	err := s.c.do(group[0].ctx, http.MethodPost, "/logs", "", rawJSON(body), &ack, s.c.timeout())
	if err == nil {
		// Answered: the server read the whole body, nothing holds it.
		s.mu.Lock()
		s.body = body
		s.mu.Unlock()
	}
	if err == nil && len(ack.Jobs) != len(group) {
		err = fmt.Errorf("POST /logs: %d answers for %d job batches", len(ack.Jobs), len(group))
	}
	for i, sh := range group {
		switch {
		case err != nil:
			sh.err = err
		case ack.Jobs[i].Error != nil:
			sh.err = &Error{Status: ack.Jobs[i].Status, ErrorInfo: *ack.Jobs[i].Error}
		default:
			sh.next = ack.Jobs[i].Next
		}
		close(sh.done)
	}
}

// appendJobBatch appends sh's batch as one line of a POST /logs body.
func appendJobBatch(b []byte, sh *shipment) []byte {
	b = append(b, `{"job":`...)
	b = strconv.AppendInt(b, sh.job, 10)
	b = append(b, `,"token":`...)
	b = jsontext.AppendString(b, sh.token)
	b = append(b, ',')
	return append(appendBatchFields(b, sh.first, sh.recs), '\n')
}
