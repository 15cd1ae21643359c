package workerserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/workerproto"
)

// workerLogs is POST /worker/v1/logs: the log batches of many of the
// worker's jobs in one request, one LogBatch per line with its job and the
// job's token (NDJSON). Each batch is checked and stored as
// POST /jobs/{id}/logs would (the same token check, gap and resend rules);
// their appends run at once, so the store commits them together. The
// answer has one entry per line, in order.
//
// Why (RATIONALE.md, "One log request per worker"): with a request per job,
// a worker of 1,000 running jobs sent about 1,400 requests a second, and
// its goroutines, HTTP connections and the server's per-request work made
// the log latency's tail.
func (s *Server) workerLogs(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, ok := readBody(w, r, workerproto.MaxWorkerLogsBytes)
	if !ok {
		return
	}
	var lines [][]byte
	for line := range bytes.SplitSeq(body, []byte{'\n'}) {
		if len(bytes.TrimSpace(line)) > 0 {
			lines = append(lines, line)
		}
	}
	if len(lines) > workerproto.MaxWorkerLogsJobs {
		writeError(w, http.StatusBadRequest, workerproto.CodeBadRequest,
			fmt.Sprintf("%d job batches: a request carries at most %d", len(lines), workerproto.MaxWorkerLogsJobs), nil)
		return
	}
	worker := workerFrom(ctx)
	acks := make([]workerproto.JobLogAck, len(lines))
	errs := make([]error, len(lines))
	var wg sync.WaitGroup
	for i, line := range lines {
		wg.Go(func() { acks[i], errs[i] = s.jobLogLine(ctx, worker, i, line) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, workerproto.WorkerLogsAck{Jobs: acks})
}

// jobLogLine stores line i of a worker's log request.
func (s *Server) jobLogLine(ctx context.Context, worker string, i int, line []byte) (workerproto.JobLogAck, error) {
	refuse := func(job int64, status int, code, msg string) (workerproto.JobLogAck, error) {
		return workerproto.JobLogAck{Job: job, Status: status, Error: &workerproto.ErrorInfo{Code: code, Message: msg}}, nil
	}
	b, _, err := readLogBatch(line)
	if err != nil {
		return refuse(0, http.StatusBadRequest, workerproto.CodeBadRequest, fmt.Sprintf("line %d: invalid JSON: %v", i+1, err))
	}
	if b.Job <= 0 {
		return refuse(b.Job, http.StatusBadRequest, workerproto.CodeBadRequest, fmt.Sprintf("line %d: job %d: a job id is a positive integer", i+1, b.Job))
	}
	if b.Token == "" {
		return refuse(b.Job, http.StatusForbidden, workerproto.CodeJobToken, fmt.Sprintf("line %d: job %d: no token: each batch carries its job's token from the poll answer", i+1, b.Job))
	}
	ok, err := s.checkJobToken(ctx, b.Job, worker, b.Token)
	if errors.Is(err, store.ErrNotFound) {
		return refuse(b.Job, http.StatusNotFound, "not_found", fmt.Sprintf("job %d not found", b.Job))
	}
	if err != nil {
		return workerproto.JobLogAck{}, err
	}
	if !ok {
		return refuse(b.Job, http.StatusForbidden, workerproto.CodeJobToken, fmt.Sprintf("job %d: wrong job token, or the job is not worker %q's", b.Job, worker))
	}
	next, status, refused, err := s.appendBatch(ctx, b.Job, b)
	if err != nil {
		return workerproto.JobLogAck{}, err
	}
	if refused != nil {
		return workerproto.JobLogAck{Job: b.Job, Status: status, Error: refused}, nil
	}
	return workerproto.JobLogAck{Job: b.Job, Next: next}, nil
}
