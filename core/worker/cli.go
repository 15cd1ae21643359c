package worker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lavalab/lavalab/core/bytesize"
	"github.com/lavalab/lavalab/core/hosttools"
	"github.com/lavalab/lavalab/core/version"
	"github.com/lavalab/lavalab/core/workerproto"
)

// RunnerEnv is what a Runner factory gets from the command line.
type RunnerEnv struct {
	WorkDir    string
	DriversDir string
	// NativeFile is the worker admin's YAML list of native drivers pinned
	// by SHA-256 ("" = none; --native-drivers).
	NativeFile string
	Client     *Client
	Logger     *slog.Logger
	// Serve says how the runner serves artifacts to the boards.
	Serve ServeEnv
	// Tools is the admin's allow list of host tools (--allow-tool,
	// --tools-file): what drivers' tool steps may run here. Never nil.
	Tools *hosttools.Policy
	// OnPlan, if set, is told about every driver plan call (the worker's
	// /metrics).
	OnPlan func(driver string, took time.Duration, err error)
}

// ServeEnv is how a worker serves job artifacts to its boards (the
// dispatcher's TFTP and HTTP servers and NFS export); empty fields take the
// dispatcher's defaults.
type ServeEnv struct {
	// TFTPAddr and HTTPAddr are listen addresses ("" = a free port; real
	// U-Boot boards fetch from TFTP port 69: ":69").
	TFTPAddr, HTTPAddr string
	// ServerIP is the address boards reach this worker at ({SERVER_IP}).
	ServerIP string
	// NFSExport is a directory this host's NFS server exports to boards;
	// NFSServerIP is {NFS_SERVER_IP} ("" = ServerIP).
	NFSExport, NFSServerIP string
	// CacheDir is the artifact cache ("" = WORK-DIR's).
	CacheDir string
	// CacheMax caps the artifact cache in bytes (--cache-max; 0 = no cap).
	CacheMax int64
	// DriverCacheMax caps the driver compilation cache in bytes
	// (--driver-cache-max; 0 = no cap).
	DriverCacheMax int64
	// FileURLDirs are the folders jobs' file:// URLs may read from
	// (--allow-file-dir, repeatable); none = file:// URLs are refused.
	FileURLDirs []string
}

// dirList is a repeatable flag of absolute folder paths.
type dirList []string

func (l *dirList) String() string { return strings.Join(*l, ",") }

func (l *dirList) Set(v string) error {
	if !filepath.IsAbs(v) {
		return fmt.Errorf("%q: want an absolute folder path", v)
	}
	*l = append(*l, filepath.Clean(v))
	return nil
}

// Default caps of the worker's caches (--cache-max, --driver-cache-max).
const (
	DefaultCacheMax       = 20 << 30
	DefaultDriverCacheMax = 1 << 30
)

// NewRunner makes the worker's job runner; close releases it.
type NewRunner func(ctx context.Context, env RunnerEnv) (r Runner, close func(), err error)

// Main is lava-worker's command line; it returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, newRunner NewRunner) int {
	fs := flag.NewFlagSet("lava-worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "server URL, e.g. https://lava.example.com (required)")
	name := fs.String("name", "", "this worker's name, as made with lava-server worker add (default: the host name)")
	workDir := fs.String("work-dir", "lava-worker-data", "working directory: job spools, caches, the token file")
	tokenFile := fs.String("token-file", "", "file holding the worker token (default WORK-DIR/token)")
	caCert := fs.String("ca-cert", "", "PEM file of CA certificates to trust for the server (HTTPS)")
	driversDir := fs.String("drivers-dir", "", "directory of local driver modules (.wasm), preferred when their SHA-256 matches")
	nativeFile := fs.String("native-drivers", "", "YAML file listing the native drivers installed on this worker: [{path: /abs/binary, sha256: <hex>}, ...]; read again when a job needs a driver it does not list")
	exitOnMismatch := fs.Bool("exit-on-version-mismatch", false, "exit 0 when the server runs another version and this worker runs no job")
	autoUpgrade := fs.Bool("auto-upgrade", false, "on a version mismatch, install the server's worker build and restart")
	pollWait := fs.Duration("poll-wait", workerproto.DefaultPollWait, "how long the server may hold a poll")
	logInterval := fs.Duration("log-interval", 200*time.Millisecond, "how long log records gather before a batch is sent")
	retryMax := fs.Duration("retry-max", 5*time.Second, "longest pause between retries while the server is unreachable")
	mismatchRetry := fs.Duration("mismatch-retry", time.Minute, "how often to ask again on a version mismatch")
	shutdownGrace := fs.Duration("shutdown-grace", DefaultShutdownGrace, "on SIGTERM, how long running jobs get to stop and report before the worker exits anyway (they resume at the next start)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	showVersion := fs.Bool("version", false, "print the version and exit")
	metricsListen := fs.String("metrics-listen", "", "address to serve the worker's Prometheus /metrics on, e.g. :9102 (default: none)")
	var serve ServeEnv
	fs.StringVar(&serve.TFTPAddr, "tftp-addr", "", "TFTP listen address for the boards (default: a free port; U-Boot boards fetch from port 69: \":69\")")
	fs.StringVar(&serve.HTTPAddr, "http-addr", "", "HTTP listen address for the boards' artifact downloads (default: a free port)")
	fs.StringVar(&serve.ServerIP, "server-ip", "", "address the boards reach this worker at, {SERVER_IP} (default: the outbound address)")
	fs.StringVar(&serve.NFSExport, "nfs-export", "", "directory this host's NFS server exports to the boards (default: none, NFS jobs are refused)")
	fs.StringVar(&serve.NFSServerIP, "nfs-server-ip", "", "{NFS_SERVER_IP} for the boards (default: --server-ip)")
	fs.Var((*dirList)(&serve.FileURLDirs), "allow-file-dir", "folder jobs may read file:// artifact URLs from (repeatable; default: none, file:// URLs are refused)")
	fs.StringVar(&serve.CacheDir, "cache-dir", "", "artifact download cache shared by jobs (default: WORK-DIR/dispatch/cache)")
	cacheMax := bytesize.Size(DefaultCacheMax)
	fs.Var(&cacheMax, "cache-max", "size cap of the artifact cache, e.g. 20GiB (0: none); least recently used downloads are evicted, never a running job's")
	driverCacheMax := bytesize.Size(DefaultDriverCacheMax)
	fs.Var(&driverCacheMax, "driver-cache-max", "size cap of the driver compilation cache WORK-DIR/wasm-cache, e.g. 1GiB (0: none); pruned at start and daily, the drivers loaded kept")
	var allowTools []string
	fs.Func("allow-tool", "allow drivers' tool steps to run host tool NAME (repeatable): NAME for every device, NAME@TARGET[,TARGET...] for those device types or devices; e.g. sh@local, qemu-system-aarch64@qemu. Nothing is allowed by default", func(v string) error {
		allowTools = append(allowTools, v)
		return nil
	})
	toolsFile := fs.String("tools-file", "", "YAML allow list of host tools: {tools: [{name, path, device_types, devices}, ...]} (added to --allow-tool)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	serve.CacheMax, serve.DriverCacheMax = int64(cacheMax), int64(driverCacheMax)
	if *showVersion {
		fmt.Fprintln(stdout, version.Version)
		return 0
	}
	tools, err := hosttools.Load(allowTools, *toolsFile)
	if err != nil {
		fmt.Fprintf(stderr, "lava-worker: %v\n", err)
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "lava-worker: --log-level %q: want debug, info, warn or error\n", *logLevel)
		return 2
	}
	var log *slog.Logger
	switch *logFormat {
	case "text":
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	case "json":
		log = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	default:
		fmt.Fprintf(stderr, "lava-worker: --log-format %q: want text or json\n", *logFormat)
		return 2
	}
	if *url == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "lava-worker: --url is required (and no positional argument is taken)")
		fs.Usage()
		return 2
	}
	if *name == "" {
		h, err := os.Hostname()
		if err != nil {
			fmt.Fprintf(stderr, "lava-worker: --name not given and no host name: %v\n", err)
			return 2
		}
		*name = h
	}
	if *tokenFile == "" {
		*tokenFile = filepath.Join(*workDir, "token")
	}
	tok, err := os.ReadFile(*tokenFile)
	if err != nil {
		fmt.Fprintf(stderr, "lava-worker: reading the worker token: %v (make one with: lava-server worker add %s > %s)\n", err, *name, *tokenFile)
		return 1
	}
	token := strings.TrimSpace(string(tok))
	if token == "" {
		fmt.Fprintf(stderr, "lava-worker: the token file %s is empty\n", *tokenFile)
		return 1
	}
	tr := http.DefaultTransport.(*http.Transport).Clone() // proxies from HTTPS_PROXY / HTTP_PROXY / NO_PROXY
	// Every running job sends its log in its own requests: keep a
	// connection per job (and the poll's) rather than dial one per batch.
	// With Go's default (100 idle in all) a worker of 1,000 jobs dialed a
	// new connection for most batches (bench/logingest: 7 % of the
	// worker's CPU in dialing, and the server's in accepting).
	tr.MaxIdleConns = maxIdleConns
	tr.MaxIdleConnsPerHost = maxIdleConns
	if *caCert != "" {
		pem, err := os.ReadFile(*caCert)
		if err != nil {
			fmt.Fprintf(stderr, "lava-worker: --ca-cert: %v\n", err)
			return 1
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fmt.Fprintf(stderr, "lava-worker: --ca-cert %s holds no PEM certificate\n", *caCert)
			return 1
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	client := &Client{URL: *url, Token: token, Version: version.Version, Name: *name, HTTP: &http.Client{Transport: tr}}
	var wm *WorkerMetrics
	env := RunnerEnv{WorkDir: *workDir, DriversDir: *driversDir, NativeFile: *nativeFile, Client: client, Logger: log, Serve: serve, Tools: tools}
	if *metricsListen != "" {
		wm = NewWorkerMetrics()
		env.OnPlan = wm.ObservePlan
	}
	runner, closeRunner, err := newRunner(ctx, env)
	if err != nil {
		fmt.Fprintf(stderr, "lava-worker: %v\n", err)
		return 1
	}
	defer closeBounded(closeRunner, log)
	w, err := NewWorker(WorkerOptions{Client: client, WorkDir: *workDir, Runner: runner, Logger: log,
		PollWait: *pollWait, LogInterval: *logInterval, RetryMax: *retryMax, MismatchRetry: *mismatchRetry,
		ExitOnVersionMismatch: *exitOnMismatch, AutoUpgrade: *autoUpgrade, ShutdownGrace: *shutdownGrace})
	if err != nil {
		fmt.Fprintf(stderr, "lava-worker: %v\n", err)
		return 1
	}
	if wm != nil {
		wm.Attach(w)
		mctx, stopMetrics := context.WithCancel(ctx)
		defer stopMetrics()
		addr, err := wm.Serve(mctx, *metricsListen, log)
		if err != nil {
			fmt.Fprintf(stderr, "lava-worker: %v\n", err)
			return 1
		}
		log.Info("serving /metrics", "addr", addr.String())
	}
	log.Info("lava-worker starting", "name", *name, "url", *url, "version", version.Version, "work_dir", *workDir)
	err = w.Run(ctx)
	switch {
	case errors.Is(err, ErrSafeToStop):
		log.Info("[EXIT] the server runs another version and no job runs here: exiting (--exit-on-version-mismatch)")
		return 0
	case err != nil:
		log.Error("lava-worker failed", "err", err)
		return 1
	}
	log.Info("lava-worker stopped")
	return 0
}

// closeBounded releases the runner, waiting at most StopBound: a job the
// worker stopped waiting for may still hold it.
func closeBounded(closeRunner func(), log *slog.Logger) {
	done := make(chan struct{})
	go func() { closeRunner(); close(done) }()
	select {
	case <-done:
	case <-time.After(StopBound):
		log.Warn("the job runner did not close in time: exiting without it")
	}
}

// maxIdleConns bounds the connections to the server a worker keeps open
// between requests: more than the jobs a worker runs at once.
const maxIdleConns = 4096
