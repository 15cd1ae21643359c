package dispatch

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/lavalab/lavalab/core/artifacts"
	"github.com/lavalab/lavalab/core/tftp"
	"github.com/lavalab/lavalab/sdk"
)

// Dispatcher runs jobs. It owns the shared TFTP and HTTP servers that serve
// every job's artifacts under {job id}/..., and the artifact cache. It is
// safe for concurrent use: several jobs (on several boards) may run at once.
type Dispatcher struct {
	o        Options
	jobsDir  string
	dl       *artifacts.Downloader
	tftpConn net.PacketConn
	httpLn   net.Listener
	httpSrv  *http.Server
	art      *artifactServer
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	closeMu  sync.Once
	closeErr error
}

// CacheStats returns the artifact cache's size, hits and misses.
func (d *Dispatcher) CacheStats() artifacts.CacheStats { return d.dl.Stats() }

// New starts the shared TFTP and HTTP artifact servers. They stop with Close
// (not with ctx, which bounds the start only).
func New(ctx context.Context, o Options) (*Dispatcher, error) {
	if o.WorkDir == "" {
		return nil, errors.New("dispatch: Options.WorkDir is required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.CacheDir == "" {
		o.CacheDir = filepath.Join(o.WorkDir, "cache")
	}
	if o.TFTPHost == "" {
		o.TFTPHost = outboundIP()
	}
	if o.NFSExport != "" {
		if fi, err := os.Stat(o.NFSExport); err != nil || !fi.IsDir() || !filepath.IsAbs(o.NFSExport) {
			return nil, fmt.Errorf("dispatch: NFS export %q: want an existing directory, by its absolute path, that the NFS server exports", o.NFSExport)
		}
	}
	d := &Dispatcher{o: o, jobsDir: filepath.Join(o.WorkDir, "jobs")}
	if err := os.MkdirAll(d.jobsDir, 0o755); err != nil {
		return nil, fmt.Errorf("dispatch: work dir: %w", err)
	}
	d.dl = &artifacts.Downloader{CacheDir: o.CacheDir, Logger: o.Logger, FileDirs: o.FileURLDirs, CacheMax: o.CacheMax}
	if o.CacheMax > 0 {
		// Within the cap from the start (a cap lowered since, or no cap
		// before).
		if _, err := d.dl.Prune(); err != nil {
			o.Logger.Warn("dispatch: pruning the artifact cache", "err", err)
		}
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never fails (Go 1.24+)
	d.art = &artifactServer{jobsDir: d.jobsDir, key: key}

	var lc net.ListenConfig
	tftpAddr := o.TFTPAddr
	if tftpAddr == "" {
		tftpAddr = ":0"
	}
	pc, err := lc.ListenPacket(ctx, "udp", tftpAddr)
	if err != nil {
		return nil, fmt.Errorf("dispatch: tftp listen %s: %w", tftpAddr, err)
	}
	httpAddr := o.HTTPAddr
	if httpAddr == "" {
		httpAddr = ":0"
	}
	ln, err := lc.Listen(ctx, "tcp", httpAddr)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("dispatch: http listen %s: %w", httpAddr, err)
	}
	d.tftpConn, d.httpLn = pc, ln
	sctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	// TFTP names are "{job id}/{role}/{file}" (U-Boot's paths carry no
	// secret): each request is confined to one job's folder, which exists
	// while the job runs.
	srv := &tftp.Server{Root: d.jobsDir, JobFolders: true, Logger: o.Logger}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := srv.Serve(sctx, pc); err != nil && sctx.Err() == nil {
			o.Logger.Error("tftp server stopped", "err", err)
		}
	}()
	d.httpSrv = &http.Server{
		Handler:           d.art,
		ReadHeaderTimeout: 10 * time.Second,
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := d.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			o.Logger.Error("http artifact server stopped", "err", err)
		}
	}()
	o.Logger.Debug("dispatcher ready", "tftp", pc.LocalAddr().String(), "http", ln.Addr().String(), "host", o.TFTPHost)
	return d, nil
}

// Close stops the servers, waiting for them. Jobs still running should be
// cancelled first.
func (d *Dispatcher) Close() error {
	d.closeMu.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.closeErr = d.httpSrv.Shutdown(ctx)
		d.cancel()
		d.wg.Wait()
		d.tftpConn.Close()
	})
	return d.closeErr
}

// TFTPAddr is the address the TFTP server listens on.
func (d *Dispatcher) TFTPAddr() net.Addr { return d.tftpConn.LocalAddr() }

// HTTPAddr is the address the HTTP artifact server listens on.
func (d *Dispatcher) HTTPAddr() net.Addr { return d.httpLn.Addr() }

// workerFacts are the worker's facts for a job's plan requests, before any
// artifact is deployed.
func (d *Dispatcher) workerFacts(jobID int64) sdk.WorkerFacts {
	nfs := d.o.NFSServerIP
	if nfs == "" {
		nfs = d.o.TFTPHost
	}
	return sdk.WorkerFacts{ServerIP: d.o.TFTPHost, NFSServerIP: nfs, HTTPBaseURL: d.httpBase(jobID), Artifacts: map[string]sdk.Artifact{}}
}

// httpBase is the URL boards fetch the job's artifacts from: it carries
// the job's secret (see artifactServer).
func (d *Dispatcher) httpBase(jobID int64) string {
	_, port, _ := net.SplitHostPort(d.httpLn.Addr().String())
	id := strconv.FormatInt(jobID, 10)
	return "http://" + net.JoinHostPort(d.o.TFTPHost, port) + "/" + id + "/" + d.art.secret(id) + "/"
}

// outboundIP is the address of the interface that routes outwards (no packet
// is sent), or 127.0.0.1.
func outboundIP() string {
	c, err := net.Dial("udp", "192.0.2.1:9")
	if err != nil {
		return "127.0.0.1"
	}
	defer c.Close()
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP != nil && !a.IP.IsUnspecified() {
		return a.IP.String()
	}
	return "127.0.0.1"
}
