package worker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/lavalab/lavalab/core/workerproto"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Client talks to the server's /worker/v1 endpoints for one worker.
type Client struct {
	// URL is the server's base URL (http://host:port or https://...).
	URL string
	// Token is the worker's token; Version the worker's version; Name
	// its name (optional: the server checks it matches the token).
	Token, Version, Name string
	// HTTP does the requests (default http.DefaultClient). Its Timeout
	// must be 0 or longer than the poll wait: polls set their own deadline.
	HTTP *http.Client
	// Timeout bounds requests other than polls (default 60 s).
	Timeout time.Duration
}

// Error is a non-2xx answer of the server.
type Error struct {
	Status int
	workerproto.ErrorInfo
}

func (e *Error) Error() string {
	return fmt.Sprintf("server answered %d %s: %s", e.Status, e.Code, e.Message)
}

// Expected returns the next record index the server expects (log_gap,
// logs_missing), if the answer said it.
func (e *Error) Expected() (int64, bool) {
	if e.Details == nil || e.Details.Expected == nil {
		return 0, false
	}
	return *e.Details.Expected, true
}

// ErrorCode returns the protocol error code of err ("" if err is not a
// server answer).
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Retryable reports whether a failed request may succeed later unchanged:
// network errors and 5xx answers (and 429).
func Retryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Status >= 500 || e.Status == http.StatusTooManyRequests
	}
	return err != nil && !errors.Is(err, context.Canceled)
}

func (c *Client) httpc() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 60 * time.Second
}

// rawJSON is a request body already encoded.
type rawJSON []byte

// do sends one request and decodes a 2xx JSON answer into out (if not
// nil); jobToken is set for job-scoped calls.
func (c *Client) do(ctx context.Context, method, path, jobToken string, in, out any, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	if raw, ok := in.(rawJSON); ok {
		body = bytes.NewReader(raw)
	} else if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.URL, "/")+workerproto.Prefix+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	c.headers(req, jobToken)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.httpc().Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, workerproto.MaxBodyBytes))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return answerError(resp.StatusCode, b)
	}
	if out != nil {
		if len(bytes.TrimSpace(b)) == 0 {
			return fmt.Errorf("%s %s: %w", method, path, ErrNoAnswer)
		}
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
		}
	}
	return nil
}

func (c *Client) headers(req *http.Request, jobToken string) {
	req.Header.Set("Authorization", "Token "+c.Token)
	req.Header.Set(workerproto.HeaderVersion, c.Version)
	if c.Name != "" {
		req.Header.Set(workerproto.HeaderName, c.Name)
	}
	req.Header.Set("User-Agent", "lava-worker/"+c.Version)
	if jobToken != "" {
		req.Header.Set(workerproto.HeaderJobToken, jobToken)
	}
}

func answerError(status int, b []byte) error {
	var eb workerproto.ErrorBody
	if err := json.Unmarshal(b, &eb); err != nil || eb.Error.Code == "" {
		msg := strings.TrimSpace(string(b))
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		return &Error{Status: status, ErrorInfo: workerproto.ErrorInfo{Code: "http_" + strconv.Itoa(status), Message: msg}}
	}
	return &Error{Status: status, ErrorInfo: eb.Error}
}

// ErrNoAnswer is a 2xx answer without a body: a server of an older version
// that stopped while it held the request.
var ErrNoAnswer = errors.New("the server ended the request without an answer (stopping?)")

// Unavailable reports whether err says that the server is stopping,
// restarting or not reachable (an answer cut short, a refused or reset
// connection, a 502, 503 or 504): a worker reconnects as usual.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code == workerproto.CodeStopping || e.Status == http.StatusBadGateway ||
			e.Status == http.StatusServiceUnavailable || e.Status == http.StatusGatewayTimeout
	}
	return errors.Is(err, ErrNoAnswer) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// Poll long-polls for work. wait is how long the server may hold it.
func (c *Client) Poll(ctx context.Context, req workerproto.PollRequest, wait time.Duration) (workerproto.PollAnswer, error) {
	req.WaitMS = wait.Milliseconds()
	var ans workerproto.PollAnswer
	err := c.do(ctx, http.MethodPost, "/poll", "", req, &ans, wait+30*time.Second)
	return ans, err
}

// Start tells the server the worker starts the job (idempotent).
func (c *Client) Start(ctx context.Context, id int64, token string) error {
	return c.do(ctx, http.MethodPost, fmt.Sprintf("/jobs/%d/start", id), token, struct{}{}, nil, c.timeout())
}

// SendLogs sends records numbered from first; it returns the next index
// the server expects.
func (c *Client) SendLogs(ctx context.Context, id int64, token string, first int64, recs []workerproto.Record) (int64, error) {
	var ack workerproto.LogAck
	err := c.do(ctx, http.MethodPost, fmt.Sprintf("/jobs/%d/logs", id), token, rawJSON(appendLogBatch(nil, first, recs)), &ack, c.timeout())
	return ack.Next, err
}

// End reports the job's end; it returns the health the server recorded.
func (c *Client) End(ctx context.Context, id int64, token string, rep workerproto.EndReport) (string, error) {
	var ack workerproto.EndAck
	err := c.do(ctx, http.MethodPost, fmt.Sprintf("/jobs/%d/end", id), token, rep, &ack, c.timeout())
	return ack.Health, err
}

// download GETs a binary payload and checks it against the SHA-256 the
// server announced (header) and, if want is not empty, against want.
func (c *Client) download(ctx context.Context, path, want string, limit int64) ([]byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.URL, "/")+workerproto.Prefix+path, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", path, err)
	}
	c.headers(req, "")
	resp, err := c.httpc().Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, answerError(resp.StatusCode, b)
	}
	sum := sha256.Sum256(b)
	got := hex.EncodeToString(sum[:])
	if h := resp.Header.Get(workerproto.HeaderSHA256); h != "" && h != got {
		return nil, nil, fmt.Errorf("GET %s: SHA-256 %s, the server announced %s (truncated or altered download)", path, got, h)
	}
	if want != "" && want != got {
		return nil, nil, fmt.Errorf("GET %s: SHA-256 %s, want %s", path, got, want)
	}
	return b, resp.Header, nil
}

// DriverModule fetches the driver module with SHA-256 sha.
func (c *Client) DriverModule(ctx context.Context, sha string) ([]byte, error) {
	b, _, err := c.download(ctx, "/drivers/"+sha, sha, 256<<20)
	return b, err
}

// Binary fetches the server's worker build for goos/goarch, checked
// against wantSHA (from the safe-to-stop answer) when not empty. It
// returns the build and its version.
func (c *Client) Binary(ctx context.Context, goos, goarch, wantSHA string) ([]byte, string, error) {
	b, h, err := c.download(ctx, "/binaries/"+goos+"/"+goarch, wantSHA, 1<<30)
	if err != nil {
		return nil, "", err
	}
	return b, h.Get(workerproto.HeaderBuildVersion), nil
}
